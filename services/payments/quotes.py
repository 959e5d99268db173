"""What each paid flow keeps of the hospital's quote: one typed model per flow, stored as JSON in ``Order.quote``.

An order is written with what its saga needs later (the 3.1.1 detail ids, the booked slot, the patient as the
hospital was told...). Each flow's model names those fields once; the entry point that makes the order builds
it, the saga and the shims read it by attribute (``PhysicalExamQuote.of(order).patient_name``), never by key.

Written strictly: ``stored()`` refuses a value of the wrong type (a float where a Decimal belongs, a number
where a name belongs) and answers the JSON the column keeps (amounts as "10.00").

Read leniently: orders stored before these models keep their JSON as it was. ``read`` takes the old spellings
(the physical exam's ``name`` is ``patient_name`` now; quantities and page counts written as text), ignores
keys it does not know (the after-sale notes and the hospitals' status words share the column, see
services.payments.after_sale and services.payments.hospital_status), and lets a field added later be missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Final, Self

from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError

from store.orders import Order


class QuoteUnreadable(ValueError):
    """A stored quote lacks what its flow needs (a bug or a hand-edited row): never an expected refusal."""


_LENIENT: Final = ConfigDict(coerce_numbers_to_str=True)
"""A number stored where text belongs (a hand-made or old row) reads as its text; writing still refuses it."""

_ADAPTERS: dict[type[Quote], TypeAdapter[Any]] = {}


def _adapter(model: type[Quote]) -> TypeAdapter[Any]:
    """The model's validator and serializer, built once."""
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """The base of every flow's quote: how it is written and read back.

    A flow's ``amount`` is the total as the hospital quoted it, for the record: what is charged and told is
    the order's own total_amount (and its parts), never re-read from the quote.
    """

    __pydantic_config__ = _LENIENT

    FLOW: ClassVar[str]
    """The flow (Order.flow, sagas.FLOWS) whose orders keep this quote."""
    OLD_KEYS: ClassVar[Mapping[str, str]] = {}
    """Keys earlier versions wrote, and the field each one is now."""
    ID_NUMBERS: ClassVar[tuple[str, ...]] = ("id_card",)
    """The fields holding an ID number the saga will send (the request's guard checks them first)."""

    @classmethod
    def read(cls, stored: Mapping[str, Any] | None) -> Self:
        """The quote as stored (see the module docstring); QuoteUnreadable when a needed field is missing."""
        names = {field.name for field in dataclasses.fields(cls)}
        known: dict[str, Any] = {}
        for key, value in (stored or {}).items():
            name = cls.OLD_KEYS.get(key, key)
            if name in names and (name not in known or key == name):
                known[name] = value
        try:
            quote: Self = _adapter(cls).validate_python(known, strict=False)
        except ValidationError as error:
            # Where and why, never the values: a quote holds names and ID numbers (logs are scanned for them).
            wrong = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in error.errors(include_input=False))
            raise QuoteUnreadable(f"{cls.__name__}: {wrong}") from None
        return quote

    @classmethod
    def of(cls, order: Order) -> Self:
        """The order's quote, read as this flow's."""
        return cls.read(order.quote)

    def stored(self) -> dict[str, Any]:
        """The JSON the order keeps; a value of the wrong type raises (nothing loose is written)."""
        adapter = _adapter(type(self))
        wrong = TypeError(f"{type(self).__name__}: a field holds a value of another type than it declares")
        try:
            dumped: dict[str, Any] = adapter.dump_python(self, mode="json", warnings="error")
        except PydanticSerializationError:
            raise wrong from None  # the values stay out of the message: names and ID numbers
        if adapter.validate_python(dumped, strict=False) != self:
            raise wrong
        return dumped

    def id_numbers(self) -> list[str]:
        """The ID numbers this quote will send to the hospital (non-empty ones)."""
        values = (getattr(self, name, None) for name in self.ID_NUMBERS)
        return sorted({value.strip() for value in values if isinstance(value, str) and value.strip()})


# -- bills and balances ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BillItem:
    """One pending bill 3.1.1 quoted (detail id, its prescription, its amount)."""

    __pydantic_config__ = _LENIENT

    id: str
    pres_code: str | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutpatientQuote(Quote):
    """诊间支付 (3.1): the bill as 3.1.1 quoted it; 3.1.2 names the detail ids and their prescriptions."""

    FLOW: ClassVar[str] = "outpatient"

    amount: Decimal | None = None
    discount_amount: Decimal = Decimal("0.00")
    detail_ids: tuple[str, ...]
    items: tuple[BillItem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RechargeQuote(Quote):
    """就诊卡充值 (7.1): the amount the patient chose."""

    FLOW: ClassVar[str] = "recharge"

    amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DepositQuote(Quote):
    """住院押金 (10.1): the amount, for the stay 10.1.1 named, within the limits it showed."""

    FLOW: ClassVar[str] = "deposit"

    amount: Decimal | None = None
    admission_number: str | None = None
    minimum_payment: Decimal | None = None
    maximum_payment: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AdmissionQuote(Quote):
    """入院申请缴费 (36.1): what the admission application 36.1.1 asks; 36.1.2 names its application id."""

    FLOW: ClassVar[str] = "admission"

    amount: Decimal | None = None
    admission_card_id: str
    admission_number: str | None = None
    dept_name: str | None = None
    id_card: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InsurancePaid:
    """One line of 5.1.2 medPayList: what the insurer paid, and how."""

    __pydantic_config__ = _LENIENT

    name: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class InsuranceQuote(Quote):
    """线上医保 (chapter 5): the hospital's order (hisTradeId) as the insurer settled it; ours pays the rest."""

    FLOW: ClassVar[str] = "insurance"
    ID_NUMBERS: ClassVar[tuple[str, ...]] = ()

    his_trade_id: str
    detail_ids: tuple[str, ...] = ()
    trade_amount: Decimal | None = None
    preferential_amount: Decimal | None = None
    med_amount: Decimal | None = None
    med_settle_time: str | None = None
    med_pay_list: tuple[InsurancePaid, ...] = ()


# -- registration ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TodayRegistrationQuote(Quote):
    """当日挂号 (20.1.7): the schedule row, the price for this patient, and our todayRegisterId."""

    FLOW: ClassVar[str] = "registration_today"

    amount: Decimal | None = None
    schedule_fee: Decimal | None = None
    today_register_id: str
    department_id: str
    department_name: str
    doctor_id: str | None = None
    doctor_name: str | None = None
    reg_class_id: str
    reg_class_name: str | None = None
    schedule_type: str
    patient_name: str
    id_card: str | None = None
    registration_date: str
    sequence: str | None = None
    serial_number: str | None = None
    register_time: str | None = None
    am_pm: str | None = None
    time_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppointmentRegistrationQuote(Quote):
    """预约挂号 (21.2.2 booked, 21.2.4 after payment, 21.2.3 to cancel): the booking as the hospital was told."""

    FLOW: ClassVar[str] = "registration_appointment"
    ID_NUMBERS: ClassVar[tuple[str, ...]] = ("id_card", "patient_id")

    amount: Decimal | None = None
    schedule_fee: Decimal | None = None
    surcharge: Decimal | None = None
    record_id: str
    hos_code: str
    appointment_code: str | None = None
    sn: str | None = None
    patient_name: str
    patient_id: str
    """The ID number of ``id_type`` (21.2.2 patientId)."""
    patient_phone: str
    id_type: str = "01"
    id_card: str | None = None
    dept_code: str
    doc_code: str
    date: str
    am_pm: str
    start_time: str
    end_time: str | None = None
    his_time_id: str | None = None
    serial_number: int | None = None


# -- bookings of exams and items ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PhysicalExamQuote(Quote):
    """体检预约 (28.1.6 after payment): the packages at 28.1.1's acPrice, and the person examined."""

    FLOW: ClassVar[str] = "physical_exam"
    OLD_KEYS: ClassVar[Mapping[str, str]] = {"name": "patient_name"}

    amount: Decimal | None = None
    prices: dict[str, Decimal]
    package_ids: tuple[str, ...]
    item_ids: tuple[str, ...] = ()
    patient_name: str
    """28.1.6 name (stored as ``name`` before this model)."""
    sex: str
    id_card: str
    tel_no: str | None = None
    profession_code: str | None = None
    date: str
    org_id: str | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LabAppointmentQuote(Quote):
    """检验项目预约 (33.1.3 locked, 33.1.4 after payment): the project, the locked slot and the patient."""

    FLOW: ClassVar[str] = "lab_appointment"

    amount: Decimal | None = None
    project_price: Decimal | None = None
    inspecting_price: Decimal | None = None
    project_id: str
    project_name: str | None = None
    scheduling_id: str
    source_id: str | None = None
    record_id: str
    time_point: str | None = None
    patient_name: str
    sex: str
    telephone: str
    id_card: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChosenGroup:
    """One group of self-chosen items (29.1.3 group) and the items chosen in it."""

    __pydantic_config__ = _LENIENT

    group_id: str
    item_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfOrderQuote(Quote):
    """自选套餐 (29.1.3 after payment): the chosen items at 29.1.1's prices, on a date 29.1.2 offered."""

    FLOW: ClassVar[str] = "self_order"

    amount: Decimal | None = None
    groups: tuple[ChosenGroup, ...]
    prices: dict[str, Decimal] = dataclasses.field(default_factory=dict)
    appointment_date: str
    patient_name: str | None = None
    id_card: str | None = None


# -- the internet hospital ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PricedCharge:
    """One prescribed charge at the unit price 25.1.6 quoted (25.1.1 charges; 25.2.1 lists it again)."""

    __pydantic_config__ = _LENIENT

    charge_id: str
    charge_type: int
    """1 检查, 2 检验, 3 处方."""
    charge_name: str
    quantity: int
    price: Decimal
    group_id: str = ""
    frequency_name: str | None = None
    usage_name: str | None = None
    dose: str | None = None
    memo: str | None = None

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsultationQuote(Quote):
    """在线问诊 (25.1.1 after payment): the priced charges, the patient and the prescribing doctor."""

    FLOW: ClassVar[str] = "consultation"

    amount: Decimal | None = None
    charges: tuple[PricedCharge, ...]
    patient_name: str
    gender: str
    phone: str
    id_card: str
    birthday: str
    diagnose_code: str
    diagnose_name: str
    description: str | None = None
    bill_doc_hospital: str
    bill_doc_name: str
    bill_doc_code: str
    consult_code: int | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MedicalRecordQuote(Quote):
    """病案预约配送 (27.1.2 after payment): copies of one stay's record at the platform's tariff."""

    FLOW: ClassVar[str] = "medical_record"

    amount: Decimal | None = None
    apply_id: str
    print_number: int
    print_fee: Decimal
    mailing_fee: Decimal
    mailed: bool = True
    admission_number: str | None = None
    patient_name: str
    id_card: str | None = None


QUOTES: Final[Mapping[str, type[Quote]]] = {
    model.FLOW: model
    for model in (
        OutpatientQuote,
        RechargeQuote,
        DepositQuote,
        AdmissionQuote,
        InsuranceQuote,
        TodayRegistrationQuote,
        AppointmentRegistrationQuote,
        PhysicalExamQuote,
        LabAppointmentQuote,
        SelfOrderQuote,
        ConsultationQuote,
        MedicalRecordQuote,
    )
}
"""Each flow's quote model, by Order.flow."""


def quote_of(order: Order) -> Quote:
    """The order's quote as its flow's model (a flow without one is a bug: KeyError)."""
    return QUOTES[order.flow].read(order.quote)


# -- the after-sale notes beside the quote --------------------------------------------------------------

AFTER_SALE_KEY: Final = "after_sale"
"""The key of the order's quote column under which the after-sale sagas note each refund (by out_refund_no)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundNote:
    """What the after-sale sagas noted for one refund of an order (services.payments.after_sale writes it)."""

    __pydantic_config__ = _LENIENT

    state: str | None = None
    why: str | None = None
    """Why the refund stands where it does (the last step's outcome)."""
    at: str | None = None
    his_refund_no: str | None = None
    """The hospital's voucher: 8.1.2 outRefundId, 20.1.8 / 21.2.3 refundNo, or the refund number of its own refund."""
    initiator: str | None = None
    """``hospital`` for a refund the hospital started (services.payments.hospital_refunds)."""
    section: str | None = None
    unified_trade_no: str | None = None
    unified_amount: Decimal | None = None
    """附六: the unified settlement platform's part the hospital's refund passes on."""


_NOTE: Final = TypeAdapter(RefundNote)


def refund_notes(order: Order) -> dict[str, RefundNote]:
    """Every refund's note on the order, by out_refund_no (a note that cannot be read is an empty one)."""
    raw = (order.quote or {}).get(AFTER_SALE_KEY) or {}
    notes: dict[str, RefundNote] = {}
    for out_refund_no, note in raw.items() if isinstance(raw, Mapping) else ():
        try:
            notes[str(out_refund_no)] = _NOTE.validate_python(note)
        except ValueError:
            notes[str(out_refund_no)] = RefundNote()
    return notes


def refund_note(order: Order, out_refund_no: str) -> RefundNote:
    """The note of one refund of the order (empty when none was written)."""
    return refund_notes(order).get(out_refund_no) or RefundNote()


def write_refund_note(order: Order, out_refund_no: str, at: datetime, **fields: str | None) -> None:
    """Note a refund's step on the order (``state``, ``why``, ``his_refund_no``...; a None value keeps the old one).

    The whole column is assigned anew, so the JSON column sees the change; the order's updated_at is ``at``.
    """
    quote = dict(order.quote or {})
    notes = dict(quote.get(AFTER_SALE_KEY) or {})
    entry = dict(notes.get(out_refund_no) or {})
    entry.update({key: value for key, value in fields.items() if value is not None or key == "why"})
    entry["at"] = at.isoformat()
    notes[out_refund_no] = entry
    quote[AFTER_SALE_KEY] = notes
    order.quote = quote
    order.updated_at = at
