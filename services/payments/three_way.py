"""The daily three-way check: the ledger, the provider's trade bill and each hospital's own records.

For one day (Beijing time) and a set of hospitals, every payment and refund the ledger holds for that
day is set beside the provider's bill (`trade_bill(day)`) and the hospital's records (14.2.1 for the
day; 14.2.2 per order and 14.2.3 per refund when the day's records do not name it, since the hospital
may time a payment by when it applied it). Every disagreement is a `Mismatch` (data, nothing is
written: no schema change); orders still moving (PAID not yet NOTIFIED, REFUNDING, refunds not done)
are listed as in flight, not as differences.

What each side must show, by the ledger's state of the order:

- NOTIFIED: the provider's payment of the online part; exactly one complete record at the hospital
  of that amount (two: ``applied_twice``). Each SUCCEEDED refund of it (after sale): the provider's
  refund, and the hospital's refund record (under our refund number, its own voucher, or the same
  amount).
- REFUNDED (the hospital never applied it): the provider's payment and refund; nothing net at the
  hospital (a payment there that was not undone is ``state_differs``).
- PARKED: always listed (``parked``): an operator must decide.
- CREATED / CANCELLED: nothing anywhere; a payment at the provider or the hospital is ``state_differs``.

The comparison (`compare`) is pure and made of small pure functions, one question each: what the other
sides show of an order (`index_evidence`), its line (`payment_line`), what disagrees about its payment
(`payment_mismatches`) and about each of its refunds (`refund_line`, `refund_mismatches`), then what
the provider or a hospital shows that the ledger does not know (`unknown_*`). `ThreeWayCheck.run`
gathers the three sides and calls it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final, Protocol

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from his_clients.client import HisClient
from his_clients.errors import HisError, HisNoData
from his_clients.models.reconciliation import (
    RECONCILIATION_DETAIL,
    RECONCILIATION_QUERY_BY_OUT_TRADE_NO,
    RECONCILIATION_QUERY_BY_OUT_TRADE_NO_AND_REFUND_NO,
    ReconciliationDetailRequest,
    ReconciliationQueryByOutTradeNoAndRefundNoRequest,
    ReconciliationQueryByOutTradeNoRequest,
)
from store.db import Database
from store.orders import Order, OrderState, Refund, RefundState

from .clock import CHINA_TIME
from .providers.base import BillRow, PaymentProvider, ProviderRejected, ProviderUnavailable
from .reconciliation import MONEY_MOVED_STATES, his_refund_no

ZERO: Final = Decimal("0.00")
IN_FLIGHT_ORDER_STATES: Final = frozenset({OrderState.PAID, OrderState.REFUNDING})
IN_FLIGHT_REFUND_STATES: Final = frozenset({RefundState.AWAITING_HIS, RefundState.PENDING})


class MismatchKind(StrEnum):
    MISSING_AT_PROVIDER = "missing_at_provider"
    """The ledger holds money the provider's bill does not show."""
    MISSING_AT_HOSPITAL = "missing_at_hospital"
    """The ledger says the hospital applied it (or refunded it); the hospital has no record."""
    MISSING_IN_LEDGER = "missing_in_ledger"
    """The provider or the hospital shows money the ledger does not know."""
    AMOUNT_DIFFERS = "amount_differs"
    STATE_DIFFERS = "state_differs"
    """The sides agree it exists but not on what happened (unpaid vs paid, refunded vs applied...)."""
    APPLIED_TWICE = "applied_twice"
    """The hospital recorded one payment more than once."""
    PARKED = "parked"
    """The ledger parked the order or refund for operators."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRefund:
    out_refund_no: str
    amount: Decimal
    state: RefundState
    succeeded_at: datetime | None = None
    his_refund_no: str | None = None
    created_at: datetime | None = None
    """When it was made: an unfinished refund belongs to that day's check (None: to any day's)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerOrder:
    """What the ledger holds of one order, as the check needs it."""

    out_trade_no: str
    hospital_id: str
    state: OrderState
    online_amount: Decimal
    paid_at: datetime | None
    refunds: tuple[LedgerRefund, ...] = ()

    @property
    def moved_money(self) -> bool:
        return self.state in MONEY_MOVED_STATES and self.paid_at is not None

    @classmethod
    def of(cls, order: Order, refunds: Iterable[Refund]) -> LedgerOrder:
        return cls(
            out_trade_no=order.out_trade_no,
            hospital_id=order.hospital_id,
            state=OrderState(order.state),
            online_amount=order.online_amount,
            paid_at=order.paid_at,
            refunds=tuple(
                LedgerRefund(
                    out_refund_no=r.out_refund_no,
                    amount=r.amount,
                    state=RefundState(r.state),
                    succeeded_at=r.succeeded_at,
                    his_refund_no=his_refund_no(order, r),
                    created_at=r.created_at,
                )
                for r in refunds
            ),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HospitalRecord:
    """A transaction as the hospital recorded it (14.2.1 / 14.2.2 / 14.2.3); refunds are negative."""

    trade_no: str
    amount: Decimal
    complete: bool = True
    refund_no: str | None = None
    trade_time: str = ""
    from_day: bool = True
    """From the day's 14.2.1 list (False: found by asking about one order or refund)."""

    @property
    def is_refund(self) -> bool:
        return bool(self.refund_no) or self.amount < 0


@dataclass(slots=True, kw_only=True)
class HospitalSide:
    """One hospital's records for the check, or why there are none."""

    hospital_id: str
    records: list[HospitalRecord] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Mismatch:
    kind: MismatchKind
    hospital_id: str | None
    """None for a provider line no ledger order names (its hospital is unknown)."""
    out_trade_no: str
    out_refund_no: str | None = None
    ledger_amount: Decimal | None = None
    provider_amount: Decimal | None = None
    hospital_amount: Decimal | None = None
    """Refunds are negative on every side."""
    ledger_state: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedLine:
    """One payment or refund of the day, with what each side says (None: that side has nothing)."""

    hospital_id: str | None
    out_trade_no: str
    out_refund_no: str | None = None
    ledger_state: str | None = None
    ledger_amount: Decimal | None = None
    """The money the ledger says moved (payments positive, refunds negative); None: none."""
    provider_amount: Decimal | None = None
    hospital_amount: Decimal | None = None
    in_day: bool = False
    """The ledger's money moved on the day checked (counts in ledger_total)."""
    in_flight: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreeWayReport:
    day: date
    hospital_ids: tuple[str, ...]
    lines: tuple[CheckedLine, ...]
    mismatches: tuple[Mismatch, ...]
    hospital_errors: dict[str, str]
    """Hospitals whose records could not be read: their side is not checked (not called clean)."""
    provider_error: str | None
    ledger_total: Decimal
    """Payments less refunds the ledger moved on the day, for these hospitals."""
    provider_total: Decimal
    """The provider bill's lines of these hospitals' orders (refunds negative)."""
    hospital_total: Decimal
    """The hospitals' own records for the day (14.2.1), as they write them."""
    open_lines: tuple[CheckedLine, ...] = ()
    """Orders and refunds of other days that are parked or in flight as the check runs: listed beside the
    day's result, never part of it (a quiet day is clean however many of today's orders wait)."""

    @property
    def in_flight(self) -> tuple[CheckedLine, ...]:
        return tuple(line for line in self.lines if line.in_flight)

    @property
    def clean(self) -> bool:
        return not self.mismatches and not self.hospital_errors and self.provider_error is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """The provider's bill and the hospitals' records, indexed by the numbers the ledger knows them by."""

    provider_checked: bool
    """The provider's bill was read (False: its side is not checked)."""
    provider_payments: Mapping[str, Sequence[BillRow]]
    """Payment lines by out_trade_no."""
    provider_refunds: Mapping[str, Sequence[BillRow]]
    """Refund lines by out_refund_no."""
    hospital_payments: Mapping[tuple[str, str], Sequence[HospitalRecord]]
    """A hospital's payment records by (hospital id, trade number)."""
    hospital_refunds: Mapping[tuple[str, str], Sequence[HospitalRecord]]
    """A hospital's refund records by (hospital id, trade number)."""
    checked_hospitals: frozenset[str]
    """Hospitals whose records were read."""

    def payments_at_provider(self, order: LedgerOrder) -> Sequence[BillRow]:
        return self.provider_payments.get(order.out_trade_no, ())

    def payments_at_hospital(self, order: LedgerOrder) -> Sequence[HospitalRecord]:
        return self.hospital_payments.get((order.hospital_id, order.out_trade_no), ())

    def refunds_at_hospital(self, order: LedgerOrder) -> Sequence[HospitalRecord]:
        return self.hospital_refunds.get((order.hospital_id, order.out_trade_no), ())


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCheck:
    """What one ledger order gives the report: its lines, its mismatches, and the hospital's refund
    records it accounts for (held by identity: a hospital may record two equal refunds)."""

    lines: tuple[CheckedLine, ...]
    mismatches: tuple[Mismatch, ...]
    accounted_refunds: tuple[HospitalRecord, ...]
    open_lines: tuple[CheckedLine, ...] = ()
    """Its payment or refunds of other days still parked or in flight (not part of the day's result)."""


def beijing_day(moment: datetime | None, day: date) -> bool:
    return moment is not None and moment.astimezone(CHINA_TIME).date() == day


def day_window(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Beijing day, timezone-aware."""
    start = datetime.combine(day, time(0, 0), tzinfo=CHINA_TIME)
    return start, start + timedelta(days=1)


def _total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)


def _total_or_none(amounts: Sequence[Decimal]) -> Decimal | None:
    """The sum of a side's amounts; None when that side has nothing."""
    return _total(amounts) if amounts else None


def _mismatch(line: CheckedLine, kind: MismatchKind, detail: str) -> Mismatch:
    return Mismatch(
        kind=kind,
        hospital_id=line.hospital_id,
        out_trade_no=line.out_trade_no,
        out_refund_no=line.out_refund_no,
        ledger_amount=line.ledger_amount,
        provider_amount=line.provider_amount,
        hospital_amount=line.hospital_amount,
        ledger_state=line.ledger_state,
        detail=detail,
    )


def is_provider_refund(row: BillRow) -> bool:
    return row.state == "REFUND" and bool(row.out_refund_no)


def provider_signed_amount(row: BillRow) -> Decimal:
    """A bill line's money as the report counts it: payments positive, refunds negative."""
    return -row.refund_amount if is_provider_refund(row) else row.amount


def index_evidence(provider_rows: Sequence[BillRow] | None, hospitals: Sequence[HospitalSide]) -> Evidence:
    """The provider's and the hospitals' records by the numbers the ledger knows them by."""
    provider_payments: dict[str, list[BillRow]] = defaultdict(list)
    provider_refunds: dict[str, list[BillRow]] = defaultdict(list)
    for row in provider_rows or []:
        if is_provider_refund(row):
            provider_refunds[row.out_refund_no or ""].append(row)
        else:
            provider_payments[row.out_trade_no].append(row)
    hospital_payments: dict[tuple[str, str], list[HospitalRecord]] = defaultdict(list)
    hospital_refunds: dict[tuple[str, str], list[HospitalRecord]] = defaultdict(list)
    for side in hospitals:
        for record in side.records:
            target = hospital_refunds if record.is_refund else hospital_payments
            target[(side.hospital_id, record.trade_no)].append(record)
    return Evidence(
        provider_checked=provider_rows is not None,
        provider_payments=dict(provider_payments),
        provider_refunds=dict(provider_refunds),
        hospital_payments=dict(hospital_payments),
        hospital_refunds=dict(hospital_refunds),
        checked_hospitals=frozenset(side.hospital_id for side in hospitals if side.error is None),
    )


# -- one order's payment ------------------------------------------------------------------------


def payment_of_day(order: LedgerOrder, evidence: Evidence, day: date) -> bool:
    """The order's payment belongs to the day: its money moved that day, or the day's bill or records name it.

    An order parked or in flight is part of the day it was paid on, not of every day checked while it waits."""
    named_today = bool(evidence.payments_at_provider(order)) or any(
        r.from_day for r in (*evidence.payments_at_hospital(order), *evidence.refunds_at_hospital(order))
    )
    return (order.moved_money and beijing_day(order.paid_at, day)) or named_today


def open_payment_line(order: LedgerOrder, evidence: Evidence, day: date) -> CheckedLine | None:
    """A payment of another day still parked or in flight as the check runs: shown beside the day, not in it."""
    waiting = order.state in IN_FLIGHT_ORDER_STATES or order.state is OrderState.PARKED
    if not waiting or payment_of_day(order, evidence, day):
        return None
    return CheckedLine(
        hospital_id=order.hospital_id,
        out_trade_no=order.out_trade_no,
        ledger_state=order.state.value,
        ledger_amount=order.online_amount if order.moved_money else None,
        in_flight=order.state in IN_FLIGHT_ORDER_STATES,
    )


def payment_line(order: LedgerOrder, evidence: Evidence, day: date) -> CheckedLine | None:
    """The order's payment line, or None when its payment is not of the day (``payment_of_day``)."""
    prov = evidence.payments_at_provider(order)
    hosp = evidence.payments_at_hospital(order)
    pay_in_day = order.moved_money and beijing_day(order.paid_at, day)
    in_flight = order.state in IN_FLIGHT_ORDER_STATES
    if not payment_of_day(order, evidence, day):
        return None
    return CheckedLine(
        hospital_id=order.hospital_id,
        out_trade_no=order.out_trade_no,
        ledger_state=order.state.value,
        ledger_amount=order.online_amount if order.moved_money else None,
        provider_amount=_total_or_none([r.amount for r in prov]),
        hospital_amount=_total_or_none([r.amount for r in hosp]),
        in_day=pay_in_day,
        in_flight=in_flight,
    )


def provider_payment_mismatch(order: LedgerOrder, line: CheckedLine, prov: Sequence[BillRow]) -> Mismatch | None:
    """A paid order against the provider's bill: missing on the day, or another amount."""
    if not prov:
        if line.in_day:
            return _mismatch(line, MismatchKind.MISSING_AT_PROVIDER, "the provider's bill has no such payment")
        return None
    if len(prov) > 1 or line.provider_amount != order.online_amount:
        return _mismatch(line, MismatchKind.AMOUNT_DIFFERS, "the provider's bill shows another amount")
    return None


def notified_at_hospital_mismatch(
    order: LedgerOrder, line: CheckedLine, hosp: Sequence[HospitalRecord]
) -> Mismatch | None:
    """A NOTIFIED order needs exactly one complete record of its amount at the hospital."""
    if not hosp:
        return _mismatch(line, MismatchKind.MISSING_AT_HOSPITAL, "the hospital has no record of the payment")
    if len(hosp) > 1:
        return _mismatch(line, MismatchKind.APPLIED_TWICE, f"the hospital recorded it {len(hosp)} times")
    if hosp[0].amount != order.online_amount:
        return _mismatch(line, MismatchKind.AMOUNT_DIFFERS, "the hospital recorded another amount")
    if not hosp[0].complete:
        return _mismatch(line, MismatchKind.STATE_DIFFERS, "the hospital says the payment is not complete")
    return None


def refunded_at_hospital_mismatch(
    line: CheckedLine, hosp: Sequence[HospitalRecord], hosp_refunds: Sequence[HospitalRecord]
) -> Mismatch | None:
    """A REFUNDED order (never applied): nothing net at the hospital."""
    net = _total(r.amount for r in hosp) + _total(r.amount for r in hosp_refunds)
    if hosp and net != 0:
        return _mismatch(line, MismatchKind.STATE_DIFFERS, "refunded in the ledger, applied at the hospital")
    return None


def unpaid_mismatches(line: CheckedLine, prov: Sequence[BillRow], hosp: Sequence[HospitalRecord]) -> list[Mismatch]:
    """An order that moved no money (CREATED, CANCELLED): a payment anywhere else differs."""
    found = []
    if prov:
        found.append(_mismatch(line, MismatchKind.STATE_DIFFERS, "unpaid in the ledger, paid at the provider"))
    if hosp:
        found.append(_mismatch(line, MismatchKind.STATE_DIFFERS, "unpaid in the ledger, applied at the hospital"))
    return found


def payment_mismatches(order: LedgerOrder, line: CheckedLine, evidence: Evidence) -> list[Mismatch]:
    """What disagrees about the order's payment (nothing while it is in flight)."""
    prov = evidence.payments_at_provider(order)
    hosp = evidence.payments_at_hospital(order)
    if line.in_flight:
        return []
    if order.state is OrderState.PARKED:
        return [_mismatch(line, MismatchKind.PARKED, "the ledger parked the order: an operator decides")]
    if not order.moved_money:
        return unpaid_mismatches(line, prov, hosp)
    found: list[Mismatch | None] = []
    if evidence.provider_checked and order.online_amount > 0:
        found.append(provider_payment_mismatch(order, line, prov))
    if order.hospital_id in evidence.checked_hospitals:
        if order.state is OrderState.NOTIFIED:
            found.append(notified_at_hospital_mismatch(order, line, hosp))
        elif order.state is OrderState.REFUNDED:
            found.append(refunded_at_hospital_mismatch(line, hosp, evidence.refunds_at_hospital(order)))
    return [m for m in found if m is not None]


def refunds_accounted_by_payment(
    order: LedgerOrder, line: CheckedLine, evidence: Evidence
) -> tuple[HospitalRecord, ...]:
    """A REFUNDED order's hospital refund records undo its payment there: none is unknown to the ledger."""
    if (
        line.in_flight
        or order.state is not OrderState.REFUNDED
        or not order.moved_money
        or order.hospital_id not in evidence.checked_hospitals
    ):
        return ()
    return tuple(evidence.refunds_at_hospital(order))


# -- one order's refunds ------------------------------------------------------------------------


def match_hospital_refund(refund: LedgerRefund, candidates: Sequence[HospitalRecord]) -> HospitalRecord | None:
    """The hospital's record of an after-sale refund: under our number or its voucher, else of the same
    amount, else (when the hospital numbers none of its refunds) the first one left."""
    numbers = {refund.out_refund_no, refund.his_refund_no} - {None}
    by_number = next((r for r in candidates if r.refund_no in numbers), None)
    if by_number is not None:
        return by_number
    by_amount = next((r for r in candidates if -r.amount == refund.amount), None)
    if by_amount is not None:
        return by_amount
    if candidates and all(not r.refund_no for r in candidates):
        return candidates[0]
    return None


def refund_in_day(refund: LedgerRefund, day: date) -> bool:
    return refund.state is RefundState.SUCCEEDED and beijing_day(refund.succeeded_at, day)


def refund_unfinished(refund: LedgerRefund) -> bool:
    return refund.state in IN_FLIGHT_REFUND_STATES or refund.state is RefundState.PARKED


def refund_listed(refund: LedgerRefund, evidence: Evidence, day: date) -> bool:
    """A refund is in the day's report when it succeeded on the day, the provider's bill of the day lists it, or
    it was made that day and is not done (parked or in flight)."""
    return (
        refund_in_day(refund, day)
        or refund.out_refund_no in evidence.provider_refunds
        or (refund_unfinished(refund) and (refund.created_at is None or beijing_day(refund.created_at, day)))
    )


def open_refund_line(order: LedgerOrder, refund: LedgerRefund) -> CheckedLine:
    """A refund of another day still parked or in flight as the check runs."""
    return CheckedLine(
        hospital_id=order.hospital_id,
        out_trade_no=order.out_trade_no,
        out_refund_no=refund.out_refund_no,
        ledger_state=refund.state.value,
        in_flight=refund.state in IN_FLIGHT_REFUND_STATES,
    )


def refund_line(
    order: LedgerOrder,
    refund: LedgerRefund,
    evidence: Evidence,
    day: date,
    hospital_record: HospitalRecord | None,
) -> CheckedLine:
    """The refund's line: what the ledger, the provider and the hospital (its matched record) say."""
    prov = evidence.provider_refunds.get(refund.out_refund_no, ())
    succeeded = refund.state is RefundState.SUCCEEDED
    return CheckedLine(
        hospital_id=order.hospital_id,
        out_trade_no=order.out_trade_no,
        out_refund_no=refund.out_refund_no,
        ledger_state=refund.state.value,
        ledger_amount=-refund.amount if succeeded else None,
        provider_amount=-_total(r.refund_amount for r in prov) if prov else None,
        hospital_amount=-abs(hospital_record.amount) if hospital_record is not None else None,
        in_day=refund_in_day(refund, day),
        in_flight=refund.state in IN_FLIGHT_REFUND_STATES,
    )


def refund_mismatches(
    order: LedgerOrder, refund: LedgerRefund, line: CheckedLine, evidence: Evidence
) -> list[Mismatch]:
    """What disagrees about one refund (nothing while it is in flight)."""
    if line.in_flight:
        return []
    if refund.state is RefundState.PARKED:
        return [_mismatch(line, MismatchKind.PARKED, "the ledger parked the refund: an operator decides")]
    at_provider = line.provider_amount is not None
    if refund.state is not RefundState.SUCCEEDED:
        if at_provider:
            detail = f"{refund.state.value} in the ledger, refunded at the provider"
            return [_mismatch(line, MismatchKind.STATE_DIFFERS, detail)]
        return []
    found = []
    if evidence.provider_checked:
        if not at_provider and line.in_day:
            found.append(_mismatch(line, MismatchKind.MISSING_AT_PROVIDER, "the provider's bill has no such refund"))
        elif at_provider and line.provider_amount != line.ledger_amount:
            found.append(_mismatch(line, MismatchKind.AMOUNT_DIFFERS, "the provider refunded another amount"))
    if order.state is OrderState.NOTIFIED and order.hospital_id in evidence.checked_hospitals:
        if line.hospital_amount is None:
            found.append(_mismatch(line, MismatchKind.MISSING_AT_HOSPITAL, "the hospital has no record of the refund"))
        elif line.hospital_amount != line.ledger_amount:
            detail = "the hospital recorded another refund amount"
            found.append(_mismatch(line, MismatchKind.AMOUNT_DIFFERS, detail))
    return found


def check_order(order: LedgerOrder, evidence: Evidence, day: date) -> OrderCheck:
    """One ledger order against the other sides: its payment, then each of its refunds."""
    lines: list[CheckedLine] = []
    mismatches: list[Mismatch] = []
    accounted: list[HospitalRecord] = []
    waiting = [line for line in [open_payment_line(order, evidence, day)] if line is not None]
    line = payment_line(order, evidence, day)
    if line is not None:
        lines.append(line)
        mismatches.extend(payment_mismatches(order, line, evidence))
        accounted.extend(refunds_accounted_by_payment(order, line, evidence))
    for refund in order.refunds:
        if not refund_listed(refund, evidence, day):
            if refund_unfinished(refund):
                waiting.append(open_refund_line(order, refund))
            continue
        record = None
        if order.state is OrderState.NOTIFIED and refund.state is RefundState.SUCCEEDED:  # after sale
            candidates = [r for r in evidence.refunds_at_hospital(order) if not any(r is a for a in accounted)]
            record = match_hospital_refund(refund, candidates)
            if record is not None:
                accounted.append(record)
        r_line = refund_line(order, refund, evidence, day, record)
        lines.append(r_line)
        mismatches.extend(refund_mismatches(order, refund, r_line, evidence))
    return OrderCheck(
        lines=tuple(lines),
        mismatches=tuple(mismatches),
        accounted_refunds=tuple(accounted),
        open_lines=tuple(waiting),
    )


# -- what the ledger does not know --------------------------------------------------------------


def unknown_provider_payments(
    evidence: Evidence, orders: Mapping[str, LedgerOrder]
) -> list[tuple[CheckedLine, Mismatch]]:
    """Provider payment lines of orders the ledger does not know (their hospital is unknown)."""
    found = []
    for out_trade_no, rows in sorted(evidence.provider_payments.items()):
        if out_trade_no in orders:
            continue
        amount = _total(r.amount for r in rows)
        line = CheckedLine(hospital_id=None, out_trade_no=out_trade_no, provider_amount=amount)
        detail = "the provider was paid for an order the ledger does not know"
        found.append((line, _mismatch(line, MismatchKind.MISSING_IN_LEDGER, detail)))
    return found


def unknown_provider_refunds(
    evidence: Evidence, orders: Mapping[str, LedgerOrder], scope: frozenset[str], *, include_unattributed: bool
) -> list[tuple[CheckedLine, Mismatch]]:
    """Provider refund lines no ledger refund names, of these hospitals' orders (or of no known order)."""
    known_refunds = {r.out_refund_no for o in orders.values() for r in o.refunds}
    found = []
    for out_refund_no, rows in sorted(evidence.provider_refunds.items()):
        if out_refund_no in known_refunds:
            continue
        order = orders.get(rows[0].out_trade_no)
        hospital_id = order.hospital_id if order is not None else None
        if hospital_id is None and not include_unattributed:
            continue
        if hospital_id is not None and hospital_id not in scope:
            continue
        line = CheckedLine(
            hospital_id=hospital_id,
            out_trade_no=rows[0].out_trade_no,
            out_refund_no=out_refund_no,
            provider_amount=-_total(r.refund_amount for r in rows),
        )
        detail = "the provider refunded what the ledger does not know"
        found.append((line, _mismatch(line, MismatchKind.MISSING_IN_LEDGER, detail)))
    return found


def unknown_hospital_records(
    hospitals: Sequence[HospitalSide],
    orders: Mapping[str, LedgerOrder],
    scope: frozenset[str],
    accounted: Sequence[HospitalRecord],
) -> list[tuple[CheckedLine, Mismatch]]:
    """The day's hospital records (14.2.1) the ledger does not know: a transaction of an order it does
    not hold, or a refund of a NOTIFIED order that none of its refunds accounts for."""
    accounted_ids = {id(r) for r in accounted}
    found = []
    for side in hospitals:
        if side.error is not None or side.hospital_id not in scope:
            continue
        for record in side.records:
            if not record.from_day:
                continue
            known = orders.get(record.trade_no)
            if known is not None and known.hospital_id == side.hospital_id:
                if not record.is_refund or id(record) in accounted_ids or known.state is not OrderState.NOTIFIED:
                    continue
                detail = "the hospital refunded what the ledger does not know"
            else:
                detail = "the hospital recorded a transaction the ledger does not know"
            line = CheckedLine(
                hospital_id=side.hospital_id,
                out_trade_no=record.trade_no,
                out_refund_no=record.refund_no,
                hospital_amount=record.amount,
            )
            found.append((line, _mismatch(line, MismatchKind.MISSING_IN_LEDGER, detail)))
    return found


# -- the report ---------------------------------------------------------------------------------


def compare(
    day: date,
    hospital_ids: Sequence[str],
    ledger: Iterable[LedgerOrder],
    provider_rows: Sequence[BillRow] | None,
    hospitals: Sequence[HospitalSide],
    *,
    include_unattributed: bool = True,
    provider_error: str | None = None,
) -> ThreeWayReport:
    """Set the three sides beside each other (pure: everything was gathered before)."""
    scope = frozenset(hospital_ids)
    orders = {o.out_trade_no: o for o in ledger}
    evidence = index_evidence(provider_rows, hospitals)
    lines: list[CheckedLine] = []
    mismatches: list[Mismatch] = []
    accounted: list[HospitalRecord] = []
    waiting: list[CheckedLine] = []
    for order in sorted(orders.values(), key=lambda o: o.out_trade_no):
        if order.hospital_id not in scope:
            continue
        checked = check_order(order, evidence, day)
        lines.extend(checked.lines)
        mismatches.extend(checked.mismatches)
        accounted.extend(checked.accounted_refunds)
        waiting.extend(checked.open_lines)
    unknown = [
        *(unknown_provider_payments(evidence, orders) if include_unattributed else []),
        *unknown_provider_refunds(evidence, orders, scope, include_unattributed=include_unattributed),
        *unknown_hospital_records(hospitals, orders, scope, accounted),
    ]
    lines.extend(line for line, _ in unknown)
    mismatches.extend(mismatch for _, mismatch in unknown)
    attributed = {o.out_trade_no for o in orders.values() if o.hospital_id in scope}
    return ThreeWayReport(
        day=day,
        hospital_ids=tuple(hospital_ids),
        lines=tuple(lines),
        mismatches=tuple(mismatches),
        hospital_errors={side.hospital_id: side.error for side in hospitals if side.error is not None},
        provider_error=provider_error,
        ledger_total=_total(line.ledger_amount for line in lines if line.in_day and line.ledger_amount is not None),
        provider_total=_total(provider_signed_amount(r) for r in provider_rows or [] if r.out_trade_no in attributed),
        hospital_total=_total(r.amount for s in hospitals if s.hospital_id in scope for r in s.records if r.from_day),
        open_lines=tuple(waiting),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GatheredDay:
    """What the three sides hold of one day for some hospitals, gathered once; reported per hospital or at once."""

    day: date
    hospital_ids: tuple[str, ...]
    ledger: tuple[LedgerOrder, ...]
    provider_rows: Sequence[BillRow] | None
    sides: tuple[HospitalSide, ...]
    provider_error: str | None

    def report(self, hospital_ids: Sequence[str], *, include_unattributed: bool = False) -> ThreeWayReport:
        """The report of these hospitals (of those gathered); `include_unattributed`: with provider lines of no
        known order."""
        wanted = set(hospital_ids)
        return compare(
            self.day,
            list(hospital_ids),
            self.ledger,
            self.provider_rows,
            [side for side in self.sides if side.hospital_id in wanted],
            include_unattributed=include_unattributed,
            provider_error=self.provider_error,
        )

    def unattributed(self) -> tuple[Mismatch, ...]:
        """The provider's lines of orders the ledger does not know (no hospital can be named for them)."""
        if self.provider_rows is None:
            return ()
        return compare(self.day, [], self.ledger, self.provider_rows, [], include_unattributed=True).mismatches


class HospitalRecords(Protocol):
    """The hospitals' side (14.2.x); raises HisError when a hospital gives no usable answer."""

    async def day_records(self, hospital_id: str, start: str, end: str) -> list[HospitalRecord]: ...

    async def order_records(self, hospital_id: str, out_trade_no: str) -> list[HospitalRecord]: ...

    async def refund_record(self, hospital_id: str, out_trade_no: str, refund_no: str) -> HospitalRecord | None: ...


class HisHospitalRecords:
    """HospitalRecords through the HIS client: 14.2.1, 14.2.2 and 14.2.3; 10002 is "none"."""

    def __init__(self, his: HisClient, *, timeout_s: float = 10.0) -> None:
        self._his = his
        self._timeout_s = timeout_s

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self._timeout_s

    async def day_records(self, hospital_id: str, start: str, end: str) -> list[HospitalRecord]:
        try:
            records = await self._his.call(
                RECONCILIATION_DETAIL,
                hospital_id,
                ReconciliationDetailRequest(start_time=start, end_time=end),
                deadline=self._deadline(),
            )
        except HisNoData:
            return []
        return [
            HospitalRecord(
                trade_no=r.trade_no,
                amount=r.amount,
                complete=r.complete,
                refund_no=r.refund_no or None,
                trade_time=r.trade_time,
                from_day=True,
            )
            for r in records
        ]

    async def order_records(self, hospital_id: str, out_trade_no: str) -> list[HospitalRecord]:
        try:
            records = await self._his.call(
                RECONCILIATION_QUERY_BY_OUT_TRADE_NO,
                hospital_id,
                ReconciliationQueryByOutTradeNoRequest(trade_no=out_trade_no),
                deadline=self._deadline(),
            )
        except HisNoData:
            return []
        return [
            HospitalRecord(
                trade_no=r.trade_no, amount=r.amount, complete=r.complete, trade_time=r.trade_time, from_day=False
            )
            for r in records
            if r.trade_no == out_trade_no
        ]

    async def refund_record(self, hospital_id: str, out_trade_no: str, refund_no: str) -> HospitalRecord | None:
        try:
            record = await self._his.call(
                RECONCILIATION_QUERY_BY_OUT_TRADE_NO_AND_REFUND_NO,
                hospital_id,
                ReconciliationQueryByOutTradeNoAndRefundNoRequest(trade_no=out_trade_no, refund_no=refund_no),
                deadline=self._deadline(),
            )
        except HisNoData:
            return None
        # 14.2.3's example writes the refunded amount positive: a refund is negative here.
        return HospitalRecord(
            trade_no=record.trade_no,
            amount=-abs(record.amount),
            complete=record.complete,
            refund_no=record.refund_no,
            from_day=False,
        )


class ThreeWayCheck:
    """Gathers the ledger, the provider's bill and the hospitals' records for a day, then compares them."""

    def __init__(self, *, db: Database, provider: PaymentProvider, hospitals: HospitalRecords) -> None:
        self._db = db
        self._provider = provider
        self._hospitals = hospitals

    async def run(self, day: date, hospital_ids: Sequence[str], *, include_unattributed: bool = True) -> ThreeWayReport:
        """The report for `day` (Beijing) and these hospitals.

        `include_unattributed`: also list provider lines no ledger order names (their hospital is
        unknown); a hospital's own operator should not see them.
        """
        gathered = await self.gather(day, hospital_ids)
        return gathered.report(gathered.hospital_ids, include_unattributed=include_unattributed)

    async def gather(self, day: date, hospital_ids: Sequence[str]) -> GatheredDay:
        """The three sides of `day` for these hospitals (each hospital asked once, the provider's bill read once)."""
        scope = tuple(dict.fromkeys(hospital_ids))
        start, end = day_window(day)
        provider_error = None
        rows: list[BillRow] | None
        try:
            rows = await self._provider.trade_bill(day)
        except (ProviderUnavailable, ProviderRejected) as error:
            rows, provider_error = None, f"trade bill unavailable: {error}"
        ledger = await self._ledger(list(scope), start, end, rows or [])
        sides = await asyncio.gather(*(self._hospital_side(h, day, ledger) for h in scope))
        for side in sides:
            named = {r.trade_no for r in side.records} - set(ledger)
            if named:
                ledger.update(await self._orders_named(named))
        return GatheredDay(
            day=day,
            hospital_ids=scope,
            ledger=tuple(ledger.values()),
            provider_rows=rows,
            sides=tuple(sides),
            provider_error=provider_error,
        )

    async def _ledger(
        self, scope: list[str], start: datetime, end: datetime, rows: list[BillRow]
    ) -> dict[str, LedgerOrder]:
        async with self._db.session() as session:
            refund_orders = select(Refund.order_id).where(
                or_(
                    Refund.succeeded_at.between(start, end),
                    Refund.state.in_(
                        [RefundState.AWAITING_HIS.value, RefundState.PENDING.value, RefundState.PARKED.value]
                    ),
                )
            )
            query = select(Order).where(
                Order.hospital_id.in_(scope),
                or_(
                    Order.paid_at.between(start, end),
                    Order.id.in_(refund_orders),
                    Order.state.in_([s.value for s in (OrderState.PAID, OrderState.REFUNDING, OrderState.PARKED)]),
                ),
            )
            found = list((await session.execute(query)).scalars())
            known = {o.out_trade_no for o in found}
            named = {r.out_trade_no for r in rows} - known
            if named:
                found.extend((await session.execute(select(Order).where(Order.out_trade_no.in_(named)))).scalars())
            return await self._snapshots(session, found)

    async def _orders_named(self, numbers: set[str]) -> dict[str, LedgerOrder]:
        async with self._db.session() as session:
            found = list((await session.execute(select(Order).where(Order.out_trade_no.in_(numbers)))).scalars())
            return await self._snapshots(session, found)

    @staticmethod
    async def _snapshots(session: AsyncSession, orders: list[Order]) -> dict[str, LedgerOrder]:
        refunds: dict[int, list[Refund]] = defaultdict(list)
        ids = [o.id for o in orders]
        for begin in range(0, len(ids), 500):
            result = await session.execute(
                select(Refund).where(Refund.order_id.in_(ids[begin : begin + 500])).order_by(Refund.id)
            )
            for refund in result.scalars():
                refunds[refund.order_id].append(refund)
        return {o.out_trade_no: LedgerOrder.of(o, refunds.get(o.id, [])) for o in orders}

    async def _hospital_side(self, hospital_id: str, day: date, ledger: dict[str, LedgerOrder]) -> HospitalSide:
        side = HospitalSide(hospital_id=hospital_id)
        start = f"{day.isoformat()} 00:00:00"  # four-digit year always (strftime's %Y writes year 187 as "187")
        end = f"{day.isoformat()} 23:59:59"
        try:
            side.records = await self._hospitals.day_records(hospital_id, start, end)
            named = {r.trade_no for r in side.records}
            for order in ledger.values():
                if order.hospital_id != hospital_id or order.state in IN_FLIGHT_ORDER_STATES:
                    continue
                if not order.moved_money and order.state is not OrderState.PARKED:
                    continue
                paid_that_day = beijing_day(order.paid_at, day)
                if order.state is OrderState.PARKED and not paid_that_day:
                    continue  # waiting from another day: not part of this day's check
                if order.out_trade_no not in named and paid_that_day:
                    side.records.extend(await self._hospitals.order_records(hospital_id, order.out_trade_no))
                if order.state is not OrderState.NOTIFIED:
                    continue
                for refund in order.refunds:
                    if refund.state is not RefundState.SUCCEEDED:
                        continue
                    numbers = [n for n in (refund.out_refund_no, refund.his_refund_no) if n]
                    if any(r.refund_no in numbers for r in side.records if r.trade_no == order.out_trade_no):
                        continue
                    for number in numbers:
                        found = await self._hospitals.refund_record(hospital_id, order.out_trade_no, number)
                        if found is not None:
                            side.records.append(found)
                            break
        except HisError as error:
            side.error = f"{error.code}: {error}"
        return side


__all__ = [
    "CheckedLine",
    "Evidence",
    "GatheredDay",
    "HisHospitalRecords",
    "HospitalRecord",
    "HospitalRecords",
    "HospitalSide",
    "LedgerOrder",
    "LedgerRefund",
    "Mismatch",
    "MismatchKind",
    "OrderCheck",
    "ThreeWayCheck",
    "ThreeWayReport",
    "compare",
    "day_window",
]
