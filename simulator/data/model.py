"""The data model of one simulated hospital. Handlers read and change it; nothing here knows HTTP."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def beijing_now() -> datetime:
    """The simulated hospitals' wall clock: Beijing time (naive, as the spec writes it), whatever the host's zone."""
    return datetime.now(UTC).astimezone(BEIJING).replace(tzinfo=None, microsecond=0)


@dataclass(slots=True)
class PendingItem:
    """One unpaid line of a prescription (3.1.1 detail)."""

    item_id: str
    item: str
    price: Decimal
    quantity: int
    unit: str
    doctor: str
    pres_code: str
    created: datetime

    @property
    def amount(self) -> Decimal:
        return self.price * self.quantity


@dataclass(slots=True)
class Recharge:
    """A top-up of the card balance (7.1.2); what is left of it can be refunded (8.1.x)."""

    recharge_no: str
    amount: Decimal
    left: Decimal
    time: datetime


@dataclass(slots=True)
class Deposit:
    """A deposit paid into an inpatient stay (10.1.2, 39.1.1)."""

    out_trade_no: str
    amount: Decimal
    pay_type_name: str
    time: datetime
    prepay_code: str
    admission_number: str


@dataclass(slots=True)
class InpatientStay:
    """One hospital stay with its deposits; daily fees follow a fixed daily plan."""

    stay_id: str
    admission_number: str
    dept: str
    ward: str
    bed: str
    doctor: str
    diagnosis: str
    admitted: datetime
    discharged: datetime | None
    deposits: list[Deposit] = field(default_factory=list)

    @property
    def in_hospital(self) -> bool:
        return self.discharged is None

    def covers(self, day: date) -> bool:
        end = self.discharged.date() if self.discharged else beijing_now().date()
        return self.admitted.date() <= day <= end

    def days(self) -> list[date]:
        end = self.discharged.date() if self.discharged else beijing_now().date()
        count = (end - self.admitted.date()).days + 1
        return [self.admitted.date() + timedelta(days=offset) for offset in range(count)]


@dataclass(slots=True)
class Report:
    """A report of any kind: lab (检验), pacs (检查), exam (体检), ecg (心电), pathology (病理)."""

    kind: str
    report_id: str
    item: str
    time: datetime
    doctor: str
    dept: str
    status: str
    positive: bool
    dcm_ids: tuple[str, ...] = ()


@dataclass(slots=True)
class Visit:
    """A paid outpatient visit: its invoice (18.1.1, 31.1.x), record (32.1.x) and prescription (38.1.x)."""

    visit_id: str
    invoice_id: str
    prescription_id: str
    time: datetime
    dept: str
    doctor: str
    diagnosis: str
    complaint: str
    lines: list[tuple[str, str, Decimal, int]]  # (category, item, price, quantity)

    @property
    def total(self) -> Decimal:
        return sum((price * quantity for _, _, price, quantity in self.lines), Decimal("0"))


@dataclass(slots=True)
class Patient:
    """A patient of one hospital, with every card that names them."""

    patient_id: str
    name: str
    sex: str
    birthdate: date
    id_card: str
    phone: str
    address: str
    cards: list[str]
    balance: Decimal
    pending: list[PendingItem] = field(default_factory=list)
    recharges: list[Recharge] = field(default_factory=list)
    stays: list[InpatientStay] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def card(self) -> str:
        return self.cards[0]

    def age(self, *, on: date | None = None) -> int:
        today = on or beijing_now().date()
        years = today.year - self.birthdate.year
        return years - ((today.month, today.day) < (self.birthdate.month, self.birthdate.day))


@dataclass(slots=True)
class Doctor:
    doctor_id: str
    name: str
    dept_id: str
    dept_name: str
    dept_addr: str
    title: str
    reg_class_id: str
    reg_class_name: str
    fee: Decimal


@dataclass(slots=True)
class Department:
    dept_id: str
    name: str
    addr: str
    type_id: str
    type_name: str


@dataclass(slots=True)
class Slot:
    """A time slot of a doctor's schedule; `remaining` is what 20.1.3/21.2.1 report."""

    slot_id: str
    start: str
    end: str
    am_pm: str
    capacity: int
    remaining: int


@dataclass(slots=True)
class Trade:
    """A money movement the hospital applied; reconciliation (14.2.x) answers from these."""

    trade_no: str
    refund_no: str
    amount: Decimal
    time: datetime
    pay_type: str
    body: str
    name: str
    card: str
    category: str  # outpatient | inpatient | recharge | registration | other


@dataclass(slots=True)
class Hospital:
    """One simulated hospital's whole state."""

    hospital_id: str
    name: str
    patients: list[Patient] = field(default_factory=list)
    by_card: dict[str, Patient] = field(default_factory=dict)
    by_id_card: dict[str, Patient] = field(default_factory=dict)
    departments: list[Department] = field(default_factory=list)
    doctors: dict[str, Doctor] = field(default_factory=dict)
    # doctor id -> slots of today's schedule (20.1.x) / of the bookable schedule (21.2.x)
    today_slots: dict[str, list[Slot]] = field(default_factory=dict)
    booking_slots: dict[tuple[str, str, str], list[Slot]] = field(default_factory=dict)
    stays_by_id: dict[str, InpatientStay] = field(default_factory=dict)
    stay_owner: dict[str, Patient] = field(default_factory=dict)
    reports_by_key: dict[tuple[str, str], tuple[Patient, Report]] = field(default_factory=dict)
    visits_by_key: dict[str, tuple[Patient, Visit]] = field(default_factory=dict)
    dcm_files: dict[str, str] = field(default_factory=dict)  # dcm id -> report id
    trades: list[Trade] = field(default_factory=list)
    # idempotency: business identifier -> the reply first given; applied counts per identifier
    writes: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: Counter[str] = field(default_factory=Counter)
    registrations: dict[str, dict[str, Any]] = field(default_factory=dict)
    mi_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0

    def next_id(self, prefix: str = "") -> str:
        self.counter += 1
        return f"{prefix}{self.hospital_id}{self.counter:07d}"

    def add_patient(self, patient: Patient) -> None:
        self.patients.append(patient)
        for card in patient.cards:
            self.by_card[card] = patient
        self.by_id_card.setdefault(patient.id_card, patient)

    def invoice_paid_bill(self, patient: Patient, items: list[PendingItem], invoice_id: str, at: datetime) -> Visit:
        """A bill paid through the platform (3.1.2) becomes a visit with its electronic invoice (31.1.1), as a
        hospital issues one for each payment: the patient can follow the order to it."""
        visit = Visit(
            visit_id=self.next_id("V"),
            invoice_id=invoice_id,
            prescription_id=items[0].pres_code if items else self.next_id("RX"),
            time=at,
            dept="门诊",
            doctor=items[0].doctor if items else "",
            diagnosis="",
            complaint="",
            lines=[("药品费", item.item, item.price, item.quantity) for item in items],
        )
        patient.visits.append(visit)
        for key in (visit.visit_id, visit.invoice_id):
            self.visits_by_key[key] = (patient, visit)
        return visit

    def index_patient_records(self, patient: Patient) -> None:
        for stay in patient.stays:
            self.stays_by_id[stay.stay_id] = stay
            self.stay_owner[stay.stay_id] = patient
        for report in patient.reports:
            self.reports_by_key[(report.kind, report.report_id)] = (patient, report)
            for dcm_id in report.dcm_ids:
                self.dcm_files[dcm_id] = report.report_id
        for visit in patient.visits:
            for key in (visit.visit_id, visit.invoice_id, visit.prescription_id):
                self.visits_by_key[key] = (patient, visit)
