"""The patient's outpatient side: today's guide sheet (4.1.1), fees paid (18.1.1), insurance orders left
unfinished (5.1.5) and doctors seen at the internet hospital (25.1.2)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from his_clients.models.insurance import UnfinishedInsuranceOrder as UnfinishedOrderReply
from his_clients.models.internet_hospital import VisitedDoctor as VisitedDoctorReply
from his_clients.models.outpatient import GuideSheetItem as GuideSheetItemReply
from his_clients.models.outpatient import GuideSheetRoom as GuideSheetRoomReply
from his_clients.models.outpatient import OutpatientCostRecord

from ..hospitals.entry import HospitalEntry
from ..scalars import Money
from .common import coded, instant, money, or_none


@strawberry.enum(description="Where a guide-sheet item stands (state); the spec's code says it per kind of room.")
class GuideItemState(Enum):
    ORDERED = strawberry.enum_value("ORDERED", description="已开药 / 已申请 / 已开单: prescribed or ordered.")
    PAID = strawberry.enum_value("PAID", description="已缴费: paid.")
    REGISTERED = strawberry.enum_value("REGISTERED", description="已登记: registered at the lab or exam room.")
    COLLECTED = strawberry.enum_value("COLLECTED", description="已采集: the sample is taken.")
    EXAMINED = strawberry.enum_value("EXAMINED", description="已检查: examined.")
    DISPENSED = strawberry.enum_value("DISPENSED", description="已领药: the drugs are collected.")
    DONE = strawberry.enum_value("DONE", description="已完成 / 已执行: done.")
    REPORTED = strawberry.enum_value("REPORTED", description="已出报告: the report is out.")
    REFUNDED = strawberry.enum_value("REFUNDED", description="已退费: refunded.")


# The spec's state codes per room type (4.1.1): drug rooms 1xxx, lab 2xxx, exam 3xxx, other 4xxx, ECG 5xxx,
# pathology 6xxx, so the code alone says what it means.
GUIDE_STATES: dict[str, tuple[GuideItemState, str]] = {
    "1001": (GuideItemState.ORDERED, "已开药"),
    "1002": (GuideItemState.PAID, "已缴费"),
    "1003": (GuideItemState.DISPENSED, "已领药"),
    "1004": (GuideItemState.DONE, "已完成"),
    "2001": (GuideItemState.ORDERED, "已申请"),
    "2002": (GuideItemState.PAID, "已缴费"),
    "2003": (GuideItemState.REGISTERED, "已登记"),
    "2004": (GuideItemState.COLLECTED, "已采集"),
    "2005": (GuideItemState.REPORTED, "已出报告"),
    "2006": (GuideItemState.REFUNDED, "已退费"),
    "3001": (GuideItemState.ORDERED, "已申请"),
    "3002": (GuideItemState.PAID, "已缴费"),
    "3003": (GuideItemState.REGISTERED, "已登记"),
    "3004": (GuideItemState.EXAMINED, "已检查"),
    "3005": (GuideItemState.REPORTED, "已出报告"),
    "3006": (GuideItemState.REFUNDED, "已退费"),
    "4001": (GuideItemState.ORDERED, "已开单"),
    "4002": (GuideItemState.PAID, "已缴费"),
    "4003": (GuideItemState.DONE, "已执行"),
    "5001": (GuideItemState.ORDERED, "已申请"),
    "5002": (GuideItemState.PAID, "已缴费"),
    "5003": (GuideItemState.REGISTERED, "已登记"),
    "5004": (GuideItemState.REPORTED, "已出报告"),
    "6001": (GuideItemState.ORDERED, "已申请"),
    "6002": (GuideItemState.PAID, "已缴费"),
    "6003": (GuideItemState.REGISTERED, "已登记"),
    "6004": (GuideItemState.REPORTED, "已出报告"),
}


@strawberry.enum(description="Whether a guide-sheet item needs booking (appointmentStatus).")
class GuideItemBooking(Enum):
    NOT_NEEDED = strawberry.enum_value("0", description="No booking needed.")
    WAITING = strawberry.enum_value("1", description="待预约: the patient must book it.")
    BOOKED = strawberry.enum_value("2", description="已预约: booked.")


@strawberry.enum(description="What kind of place a guide-sheet room is (roomType).")
class GuideRoomKind(Enum):
    PHARMACY = strawberry.enum_value("drug", description="药房: a pharmacy.")
    LAB_TEST = strawberry.enum_value("lis", description="检验: laboratory tests.")
    IMAGING = strawberry.enum_value("pacs", description="检查: imaging examinations.")
    ECG = strawberry.enum_value("ecg", description="心电: ECG.")
    PATHOLOGY = strawberry.enum_value("pis", description="病理: pathology.")
    MATERIAL = strawberry.enum_value("material", description="材料: materials.")
    CHINESE_MEDICINE = strawberry.enum_value("tcm", description="中药: traditional Chinese medicine.")
    WESTERN_MEDICINE = strawberry.enum_value("wm", description="西药: western medicine.")
    OTHER = strawberry.enum_value("other", description="其他: anything else (also a kind the spec does not list).")


@strawberry.type(description="One item of a guide sheet room: a drug, a test, an exam (门诊导引单项目).")
class GuideSheetItem:
    name: str = strawberry.field(description="What the item is (itemName).")
    state: GuideItemState | None = strawberry.field(
        description="Where it stands (state); null for a code the spec does not know (stateCode still says it)."
    )
    state_code: str = strawberry.field(description="The spec's state code as the hospital wrote it, e.g. 1003.")
    state_name: str | None = strawberry.field(
        description="The state in words, from the spec's table (e.g. 已领药, 已出报告); null for unknown codes."
    )
    type: str = strawberry.field(description="Item type (itemType); 0 by default.")
    remark: str | None = strawberry.field(description="Remark (备注); null when empty.")
    notice: str | None = strawberry.field(description="What the patient must mind (注意事项); null when empty.")
    count: str = strawberry.field(description="Quantity, as the hospital writes it (itemCount).")
    unit_price: Money = strawberry.field(description="Unit price (itemPrice).")
    paid_at: dt.datetime | None = strawberry.field(description="When it was paid (completeTime).")
    appointment: GuideItemBooking | None = strawberry.field(
        description="Whether it needs booking (appointmentStatus); null when the hospital does not say."
    )

    @classmethod
    def from_reply(cls, item: GuideSheetItemReply) -> GuideSheetItem:
        known = GUIDE_STATES.get(item.state.strip())
        return cls(
            name=item.item_name,
            state=known[0] if known else None,
            state_code=item.state,
            state_name=known[1] if known else None,
            type=item.item_type,
            remark=or_none(item.remark),
            notice=or_none(item.warn_notice),
            count=item.item_count,
            unit_price=Money(item.item_price),
            paid_at=instant(item.complete_time),
            appointment=coded(GuideItemBooking, item.appointment_status),
        )


@strawberry.type(description="One place the patient has to go next: a pharmacy, the lab, an exam room (4.1.1).")
class GuideSheetRoom:
    kind: GuideRoomKind = strawberry.field(description="What kind of place it is (roomType).")
    name: str = strawberry.field(description="The room's name (roomName).")
    address: str = strawberry.field(description="Where it is (roomAddress).")
    updated_at: dt.datetime | None = strawberry.field(description="When its items last changed.")
    items: list[GuideSheetItem] = strawberry.field(description="What the patient has there.")

    @classmethod
    def from_reply(cls, room: GuideSheetRoomReply) -> GuideSheetRoom:
        return cls(
            kind=coded(GuideRoomKind, (room.room_type or "").lower()) or GuideRoomKind.OTHER,
            name=room.room_name,
            address=room.room_address,
            updated_at=instant(room.lately_update_time),
            items=[GuideSheetItem.from_reply(item) for item in room.item_list],
        )


@strawberry.type(
    description="The outpatient guide sheet (门诊导引单) of one day at one hospital: where to go next (4.1.1)."
)
class GuideSheetAtHospital(HospitalEntry):
    rooms: list[GuideSheetRoom] = strawberry.field(description="The rooms; empty when nothing is ordered that day.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[GuideSheetRoomReply]) -> GuideSheetAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), rooms=[GuideSheetRoom.from_reply(r) for r in reply])

    @classmethod
    def empty(cls, hospital_id: str) -> GuideSheetAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), rooms=[])


@strawberry.type(description="One line of an outpatient bill (门诊费用明细).")
class OutpatientFeeItem:
    category: str = strawberry.field(description="Fee category (type), e.g. 西药费.")
    name: str = strawberry.field(description="What was charged (item).")
    unit_price: Money = strawberry.field(description="Unit price (price), up to four decimals.")
    quantity: str = strawberry.field(description="Quantity, as the hospital writes it.")
    amount: Money = strawberry.field(description="The line's amount.")


@strawberry.type(description="One paid outpatient bill (18.1.1 queryOutpatientCostDetail, 门诊费用).")
class OutpatientBill:
    invoice_id: str = strawberry.field(description="The bill's id at the hospital: invoice or visit key (invoiceId).")
    charged_at: dt.datetime | None = strawberry.field(description="When it was charged (time).")
    patient_name: str = strawberry.field(description="The patient's name on the bill.")
    total: Money = strawberry.field(description="The bill's total.")
    preferential_amount: Money | None = strawberry.field(description="Discount; null when not given.")
    insurance_amount: Money | None = strawberry.field(description="Paid by medical insurance (medInsuranceAmount).")
    insurance_fund_amount: Money | None = strawberry.field(
        description="Paid from the insurance pooled fund, 统筹 (insuranceFundAmount)."
    )
    insurance_balance_amount: Money | None = strawberry.field(
        description="Paid from the insurance personal account, 医保余额 (insuranceBalanceAmount)."
    )
    paid_amount: Money | None = strawberry.field(description="What the patient paid (getAmount).")
    items: list[OutpatientFeeItem] = strawberry.field(description="The bill's lines.")

    @classmethod
    def from_reply(cls, record: OutpatientCostRecord) -> OutpatientBill:
        return cls(
            invoice_id=record.invoice_id,
            charged_at=instant(record.time),
            patient_name=record.patient_name,
            total=Money(record.total),
            preferential_amount=money(record.preferential_amount),
            insurance_amount=money(record.med_insurance_amount),
            insurance_fund_amount=money(record.insurance_fund_amount),
            insurance_balance_amount=money(record.insurance_balance_amount),
            paid_amount=money(record.get_amount),
            items=[
                OutpatientFeeItem(
                    category=d.type, name=d.item, unit_price=Money(d.price), quantity=d.quantity, amount=Money(d.amount)
                )
                for d in record.details
            ],
        )


@strawberry.type(description="The patient's outpatient bills at one hospital within the window asked (18.1.1).")
class OutpatientFeesAtHospital(HospitalEntry):
    bills: list[OutpatientBill] = strawberry.field(description="The bills; empty when there are none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[OutpatientCostRecord]) -> OutpatientFeesAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), bills=[OutpatientBill.from_reply(r) for r in reply])

    @classmethod
    def empty(cls, hospital_id: str) -> OutpatientFeesAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), bills=[])


@strawberry.type(description="One insurance payment of an order (医保支付), e.g. 医保统筹 or 医保余额.")
class InsurancePayment:
    pay_type_name: str = strawberry.field(description="How it was paid, in words (payTypeName).")
    amount: Money = strawberry.field(description="The amount (payAmount).")


@strawberry.type(
    description=(
        "A medical-insurance order left unfinished (5.1.5 未完成订单): pre-settled but not settled with insurance, "
        "or settled with insurance but its self-paid part not paid. Shown when the patient comes back to pay."
    )
)
class UnfinishedInsuranceOrder:
    his_trade_id: str = strawberry.field(description="The order's number at the HIS (hisTradeId).")
    trade_amount: Money = strawberry.field(description="The order's amount (tradeAmount).")
    preferential_amount: Money = strawberry.field(description="Discount (preferentialAmount).")
    insurance_amount: Money = strawberry.field(description="Settled by medical insurance (medAmount).")
    insurance_settled: bool = strawberry.field(
        description="True when insurance has settled (tradeState 1), false when only pre-settled (tradeState 0)."
    )
    detail_ids: list[str] = strawberry.field(
        description="The pending-payment item ids it covers (detailIds); they must not change between queries."
    )
    created_at: dt.datetime | None = strawberry.field(description="When the order was created (tradeCreateTime).")
    insurance_payments: list[InsurancePayment] = strawberry.field(description="Insurance payments (medPayList).")

    @classmethod
    def from_reply(cls, reply: UnfinishedOrderReply) -> UnfinishedInsuranceOrder:
        return cls(
            his_trade_id=reply.his_trade_id,
            trade_amount=Money(reply.trade_amount),
            preferential_amount=Money(reply.preferential_amount),
            insurance_amount=Money(reply.med_amount),
            insurance_settled=reply.trade_state == "1",
            detail_ids=[i.strip() for i in reply.detail_ids.split(",") if i.strip()],
            created_at=instant(reply.trade_create_time),
            insurance_payments=[
                InsurancePayment(pay_type_name=p.pay_type_name, amount=Money(p.pay_amount)) for p in reply.med_pay_list
            ],
        )


@strawberry.type(description="The patient's unfinished insurance order at one hospital (5.1.5); null when none.")
class UnfinishedInsuranceOrderAtHospital(HospitalEntry):
    order: UnfinishedInsuranceOrder | None = strawberry.field(description="The order; null when none is unfinished.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: UnfinishedOrderReply) -> UnfinishedInsuranceOrderAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), order=UnfinishedInsuranceOrder.from_reply(reply))

    @classmethod
    def none(cls, hospital_id: str) -> UnfinishedInsuranceOrderAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), order=None)


@strawberry.type(description="A doctor the patient has seen (25.1.2 queryVisitedDoctorData, 就诊过的医生).")
class VisitedDoctor:
    name: str = strawberry.field(description="The doctor's name (doctorName).")
    doctor_code: str = strawberry.field(description="The doctor's staff number at the hospital (doctorCode).")
    department: str = strawberry.field(description="The doctor's department (dept).")
    title: str = strawberry.field(description="The doctor's professional title (post), e.g. 副主任医师.")
    last_visit_at: dt.datetime | None = strawberry.field(description="When the patient last saw them (lastClinicTime).")

    @classmethod
    def from_reply(cls, doctor: VisitedDoctorReply) -> VisitedDoctor:
        return cls(
            name=doctor.doctor_name,
            doctor_code=doctor.doctor_code,
            department=doctor.dept,
            title=doctor.post,
            last_visit_at=instant(doctor.last_clinic_time),
        )


@strawberry.type(description="The doctors the patient has seen at one hospital within the days asked (25.1.2).")
class VisitedDoctorsAtHospital(HospitalEntry):
    doctors: list[VisitedDoctor] = strawberry.field(description="The doctors, latest visit first as the HIS sends.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[VisitedDoctorReply]) -> VisitedDoctorsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), doctors=[VisitedDoctor.from_reply(d) for d in reply])

    @classmethod
    def empty(cls, hospital_id: str) -> VisitedDoctorsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), doctors=[])
