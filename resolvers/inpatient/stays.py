"""The patient's current (or latest) stay at a hospital (10.1.1) and what hangs off it: deposits (39.1.1),
the one-day fee list (12.1.2), the fee summary (18.1.4) and caregiver passes (37.1.1)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry

from his_clients.codes import ReturnCode
from his_clients.models.inpatient import (
    GET_DEPOSIT_RECORD,
    DepositRecord,
    GetDepositRecordRequest,
    InpatientInfo,
)
from his_clients.models.inpatient_costs import DAILY_COST, DailyCostRequest
from his_clients.models.inpatient_records import GET_CAREGIVERS_INFO, Caregiver, GetCaregiversInfoRequest

from ..arguments import Day, spec_day
from ..context import Info
from ..fanout import known_hospital_ids
from ..hospitals.entry import HospitalEntry
from ..records.common import coded, detail, instant, money, or_none, request, sex
from ..reports.common import card_holder
from ..results import InputRefused
from ..scalars import Money
from ..values import Sex
from .fees import InpatientFeeSheet, InpatientFeeSummary, SummaryDay, fee_summary


@strawberry.enum(description="Who issued a caregiver pass (infoSource).")
class CaregiverPassSource(Enum):
    NURSE_STATION = strawberry.enum_value("1", description="护士站: the nurse station.")
    HOSPITAL_STAFF_APP = strawberry.enum_value("2", description="医信端: the hospital staff's app.")
    PATIENT_APP = strawberry.enum_value("3", description="患者端: the patient's app.")


HolderName = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "The patient's name (就诊人姓名), as the hospital knows it; optional: left out, the card holder's name "
            "is used (the platform's record of the card, else the hospital's 2.1.1)."
        )
    ),
]


async def holder_name(info: Info, medical_card_number: str, raw_hospital_ids: str) -> str:
    """The card holder's name, for the calls whose request requires it (10.1.1, 39.1.1)."""
    holder = await card_holder(info, medical_card_number, known_hospital_ids(info, raw_hospital_ids))
    return holder.name


@strawberry.type(description="One deposit paid or refunded for a stay (39.1.1 getDepositRecord, 住院押金记录).")
class Deposit(HospitalEntry):
    out_trade_no: str = strawberry.field(description="The order number (outTradeNo).")
    hospital_name: str = strawberry.field(description="The hospital's name as the HIS writes it.")
    amount: Money = strawberry.field(description="The amount: positive when paid, negative when refunded.")
    refund: bool = strawberry.field(description="True when this is a refund (a negative amount).")
    pay_type_name: str = strawberry.field(
        description="How it was paid, in words (payTypeName): 百灵微信 when through the platform, else e.g. 现金."
    )
    paid_at: dt.datetime | None = strawberry.field(description="When (createTime).")
    receipt_number: str = strawberry.field(description="The deposit receipt's number (prepayCode, 预交金单据编号).")
    admission_number: str = strawberry.field(description="The stay it was paid for (住院号).")

    @classmethod
    def from_reply(cls, hospital_id: str, d: DepositRecord) -> Deposit:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            out_trade_no=d.out_trade_no,
            hospital_name=d.hospital_name,
            amount=Money(d.amount),
            refund=d.amount < 0,
            pay_type_name=d.pay_type_name,
            paid_at=instant(d.create_time),
            receipt_number=d.prepay_code,
            admission_number=d.admission_number,
        )


@strawberry.type(
    description="Every deposit the patient paid or got back at one hospital, all stays not only this one (39.1.1)."
)
class DepositsAtHospital(HospitalEntry):
    deposits: list[Deposit] = strawberry.field(description="The deposits; empty when there are none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[DepositRecord]) -> DepositsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), deposits=[Deposit.from_reply(hospital_id, d) for d in reply])

    @classmethod
    def empty(cls, hospital_id: str) -> DepositsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), deposits=[])


def deposit_request(medical_card_number: str, patient_name: str, id_card: str | None) -> GetDepositRecordRequest:
    # No admissionNumber: the spec's conditions are OR-ed and the list spans every stay anyway, and leaving
    # it out makes the stay's edge and Patient.depositRecords the same call, made once per request.
    return GetDepositRecordRequest(medical_card_number=medical_card_number, patient_name=patient_name, id_card=id_card)


@strawberry.type(description="An electronic caregiver pass (电子陪护证) for a stay (37.1.1 getCaregiversInfo).")
class CaregiverPass:
    pass_id: str = strawberry.field(description="The pass's id at the hospital (caregiversId), to change or delete it.")
    name: str = strawberry.field(description="The caregiver's name.")
    sex: Sex | None = strawberry.field(description="The caregiver's sex; null when not given.")
    phone: str | None = strawberry.field(description="The caregiver's phone.")
    address: str | None = strawberry.field(description="The caregiver's address.")
    id_card_number: str | None = strawberry.field(description="The caregiver's ID-card number.")
    relationship: str | None = strawberry.field(description="The caregiver's relation to the patient (relationShip).")
    patient_medical_card_number: str | None = strawberry.field(
        description="The patient's card (the spec stresses: the patient's, not the caregiver's)."
    )
    patient_age: str | None = strawberry.field(description="The patient's age (age).")
    source: CaregiverPassSource | None = strawberry.field(
        description="Who issued it (infoSource); null for a code the spec does not know."
    )
    valid_until: dt.datetime | None = strawberry.field(description="Valid until (termOfValidity).")
    revoked: bool = strawberry.field(description="True when the HIS has revoked it (flagInvalid 1, 已作废).")
    created_at: dt.datetime | None = strawberry.field(description="When it was issued.")

    @classmethod
    def from_reply(cls, c: Caregiver) -> CaregiverPass:
        return cls(
            pass_id=c.caregivers_id,
            name=c.name,
            sex=sex(c.sex),
            phone=or_none(c.phone),
            address=or_none(c.address),
            id_card_number=or_none(c.id_card),
            relationship=or_none(c.relation_ship),
            patient_medical_card_number=or_none(c.medical_card_number),
            patient_age=or_none(c.age),
            source=coded(CaregiverPassSource, c.info_source),
            valid_until=instant(c.term_of_validity),
            revoked=c.flag_invalid == "1",
            created_at=instant(c.create_time),
        )


@strawberry.type(
    description="The patient's current or latest stay at a hospital (10.1.1 queryInpatientInfo, 住院信息)."
)
class InpatientStay(HospitalEntry):
    medical_card_number: str = strawberry.field(description="The patient's card.")
    admission_number: str = strawberry.field(description="The admission number (住院号).")
    stay_id: str | None = strawberry.field(
        description="The stay's unique id at the hospital (inpatientRecordId), the key to its fee summary."
    )
    in_hospital: bool = strawberry.field(description="True while in hospital (status in), false once discharged.")
    registered_name: str = strawberry.field(description="The name the stay was registered under (inPatName).")
    department: str = strawberry.field(description="The department or ward (deptName).")
    bed_number: str = strawberry.field(description="The bed (床号).")
    sex: Sex | None = strawberry.field(description="Sex; null when the hospital does not say.")
    admitted_at: dt.datetime | None = strawberry.field(description="When admitted (patInTime).")
    id_card_number: str | None = strawberry.field(description="The patient's ID-card number, when the HIS gives it.")
    phone: str | None = strawberry.field(description="The patient's phone, when the HIS gives it.")
    total_cost: Money = strawberry.field(description="What the stay has cost so far (totalCost).")
    total_prepaid: Money = strawberry.field(description="Deposits paid in total (totalPrepay).")
    prepaid_left: Money = strawberry.field(description="Deposit left after costs (prepayLeft); negative when owing.")
    advanced_amount: Money | None = strawberry.field(
        description="Advanced by the hospital or medical insurance (medicalInsurance, 垫付); null when none."
    )
    minimum_payment: Money = strawberry.field(description="The least deposit one payment may be (minimumPayment).")
    maximum_payment: Money = strawberry.field(description="The most deposit one payment may be (maximumPayment).")
    deposit_allowed: bool = strawberry.field(
        description="Whether a deposit may be paid now: in hospital and minimumPayment above 0 (the spec: 0 forbids)."
    )
    patient_name: strawberry.Private[str]
    asked_id_card: strawberry.Private[str | None]

    @strawberry.field(
        description="Every deposit paid or refunded at this hospital, all stays not only this one (39.1.1)."
    )
    async def deposits(self, info: Info) -> list[Deposit]:
        req = deposit_request(self.medical_card_number, self.patient_name, self.asked_id_card)
        reply = await detail(info, GET_DEPOSIT_RECORD, self.hospital_id, req)
        return [Deposit.from_reply(self.hospital_id, d) for d in reply or []]

    @strawberry.field(description="The one-day fee list (住院一日清单) of one day of this stay (12.1.2 dailycost).")
    async def daily_fees(self, info: Info, date: Day) -> InpatientFeeSheet | None:
        id_card = self.id_card_number or self.asked_id_card
        if not id_card:
            raise InputRefused(
                "idCardNumber", ReturnCode.MISSING_PARAMETER, "查询一日清单需要身份证号: idCardNumber on inpatientStays"
            )
        req = request(
            DailyCostRequest,
            medical_card_number=self.medical_card_number,
            id_card=id_card,
            admission_number=self.admission_number,
            date=spec_day(date),
        )
        reply = await detail(info, DAILY_COST, self.hospital_id, req)
        return None if reply is None else InpatientFeeSheet.from_reply(reply)

    @strawberry.field(
        description=(
            "The stay's fees grouped by day, item and category (18.1.4), keyed by stayId; null when the hospital "
            "gives no stayId."
        )
    )
    async def fee_summary(self, info: Info, date: SummaryDay = None) -> InpatientFeeSummary | None:
        if not self.stay_id:
            return None
        return await fee_summary(info, self.hospital_id, self.stay_id, date)

    @strawberry.field(description="A caregiver's pass for this stay (37.1.1); null when the caregiver has none.")
    async def caregiver_pass(
        self,
        info: Info,
        caregiver_id_card_number: Annotated[str, strawberry.argument(description="The caregiver's ID-card number.")],
        caregiver_medical_card_number: Annotated[
            str | None, strawberry.argument(description="The caregiver's own medical card, if they have one.")
        ] = None,
    ) -> CaregiverPass | None:
        req = GetCaregiversInfoRequest(
            id_card=caregiver_id_card_number,
            admission_number=self.admission_number,
            medical_card_number=caregiver_medical_card_number,
        )
        reply = await detail(info, GET_CAREGIVERS_INFO, self.hospital_id, req)
        return None if reply is None else CaregiverPass.from_reply(reply)

    @classmethod
    def from_reply(cls, hospital_id: str, r: InpatientInfo, *, patient_name: str, id_card: str | None) -> InpatientStay:
        in_hospital = r.status.lower() == "in"
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            medical_card_number=r.medical_card_number,
            admission_number=r.admission_number,
            stay_id=or_none(r.inpatient_record_id),
            in_hospital=in_hospital,
            registered_name=r.in_pat_name,
            department=r.dept_name,
            bed_number=r.bed_number,
            sex=sex(r.sex),
            admitted_at=instant(r.pat_in_time),
            id_card_number=or_none(r.id_card),
            phone=or_none(r.phone),
            total_cost=Money(r.total_cost),
            total_prepaid=Money(r.total_prepay),
            prepaid_left=Money(r.prepay_left),
            advanced_amount=money(r.medical_insurance),
            minimum_payment=Money(r.minimum_payment),
            maximum_payment=Money(r.maximum_payment),
            deposit_allowed=in_hospital and r.minimum_payment > 0,
            patient_name=patient_name,
            asked_id_card=id_card,
        )


@strawberry.type(description="The patient's stay at one hospital (10.1.1); stay is null when there is none.")
class InpatientStayAtHospital(HospitalEntry):
    stay: InpatientStay | None = strawberry.field(description="The current or latest stay.")
