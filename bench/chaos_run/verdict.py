"""Waiting for the gateway to settle, then judging the run against what each side really holds.

The truth is taken from outside the gateway wherever it exists: what WeChat holds (the provider's
ledger of payments and refunds), what each hospital applied (the simulator's applied counts and its
14.2.1 records), and the gateway's own ledger; then the gateway's three-way check for every day
of the run must show no difference.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from his_clients.client import HisClient
from his_clients.registry import Registry
from services.payments.clock import CHINA_TIME
from services.payments.orders import EXPIRE_UNPAID
from services.payments.providers.wechatpay import WeChatPayConfig, WeChatPayProvider
from services.payments.three_way import HisHospitalRecords, ThreeWayCheck
from store.db import Database
from store.orders import Order, OrderEvent, OrderState, Refund, RefundState
from store.outbox import JobState, OutboxJob

from .patient import HOSPITALS, harness_call, his_path

PAID_AT_PROVIDER = frozenset({"SUCCESS", "REFUND"})
SETTLED = frozenset({OrderState.NOTIFIED, OrderState.REFUNDED, OrderState.PARKED})
MOVING_REFUNDS = frozenset({RefundState.AWAITING_HIS, RefundState.PENDING})
ZERO = Decimal("0.00")


@dataclass
class Ledger:
    orders: dict[str, Order]
    refunds: dict[int, list[Refund]]
    pending_jobs: int


async def read_ledger(db: Database) -> Ledger:
    async with db.session() as session:
        orders = {o.out_trade_no: o for o in (await session.execute(select(Order))).scalars()}
        refunds: dict[int, list[Refund]] = defaultdict(list)
        for refund in (await session.execute(select(Refund).order_by(Refund.id))).scalars():
            refunds[refund.order_id].append(refund)
        # A payment window's timer (expire_unpaid) not due yet is not motion: a booking paid in time keeps it
        # until the window ends (then it ends doing nothing), and an order never paid is no payment.
        waiting_timer = (OutboxJob.kind == EXPIRE_UNPAID) & (OutboxJob.due_at > datetime.now(UTC))
        pending = await session.scalar(
            select(func.count())
            .select_from(OutboxJob)
            .where(OutboxJob.state == JobState.PENDING, OutboxJob.order_id.is_not(None), ~waiting_timer)
        )
    return Ledger(orders, refunds, int(pending or 0))


async def provider_ledger(client: httpx.AsyncClient, provider_url: str) -> dict[str, Any]:
    response = await harness_call(client, "GET", f"{provider_url}/admin/ledger")
    response.raise_for_status()
    ledger: dict[str, Any] = response.json()
    return ledger


def unsettled(ledger: Ledger, provider: dict[str, Any]) -> list[str]:
    """What is still moving: paid at WeChat but not final in the ledger, refunds under way, jobs, deliveries."""
    moving = []
    for order in provider["orders"]:
        if order["state"] not in PAID_AT_PROVIDER:
            continue
        stored = ledger.orders.get(order["outTradeNo"])
        if stored is None or OrderState(stored.state) not in SETTLED:
            moving.append(f"{order['outTradeNo']}:{stored.state if stored else 'unknown'}")
    for refunds in ledger.refunds.values():
        moving += [f"{r.out_refund_no}:{r.state}" for r in refunds if RefundState(r.state) in MOVING_REFUNDS]
    if ledger.pending_jobs:
        moving.append(f"{ledger.pending_jobs} outbox jobs")
    if provider["notifications"]["pending"]:
        moving.append(f"{provider['notifications']['pending']} notifications on their way")
    return moving


async def settle(
    db: Database, client: httpx.AsyncClient, provider_url: str, *, timeout_s: float, report: Any
) -> list[str]:
    """Wait until nothing moves any more (or the deadline); what still moved at the end ([] = settled)."""
    deadline = time.monotonic() + timeout_s
    last_report = 0.0
    while True:
        moving = unsettled(await read_ledger(db), await provider_ledger(client, provider_url))
        if not moving or time.monotonic() > deadline:
            return moving
        if time.monotonic() - last_report > 5:
            report(f"settling: {len(moving)} still moving, e.g. {moving[:3]}")
            last_report = time.monotonic()
        await asyncio.sleep(0.5)


@dataclass
class Verdict:
    """The run's counts, each taken from the side that knows.

    payments: orders WeChat holds as paid. notified / refunded / parked: their state in the ledger (parked
    also counts refunds parked or failed). both: the hospital kept the payment (its records net above zero)
    and WeChat gave money back. applied_twice: a payment the hospital applied more than once (its applied
    count, or two payment records). over_refunded: WeChat returned more than was paid, the ledger's refunds
    add up to more than the online part, or WeChat returned more than the ledger's refunds. reconciliation_
    diffs: the three-way check's differences, unreadable sides and lines still in flight, every day of the run.
    """

    payments: int = 0
    notified: int = 0
    refunded: int = 0
    parked: int = 0
    both: int = 0
    applied_twice: int = 0
    over_refunded: int = 0
    reconciliation_diffs: int = 0
    unsettled: int = 0
    findings: list[str] = field(default_factory=list)
    by_flow: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    after_sale: Counter[str] = field(default_factory=Counter)
    """Refunds of bookings the patient cancelled after the hospital made them, by state."""
    paths: Counter[str] = field(default_factory=Counter)
    """How the payments got where they are (the ledger's reasons), to show the faults were met."""

    @property
    def clean(self) -> bool:
        return (
            self.notified + self.refunded == self.payments
            and not (self.parked or self.both or self.applied_twice or self.over_refunded)
            and not (self.reconciliation_diffs or self.unsettled)
        )

    def line(self) -> str:
        return (
            f"payments={self.payments} notified={self.notified} refunded={self.refunded} parked={self.parked} "
            f"both={self.both} applied_twice={self.applied_twice} over_refunded={self.over_refunded} "
            f"reconciliation_diffs={self.reconciliation_diffs}"
        )


async def hospital_trades(client: httpx.AsyncClient, simulator_url: str, since: datetime) -> dict[str, list[Any]]:
    """Every trade each simulated hospital recorded since the run began (14.2.1), by trade number."""
    trades: dict[str, list[Any]] = defaultdict(list)
    window = {"startTime": f"{since - timedelta(days=1):%Y-%m-%d} 00:00:00", "endTime": "2099-12-31 23:59:59"}
    for hospital_id in HOSPITALS:
        url, extra = his_path(simulator_url, hospital_id, "hospital.interface.reconciliation.detail")
        reply = (await harness_call(client, "POST", url, json=extra | window)).json()
        for row in reply.get("data") or []:
            trades[row["tradeNo"]].append(row)
    return trades


async def judge(
    *,
    db: Database,
    client: httpx.AsyncClient,
    simulator_url: str,
    provider_url: str,
    merchant: dict[str, Any],
    registry_path: Path,
    started: datetime,
    still_moving: list[str],
) -> Verdict:
    verdict = Verdict(unsettled=len(still_moving))
    ledger = await read_ledger(db)
    provider = await provider_ledger(client, provider_url)
    applied_reply = await harness_call(client, "GET", f"{simulator_url}/admin/applied")
    applied: dict[str, int] = Counter()
    for counts in applied_reply.json().values():
        applied.update(counts)
    trades = await hospital_trades(client, simulator_url, started)

    for paid in provider["orders"]:
        if paid["state"] not in PAID_AT_PROVIDER:
            continue
        number = paid["outTradeNo"]
        verdict.payments += 1
        order = ledger.orders.get(number)
        state = OrderState(order.state) if order is not None else None
        flow = order.flow if order is not None else "unknown"
        verdict.by_flow[flow][str(state)] += 1
        if state is OrderState.NOTIFIED:
            verdict.notified += 1
        elif state is OrderState.REFUNDED:
            verdict.refunded += 1
        elif state is OrderState.PARKED:
            verdict.parked += 1
            verdict.findings.append(f"{number} parked: {order.state_reason if order else ''}")
        else:
            verdict.findings.append(f"{number} ends {state}")
        paid_total = Decimal(paid["total"])
        refunded_at_provider = Decimal(paid["refunded"])
        hospital_rows = trades.get(number, [])
        hospital_net = sum((Decimal(row["amount"]) for row in hospital_rows), ZERO)
        payments_at_hospital = [row for row in hospital_rows if Decimal(row["amount"]) > 0]
        if applied.get(number, 0) > 1 or len(payments_at_hospital) > 1:
            verdict.applied_twice += 1
            verdict.findings.append(f"{number} applied {applied.get(number)} times, {len(payments_at_hospital)} rows")
        if hospital_net > 0 and refunded_at_provider > 0:
            verdict.both += 1
            verdict.findings.append(
                f"{number} kept by the hospital ({hospital_net}) and refunded ({refunded_at_provider})"
            )
        ledger_refunds = ledger.refunds.get(order.id, []) if order is not None else []
        taken = sum((r.amount for r in ledger_refunds if r.state not in ("FAILED", "REFUSED")), ZERO)
        succeeded = sum((r.amount for r in ledger_refunds if r.state == RefundState.SUCCEEDED), ZERO)
        online = order.online_amount if order is not None else paid_total
        if refunded_at_provider > paid_total or succeeded > online or refunded_at_provider > taken:
            verdict.over_refunded += 1
            verdict.findings.append(
                f"{number} refunded {refunded_at_provider} at WeChat, {succeeded} in the ledger, of {paid_total}"
            )
        if order is not None and order.online_amount != paid_total:
            verdict.findings.append(f"{number} paid {paid_total}, the ledger says {order.online_amount}")
        for refund in ledger_refunds:
            if state is OrderState.NOTIFIED:
                verdict.after_sale[refund.state] += 1
            if refund.state in ("PARKED", "FAILED"):
                verdict.parked += 1
                verdict.findings.append(f"{refund.out_refund_no} refund {refund.state}")

    verdict.paths = await paths(db)
    verdict.reconciliation_diffs = await reconciliation_diffs(
        db=db, merchant=merchant, registry_path=registry_path, started=started, findings=verdict.findings
    )
    return verdict


PATHS = {
    "14.2.2 shows the payment applied": "applied, reply lost, found by 14.2.2",
    "13.1.1 answered refundable": "refused by the hospital, 13.1.1 refundable, refunded",
}


async def paths(db: Database) -> Counter[str]:
    """Counts of the ledger's telling events and of the sagas' retried steps."""
    found: Counter[str] = Counter()
    async with db.session() as session:
        for (reason,) in (await session.execute(select(OrderEvent.reason))).tuples():
            for marker, name in PATHS.items():
                if marker in reason:
                    found[name] += 1
        jobs = (await session.execute(select(OutboxJob.kind, OutboxJob.attempts, OutboxJob.last_error))).tuples()
        for kind, attempts, last_error in jobs:
            if attempts > 1:
                found[f"{kind} tried more than once"] += 1
            if last_error and "meanwhile" in last_error:
                found[f"{kind} found its order moved on meanwhile"] += 1
    return found


async def reconciliation_diffs(
    *, db: Database, merchant: dict[str, Any], registry_path: Path, started: datetime, findings: list[str]
) -> int:
    """The gateway's own three-way check (ledger, WeChat's trade bill, 14.2.x) for every day of the run."""
    first = started.astimezone(CHINA_TIME).date()
    last = datetime.now(CHINA_TIME).date()
    provider = WeChatPayProvider(WeChatPayConfig.model_validate(merchant))
    diffs = 0
    try:
        async with HisClient(Registry.load(registry_path)) as his:
            check = ThreeWayCheck(db=db, provider=provider, hospitals=HisHospitalRecords(his))
            day = first
            while day <= last:
                report = await check.run(day, list(HOSPITALS))
                diffs += len(report.mismatches) + len(report.hospital_errors) + len(report.in_flight)
                diffs += report.provider_error is not None
                findings += [
                    f"{day} {m.kind} {m.out_trade_no} {m.out_refund_no or ''} {m.detail}" for m in report.mismatches
                ]
                findings += [f"{day} hospital {h}: {e}" for h, e in report.hospital_errors.items()]
                findings += [f"{day} still in flight: {line.out_trade_no}" for line in report.in_flight]
                if report.provider_error:
                    findings.append(f"{day} provider: {report.provider_error}")
                day += timedelta(days=1)
    finally:
        await provider.aclose()
    return diffs
