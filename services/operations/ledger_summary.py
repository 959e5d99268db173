"""Money figures from the ledger alone (issue 15 item 3): no hospital and no provider is asked.

Orders are counted by when they were made (``created_at``), grouped by any of hospital, flow, Beijing day and
state. Per group: orders paid (the provider's paid notification recorded) and the online amount taken; refunds
that succeeded and their amount; orders in flight (PAID or REFUNDING: money taken, the hospital or the provider
not done yet) and parked ones (PARKED: waiting for an operator). Amounts are Decimal, two places, summed in
Python (SQLite keeps them as exact text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from services.payments.clock import CHINA_TIME
from store.db import Database
from store.orders import CENT, Order, OrderState, Refund, RefundState

IN_FLIGHT = frozenset({OrderState.PAID, OrderState.REFUNDING})


class GroupBy(StrEnum):
    HOSPITAL = "HOSPITAL"
    FLOW = "FLOW"
    DAY = "DAY"
    STATE = "STATE"


@dataclass(slots=True)
class Figures:
    hospital_id: str | None = None
    flow: str | None = None
    day: str | None = None
    state: str | None = None
    order_count: int = 0
    paid_count: int = 0
    paid_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    refunded_count: int = 0
    refunded_amount: Decimal = field(default_factory=lambda: Decimal("0.00"))
    in_flight_count: int = 0
    parked_count: int = 0

    def add(self, order: Order, refunds: list[Refund]) -> None:
        self.order_count += 1
        if order.paid_at is not None:
            self.paid_count += 1
            self.paid_amount = (self.paid_amount + order.online_amount).quantize(CENT)
        for refund in refunds:
            if refund.state == RefundState.SUCCEEDED:
                self.refunded_count += 1
                self.refunded_amount = (self.refunded_amount + refund.amount).quantize(CENT)
        if order.state in IN_FLIGHT:
            self.in_flight_count += 1
        if order.state == OrderState.PARKED:
            self.parked_count += 1


@dataclass(frozen=True, slots=True)
class Summary:
    groups: list[Figures]
    total: Figures


async def ledger_summary(
    db: Database,
    *,
    since: datetime | None,
    until: datetime | None,
    hospital_id: str | None,
    group_by: list[GroupBy],
) -> Summary:
    query = select(Order)
    if hospital_id is not None:
        query = query.where(Order.hospital_id == hospital_id)
    if since is not None:
        query = query.where(Order.created_at >= since)
    if until is not None:
        query = query.where(Order.created_at <= until)
    async with db.session() as session:
        orders = list((await session.execute(query.order_by(Order.id))).scalars())
        refunds: dict[int, list[Refund]] = {}
        ids = [o.id for o in orders]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for refund in (await session.execute(select(Refund).where(Refund.order_id.in_(chunk)))).scalars():
                refunds.setdefault(refund.order_id, []).append(refund)
    wanted = set(group_by)
    groups: dict[tuple[str | None, ...], Figures] = {}
    total = Figures()
    for order in orders:
        key = Figures(
            hospital_id=order.hospital_id if GroupBy.HOSPITAL in wanted else None,
            flow=order.flow if GroupBy.FLOW in wanted else None,
            day=order.created_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d") if GroupBy.DAY in wanted else None,
            state=order.state if GroupBy.STATE in wanted else None,
        )
        index = (key.hospital_id, key.flow, key.day, key.state)
        group = groups.setdefault(index, key)
        mine = refunds.get(order.id, [])
        group.add(order, mine)
        total.add(order, mine)
    ordered = sorted(groups.items(), key=lambda item: tuple(part or "" for part in item[0]))
    return Summary(groups=[figures for _, figures in ordered] if wanted else [], total=total)
