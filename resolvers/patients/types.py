"""GraphQL types of the patient graph."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from decimal import Decimal
from enum import Enum

import strawberry

from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.models.outpatient import PendingPayment as PendingPaymentReply
from his_clients.models.outpatient import PendingPaymentItem as PendingPaymentItemReply

from ..appointments.fields import PatientAppointmentFields
from ..arguments import HospitalIds
from ..context import Info
from ..fanout import per_hospital
from ..hospitals.entry import HospitalEntry
from ..inpatient.fields import PatientInpatientFields
from ..records.common import coded, instant
from ..records.fields import PatientRecordFields
from ..reports.fields import PatientReportFields
from ..scalars import Money


@strawberry.enum(description="What kind of prescription a bill's item comes from (presType).")
class PrescriptionKind(Enum):
    ORDINARY = strawberry.enum_value("0", description="普通: an ordinary prescription.")
    CHINESE_MEDICINE = strawberry.enum_value("1", description="中药: a traditional Chinese medicine prescription.")


@strawberry.type(description="One charge item of a bill waiting to be paid (待缴费明细).")
class PendingPaymentItem:
    id: strawberry.ID = strawberry.field(
        description="The item's id at the hospital, stable across calls (prescription number + line)."
    )
    name: str = strawberry.field(description="What is charged: a drug, an examination, a service (item).")
    amount: Money = strawberry.field(description="The item's amount (itemAmount).")
    unit_price: Money = strawberry.field(description="Unit price (price).")
    quantity: str = strawberry.field(description="Quantity, as the hospital writes it.")
    unit: str = strawberry.field(description="Unit of the quantity, e.g. 盒, 瓶.")
    doctor: str = strawberry.field(description="Prescribing doctor.")
    created_at: dt.datetime | None = strawberry.field(description="When it was prescribed (createTime).")
    prescription_number: str | None = strawberry.field(description="Prescription number (presCode).")
    preferential_amount: Money = strawberry.field(description="Discount on this item; 0 when none.")
    prescription_type: PrescriptionKind | None = strawberry.field(
        description="Ordinary or Chinese-medicine prescription (presType); null when the hospital does not say."
    )

    @classmethod
    def from_reply(cls, item: PendingPaymentItemReply) -> PendingPaymentItem:
        return cls(
            id=strawberry.ID(item.id),
            name=item.item,
            amount=Money(item.item_amount),
            unit_price=Money(item.price),
            quantity=item.quantity,
            unit=item.unit,
            doctor=item.doctor,
            created_at=instant(item.create_time),
            prescription_number=item.pres_code,
            preferential_amount=Money(item.preferential_amount),
            prescription_type=coded(PrescriptionKind, item.pres_type),
        )


@strawberry.type(description="Bills waiting to be paid at one hospital (待缴费信息, spec 3.1.1 queryWaitPay).")
class PendingPaymentsAtHospital(HospitalEntry):
    total_amount: Money = strawberry.field(
        description="What the patient pays: the hospital's own total, never re-added by us (amount)."
    )
    discount_amount: Money = strawberry.field(description="Total discount; discount + total = the bills' sum.")
    medical_insurance_patient: bool | None = strawberry.field(
        description="Whether the patient is a medical-insurance patient at this hospital (isMedicalPat)."
    )
    items: list[PendingPaymentItem] = strawberry.field(description="The charge items.")

    @classmethod
    def nothing_due(cls, hospital_id: str) -> PendingPaymentsAtHospital:
        """The hospital answered 10002: no bills."""
        zero = Money(Decimal("0.00"))
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            total_amount=zero,
            discount_amount=zero,
            medical_insurance_patient=None,
            items=[],
        )

    @classmethod
    def from_reply(cls, hospital_id: str, reply: PendingPaymentReply) -> PendingPaymentsAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            total_amount=Money(reply.amount),
            discount_amount=Money(reply.discount_amount or Decimal(0)),
            medical_insurance_patient=None if reply.is_medical_pat is None else reply.is_medical_pat == "1",
            items=[PendingPaymentItem.from_reply(item) for item in reply.detail],
        )


@strawberry.type(description="A patient, identified by a medical card number (就诊卡号).")
class Patient(PatientRecordFields, PatientInpatientFields, PatientReportFields, PatientAppointmentFields):
    medical_card_number: str = strawberry.field(
        description="A 15-digit platform card or a 64-character national e-health card id."
    )

    @strawberry.field(
        description=(
            "Bills waiting to be paid, one entry per hospital asked (3.1.1). hospitalId is one id or several, "
            "comma-separated; hospitals are asked at once. A hospital with nothing to pay gives an entry with no "
            "items; a hospital that fails gives a null entry and its own error with extensions "
            "{hospitalId, code, method}."
        ),
        graphql_type=list[PendingPaymentsAtHospital | None],
    )
    def pending_payments(self, info: Info, hospital_id: HospitalIds) -> list[Awaitable[PendingPaymentsAtHospital]]:
        return per_hospital(
            info,
            hospital_id,
            method=QUERY_WAIT_PAY,
            request=QueryWaitPayRequest(medical_card_number=self.medical_card_number),
            convert=PendingPaymentsAtHospital.from_reply,
            empty=PendingPaymentsAtHospital.nothing_due,
        )
