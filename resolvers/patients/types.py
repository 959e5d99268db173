"""GraphQL types of the patient graph."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from decimal import Decimal
from enum import Enum
from operator import attrgetter, itemgetter
from typing import Final

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
from ..lazy import lazy_maker
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
        """The item, each field converted from the reply when first read (resolvers/lazy.py)."""
        return _pending_item(item)


# Money and strawberry.ID are NewTypes (the value itself at run time): those fields are read as they are.
_pending_item: Final = lazy_maker(
    PendingPaymentItem,
    {
        "id": attrgetter("id"),
        "name": attrgetter("item"),
        "amount": attrgetter("item_amount"),
        "unit_price": attrgetter("price"),
        "quantity": attrgetter("quantity"),
        "unit": attrgetter("unit"),
        "doctor": attrgetter("doctor"),
        "created_at": lambda item: instant(item.create_time),
        "prescription_number": attrgetter("pres_code"),
        "preferential_amount": attrgetter("preferential_amount"),
        "prescription_type": lambda item: coded(PrescriptionKind, item.pres_type),
    },
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
        """The entry, each field converted from the reply when first read (resolvers/lazy.py)."""
        return _pending_entry((hospital_id, reply))


_pending_entry: Final = lazy_maker(
    PendingPaymentsAtHospital,
    {
        "hospital_id": itemgetter(0),
        "total_amount": lambda answer: answer[1].amount,
        "discount_amount": lambda answer: answer[1].discount_amount or Decimal(0),
        "medical_insurance_patient": lambda answer: (
            None if answer[1].is_medical_pat is None else answer[1].is_medical_pat == "1"
        ),
        "items": lambda answer: [_pending_item(item) for item in answer[1].detail],
    },
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
