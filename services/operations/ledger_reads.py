"""Reading the money ledger for operators: orders with their events, outbox jobs and refunds (issue 15 item 1).

Reads only: every write to the ledger goes through store.orders and the outbox worker. Orders come newest
first (by id), paged by a cursor that is the last order's id; a hospital operator's reads are confined to
their hospital by the caller passing ``hospital_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from services.payments.after_sale import after_sale_note
from services.payments.orders import NOTIFY_HIS, RELEASE_HELD
from services.payments.sagas import FLOWS
from services.payments.worker import REFUND_QUERY_JOB, RELEASE_WINDOW
from store.db import Database
from store.orders import Order, OrderEvent, OutboxJob, Refund


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Which orders: each field left None does not filter."""

    hospital_id: str | None = None
    state: str | None = None
    flow: str | None = None
    out_trade_no: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class LedgerRefund:
    refund: Refund
    his_refund_no: str | None


@dataclass(frozen=True, slots=True)
class LedgerJob:
    job: OutboxJob
    window_ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class LedgerOrder:
    order: Order
    events: list[OrderEvent]
    jobs: list[LedgerJob]
    refunds: list[LedgerRefund]

    @property
    def current_job(self) -> LedgerJob | None:
        """The job still to run, else the last one run."""
        pending = [j for j in self.jobs if j.job.state == "PENDING"]
        if pending:
            return pending[-1]
        return self.jobs[-1] if self.jobs else None


@dataclass(frozen=True, slots=True)
class OrderPage:
    orders: list[LedgerOrder]
    total_count: int
    has_next_page: bool


def retry_window_end(order: Order, job: OutboxJob) -> datetime | None:
    """When the job stops retrying on its own and leaves the order to what its flow prescribes (None: never)."""
    flow = FLOWS.get(order.flow)
    if job.kind == NOTIFY_HIS and flow is not None:
        return job.started_at + flow.policy.notify_window
    if job.kind == REFUND_QUERY_JOB and flow is not None:
        return job.started_at + flow.policy.refund_query_window
    if job.kind == RELEASE_HELD:
        return job.started_at + RELEASE_WINDOW
    return None


def _filtered(query: Select[Any], where: OrderFilter) -> Select[Any]:
    if where.hospital_id is not None:
        query = query.where(Order.hospital_id == where.hospital_id)
    if where.state is not None:
        query = query.where(Order.state == where.state)
    if where.flow is not None:
        query = query.where(Order.flow == where.flow)
    if where.out_trade_no is not None:
        query = query.where(Order.out_trade_no == where.out_trade_no)
    if where.since is not None:
        query = query.where(Order.created_at >= where.since)
    if where.until is not None:
        query = query.where(Order.created_at <= where.until)
    return query


async def load_order_details(session: Any, orders: list[Order]) -> list[LedgerOrder]:
    """Each order with its events, jobs and refunds: three queries for the whole page."""
    ids = [order.id for order in orders]
    events: dict[int, list[OrderEvent]] = {i: [] for i in ids}
    jobs: dict[int, list[OutboxJob]] = {i: [] for i in ids}
    refunds: dict[int, list[Refund]] = {i: [] for i in ids}
    if ids:
        for event in (
            await session.execute(select(OrderEvent).where(OrderEvent.order_id.in_(ids)).order_by(OrderEvent.id))
        ).scalars():
            events[event.order_id].append(event)
        for job in (
            await session.execute(select(OutboxJob).where(OutboxJob.order_id.in_(ids)).order_by(OutboxJob.id))
        ).scalars():
            jobs[job.order_id or 0].append(job)
        for refund in (
            await session.execute(select(Refund).where(Refund.order_id.in_(ids)).order_by(Refund.id))
        ).scalars():
            refunds[refund.order_id].append(refund)
    return [
        LedgerOrder(
            order=order,
            events=events[order.id],
            jobs=[LedgerJob(job=job, window_ends_at=retry_window_end(order, job)) for job in jobs[order.id]],
            refunds=[
                LedgerRefund(refund=r, his_refund_no=after_sale_note(order, r.out_refund_no).get("his_refund_no"))
                for r in refunds[order.id]
            ],
        )
        for order in orders
    ]


async def order_page(db: Database, where: OrderFilter, *, first: int, after_id: int | None) -> OrderPage:
    """Up to ``first`` orders matching ``where``, newest first, older than ``after_id`` when given."""
    async with db.session() as session:
        total = await session.scalar(_filtered(select(func.count()).select_from(Order), where)) or 0
        query = _filtered(select(Order), where).order_by(Order.id.desc()).limit(first + 1)
        if after_id is not None:
            query = query.where(Order.id < after_id)
        found = list((await session.execute(query)).scalars())
        more = len(found) > first
        detailed = await load_order_details(session, found[:first])
    return OrderPage(orders=detailed, total_count=int(total), has_next_page=more)


def window_ended(ledger: LedgerOrder, now: datetime) -> bool:
    """An in-flight (PAID) order whose pending job's retry window has ended: it waits on an operator too."""
    if ledger.order.state != "PAID":
        return False
    for item in ledger.jobs:
        if item.job.state == "PENDING" and item.window_ends_at is not None and item.window_ends_at <= now:
            return True
    return False


__all__ = [
    "LedgerJob",
    "LedgerOrder",
    "LedgerRefund",
    "OrderFilter",
    "OrderPage",
    "load_order_details",
    "order_page",
    "retry_window_end",
    "window_ended",
]
