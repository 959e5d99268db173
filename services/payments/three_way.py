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

The comparison (`compare`) is pure; `ThreeWayCheck.run` gathers the three sides and calls it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
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


@dataclass(frozen=True, slots=True)
class LedgerRefund:
    out_refund_no: str
    amount: Decimal
    state: RefundState
    succeeded_at: datetime | None = None
    his_refund_no: str | None = None


@dataclass(frozen=True, slots=True)
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
                LedgerRefund(r.out_refund_no, r.amount, RefundState(r.state), r.succeeded_at, his_refund_no(order, r))
                for r in refunds
            ),
        )


@dataclass(frozen=True, slots=True)
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


@dataclass(slots=True)
class HospitalSide:
    """One hospital's records for the check, or why there are none."""

    hospital_id: str
    records: list[HospitalRecord] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class CheckedLine:
    """One payment or refund of the day, with what each side says (None: that side has nothing)."""

    hospital_id: str | None
    out_trade_no: str
    out_refund_no: str | None
    ledger_state: str | None
    ledger_amount: Decimal | None
    """The money the ledger says moved (payments positive, refunds negative); None: none."""
    provider_amount: Decimal | None
    hospital_amount: Decimal | None
    in_day: bool
    """The ledger's money moved on the day checked (counts in ledger_total)."""
    in_flight: bool


@dataclass(frozen=True, slots=True)
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

    @property
    def in_flight(self) -> tuple[CheckedLine, ...]:
        return tuple(line for line in self.lines if line.in_flight)

    @property
    def clean(self) -> bool:
        return not self.mismatches and not self.hospital_errors and self.provider_error is None


def beijing_day(moment: datetime | None, day: date) -> bool:
    return moment is not None and moment.astimezone(CHINA_TIME).date() == day


def day_window(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Beijing day, timezone-aware."""
    start = datetime.combine(day, time(0, 0), tzinfo=CHINA_TIME)
    return start, start + timedelta(days=1)


def _total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)


def _mismatch(line: CheckedLine, kind: MismatchKind, detail: str) -> Mismatch:
    return Mismatch(
        kind,
        line.hospital_id,
        line.out_trade_no,
        line.out_refund_no,
        line.ledger_amount,
        line.provider_amount,
        line.hospital_amount,
        line.ledger_state,
        detail,
    )


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
    scope = set(hospital_ids)
    orders = {o.out_trade_no: o for o in ledger}
    refund_owner = {r.out_refund_no: o for o in orders.values() for r in o.refunds}
    provider_payments: dict[str, list[BillRow]] = defaultdict(list)
    provider_refunds: dict[str, list[BillRow]] = defaultdict(list)
    for row in provider_rows or []:
        if row.state == "REFUND" and row.out_refund_no:
            provider_refunds[row.out_refund_no].append(row)
        else:
            provider_payments[row.out_trade_no].append(row)
    sides = {side.hospital_id: side for side in hospitals}
    hospital_payments: dict[tuple[str, str], list[HospitalRecord]] = defaultdict(list)
    hospital_refunds: dict[tuple[str, str], list[HospitalRecord]] = defaultdict(list)
    for side in hospitals:
        for record in side.records:
            target = hospital_refunds if record.is_refund else hospital_payments
            target[(side.hospital_id, record.trade_no)].append(record)

    lines: list[CheckedLine] = []
    mismatches: list[Mismatch] = []
    matched_hospital_refunds: set[int] = set()

    def hospital_checked(hospital_id: str) -> bool:
        side = sides.get(hospital_id)
        return side is not None and side.error is None

    for order in sorted(orders.values(), key=lambda o: o.out_trade_no):
        if order.hospital_id not in scope:
            continue
        key = (order.hospital_id, order.out_trade_no)
        prov = provider_payments.get(order.out_trade_no, [])
        hosp = hospital_payments.get(key, [])
        hosp_refunds = hospital_refunds.get(key, [])
        pay_in_day = order.moved_money and beijing_day(order.paid_at, day)
        named_today = bool(prov) or any(r.from_day for r in hosp + hosp_refunds)
        in_flight = order.state in IN_FLIGHT_ORDER_STATES
        if pay_in_day or named_today or in_flight or (order.moved_money and order.state is OrderState.PARKED):
            ledger_amount = order.online_amount if order.moved_money else None
            prov_amount = _total(r.amount for r in prov) if prov else None
            hosp_amount = _total(r.amount for r in hosp) if hosp else None
            line = CheckedLine(
                order.hospital_id,
                order.out_trade_no,
                None,
                order.state.value,
                ledger_amount,
                prov_amount,
                hosp_amount,
                pay_in_day,
                in_flight,
            )
            lines.append(line)

            if in_flight:
                pass
            elif order.state is OrderState.PARKED:
                mismatches.append(
                    _mismatch(line, MismatchKind.PARKED, "the ledger parked the order: an operator decides")
                )
            elif order.moved_money:
                if provider_rows is not None and order.online_amount > 0:
                    if not prov and pay_in_day:
                        mismatches.append(
                            _mismatch(line, MismatchKind.MISSING_AT_PROVIDER, "the provider's bill has no such payment")
                        )
                    elif prov and (len(prov) > 1 or prov_amount != order.online_amount):
                        mismatches.append(
                            _mismatch(line, MismatchKind.AMOUNT_DIFFERS, "the provider's bill shows another amount")
                        )
                if hospital_checked(order.hospital_id):
                    if order.state is OrderState.NOTIFIED:
                        if not hosp:
                            mismatches.append(
                                _mismatch(
                                    line, MismatchKind.MISSING_AT_HOSPITAL, "the hospital has no record of the payment"
                                )
                            )
                        elif len(hosp) > 1:
                            mismatches.append(
                                _mismatch(
                                    line, MismatchKind.APPLIED_TWICE, f"the hospital recorded it {len(hosp)} times"
                                )
                            )
                        elif hosp[0].amount != order.online_amount:
                            mismatches.append(
                                _mismatch(line, MismatchKind.AMOUNT_DIFFERS, "the hospital recorded another amount")
                            )
                        elif not hosp[0].complete:
                            mismatches.append(
                                _mismatch(
                                    line, MismatchKind.STATE_DIFFERS, "the hospital says the payment is not complete"
                                )
                            )
                    elif order.state is OrderState.REFUNDED:
                        net = _total(r.amount for r in hosp) + _total(r.amount for r in hosp_refunds)
                        if hosp and net != 0:
                            mismatches.append(
                                _mismatch(
                                    line, MismatchKind.STATE_DIFFERS, "refunded in the ledger, applied at the hospital"
                                )
                            )
                        matched_hospital_refunds.update(id(r) for r in hosp_refunds)
            else:
                if prov:
                    mismatches.append(
                        _mismatch(line, MismatchKind.STATE_DIFFERS, "unpaid in the ledger, paid at the provider")
                    )
                if hosp:
                    mismatches.append(
                        _mismatch(line, MismatchKind.STATE_DIFFERS, "unpaid in the ledger, applied at the hospital")
                    )

        for refund in order.refunds:
            prov_r = provider_refunds.get(refund.out_refund_no, [])
            succeeded = refund.state is RefundState.SUCCEEDED
            refund_in_day = succeeded and beijing_day(refund.succeeded_at, day)
            refund_in_flight = refund.state in IN_FLIGHT_REFUND_STATES
            if not (refund_in_day or prov_r or refund_in_flight or refund.state is RefundState.PARKED):
                continue
            after_sale = order.state is OrderState.NOTIFIED
            hosp_match: HospitalRecord | None = None
            if after_sale and succeeded:
                numbers = {refund.out_refund_no, refund.his_refund_no} - {None}
                candidates = [r for r in hosp_refunds if id(r) not in matched_hospital_refunds]
                hosp_match = next((r for r in candidates if r.refund_no in numbers), None) or next(
                    (r for r in candidates if -r.amount == refund.amount), None
                )
                if hosp_match is None and candidates and all(not r.refund_no for r in candidates):
                    hosp_match = candidates[0]
                if hosp_match is not None:
                    matched_hospital_refunds.add(id(hosp_match))
            r_ledger = -refund.amount if succeeded else None
            r_prov = -_total(r.refund_amount for r in prov_r) if prov_r else None
            r_hosp = -abs(hosp_match.amount) if hosp_match is not None else None
            line = CheckedLine(
                order.hospital_id,
                order.out_trade_no,
                refund.out_refund_no,
                refund.state.value,
                r_ledger,
                r_prov,
                r_hosp,
                refund_in_day,
                refund_in_flight,
            )
            lines.append(line)

            if refund_in_flight:
                continue
            if refund.state is RefundState.PARKED:
                mismatches.append(
                    _mismatch(line, MismatchKind.PARKED, "the ledger parked the refund: an operator decides")
                )
            elif succeeded:
                if provider_rows is not None:
                    if not prov_r and refund_in_day:
                        mismatches.append(
                            _mismatch(line, MismatchKind.MISSING_AT_PROVIDER, "the provider's bill has no such refund")
                        )
                    elif prov_r and r_prov != r_ledger:
                        mismatches.append(
                            _mismatch(line, MismatchKind.AMOUNT_DIFFERS, "the provider refunded another amount")
                        )
                if after_sale and hospital_checked(order.hospital_id):
                    if hosp_match is None:
                        mismatches.append(
                            _mismatch(
                                line, MismatchKind.MISSING_AT_HOSPITAL, "the hospital has no record of the refund"
                            )
                        )
                    elif r_hosp != r_ledger:
                        mismatches.append(
                            _mismatch(line, MismatchKind.AMOUNT_DIFFERS, "the hospital recorded another refund amount")
                        )
            elif prov_r:
                mismatches.append(
                    _mismatch(
                        line,
                        MismatchKind.STATE_DIFFERS,
                        f"{refund.state.value} in the ledger, refunded at the provider",
                    )
                )

    # What the provider or the hospitals show and the ledger does not.
    for out_trade_no, rows in sorted(provider_payments.items()):
        known = orders.get(out_trade_no)
        if known is not None:
            continue
        if include_unattributed:
            amount = _total(r.amount for r in rows)
            lines.append(CheckedLine(None, out_trade_no, None, None, None, amount, None, False, False))
            mismatches.append(
                Mismatch(
                    MismatchKind.MISSING_IN_LEDGER,
                    None,
                    out_trade_no,
                    provider_amount=amount,
                    detail="the provider was paid for an order the ledger does not know",
                )
            )
    for out_refund_no, rows in sorted(provider_refunds.items()):
        owner = refund_owner.get(out_refund_no)
        if owner is not None:
            continue
        order_of_row = orders.get(rows[0].out_trade_no)
        hospital_id = order_of_row.hospital_id if order_of_row is not None else None
        if (hospital_id is None and not include_unattributed) or (hospital_id is not None and hospital_id not in scope):
            continue
        amount = -_total(r.refund_amount for r in rows)
        lines.append(
            CheckedLine(hospital_id, rows[0].out_trade_no, out_refund_no, None, None, amount, None, False, False)
        )
        mismatches.append(
            Mismatch(
                MismatchKind.MISSING_IN_LEDGER,
                hospital_id,
                rows[0].out_trade_no,
                out_refund_no,
                provider_amount=amount,
                detail="the provider refunded what the ledger does not know",
            )
        )
    for side in hospitals:
        if side.error is not None or side.hospital_id not in scope:
            continue
        for record in side.records:
            if not record.from_day:
                continue
            known = orders.get(record.trade_no)
            if known is not None and known.hospital_id == side.hospital_id:
                if (
                    not record.is_refund
                    or id(record) in matched_hospital_refunds
                    or known.state is not OrderState.NOTIFIED
                ):
                    continue
                detail = "the hospital refunded what the ledger does not know"
            else:
                detail = "the hospital recorded a transaction the ledger does not know"
            lines.append(
                CheckedLine(
                    side.hospital_id, record.trade_no, record.refund_no, None, None, None, record.amount, False, False
                )
            )
            mismatches.append(
                Mismatch(
                    MismatchKind.MISSING_IN_LEDGER,
                    side.hospital_id,
                    record.trade_no,
                    record.refund_no,
                    hospital_amount=record.amount,
                    detail=detail,
                )
            )

    ledger_total = _total(line.ledger_amount for line in lines if line.in_day and line.ledger_amount is not None)
    attributed = {o.out_trade_no for o in orders.values() if o.hospital_id in scope}
    provider_total = _total(
        (r.amount if not (r.state == "REFUND" and r.out_refund_no) else -r.refund_amount)
        for r in provider_rows or []
        if r.out_trade_no in attributed
    )
    hospital_total = _total(
        r.amount for side in hospitals if side.hospital_id in scope for r in side.records if r.from_day
    )
    return ThreeWayReport(
        day=day,
        hospital_ids=tuple(hospital_ids),
        lines=tuple(lines),
        mismatches=tuple(mismatches),
        hospital_errors={side.hospital_id: side.error for side in hospitals if side.error is not None},
        provider_error=provider_error,
        ledger_total=ledger_total,
        provider_total=provider_total,
        hospital_total=hospital_total,
    )


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
            HospitalRecord(r.trade_no, r.amount, r.complete, r.refund_no or None, r.trade_time, True) for r in records
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
            HospitalRecord(r.trade_no, r.amount, r.complete, None, r.trade_time, False)
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
        return HospitalRecord(record.trade_no, -abs(record.amount), record.complete, record.refund_no, "", False)


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
        scope = list(dict.fromkeys(hospital_ids))
        start, end = day_window(day)
        provider_error = None
        rows: list[BillRow] | None
        try:
            rows = await self._provider.trade_bill(day)
        except (ProviderUnavailable, ProviderRejected) as error:
            rows, provider_error = None, f"trade bill unavailable: {error}"
        ledger = await self._ledger(scope, start, end, rows or [])
        sides = await asyncio.gather(*(self._hospital_side(h, day, ledger) for h in scope))
        for side in sides:
            named = {r.trade_no for r in side.records} - set(ledger)
            if named:
                ledger.update(await self._orders_named(named))
        return compare(
            day,
            scope,
            ledger.values(),
            rows,
            sides,
            include_unattributed=include_unattributed,
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
        side = HospitalSide(hospital_id)
        start = f"{day:%Y-%m-%d} 00:00:00"
        end = f"{day:%Y-%m-%d} 23:59:59"
        try:
            side.records = await self._hospitals.day_records(hospital_id, start, end)
            named = {r.trade_no for r in side.records}
            for order in ledger.values():
                if order.hospital_id != hospital_id or order.state in IN_FLIGHT_ORDER_STATES:
                    continue
                if not order.moved_money and order.state is not OrderState.PARKED:
                    continue
                if order.out_trade_no not in named:
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
    "HisHospitalRecords",
    "HospitalRecord",
    "HospitalRecords",
    "HospitalSide",
    "LedgerOrder",
    "LedgerRefund",
    "Mismatch",
    "MismatchKind",
    "ThreeWayCheck",
    "ThreeWayReport",
    "compare",
    "day_window",
]
