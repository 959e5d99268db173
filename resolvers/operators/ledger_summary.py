"""operator { ledgerSummary }: money figures from the ledger alone (issue 15 item 3)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated

import strawberry

from services.operations.ledger_summary import Figures, GroupBy, ledger_summary

from ..arguments import MaybeFromTime, MaybeToTime
from ..context import Info
from ..payments.orders import PaidFor
from ..scalars import Money
from .orders import LedgerOrderState, scoped_hospital, signed_in, window


@strawberry.enum(description="What ledgerSummary groups its figures by.")
class LedgerGroupBy(Enum):
    HOSPITAL = strawberry.enum_value(GroupBy.HOSPITAL.value, description="One group per hospital.")
    FLOW = strawberry.enum_value(GroupBy.FLOW.value, description="One group per flow (outpatient, recharge, ...).")
    DAY = strawberry.enum_value(GroupBy.DAY.value, description="One group per day the order was made, Beijing time.")
    STATE = strawberry.enum_value(GroupBy.STATE.value, description="One group per order state.")


@strawberry.type(description="Money figures of a group of orders (or of all of them).")
class LedgerFigures:
    hospital_id: strawberry.ID | None = strawberry.field(
        description="The group's hospital; null when not grouped by it."
    )
    flow: PaidFor | None = strawberry.field(description="The group's flow; null when not grouped by it.")
    day: date | None = strawberry.field(description="The group's day, Beijing; null when not grouped by it.")
    state: LedgerOrderState | None = strawberry.field(
        description="The group's order state; null when not grouped by it."
    )
    order_count: int = strawberry.field(description="Orders made in the window.")
    paid_count: int = strawberry.field(description="Of them, orders paid (the provider's notification recorded).")
    paid_amount: Money = strawberry.field(description="What was paid online for them, in yuan (two places).")
    refunded_count: int = strawberry.field(description="Refunds of them that succeeded.")
    refunded_amount: Money = strawberry.field(description="What those refunds returned, in yuan (two places).")
    in_flight_count: int = strawberry.field(
        description="Orders PAID or REFUNDING: money taken, the hospital or the provider not done yet."
    )
    parked_count: int = strawberry.field(description="Orders PARKED: waiting for an operator.")

    @classmethod
    def of(cls, f: Figures) -> LedgerFigures:
        return cls(
            hospital_id=strawberry.ID(f.hospital_id) if f.hospital_id else None,
            flow=PaidFor.of(f.flow) if f.flow else None,
            day=date.fromisoformat(f.day) if f.day else None,
            state=LedgerOrderState(f.state) if f.state else None,
            order_count=f.order_count,
            paid_count=f.paid_count,
            paid_amount=Money(f.paid_amount),
            refunded_count=f.refunded_count,
            refunded_amount=Money(f.refunded_amount),
            in_flight_count=f.in_flight_count,
            parked_count=f.parked_count,
        )


@strawberry.type(description="The ledger's money figures over a window, per group and in total.")
class LedgerSummary:
    groups: list[LedgerFigures] = strawberry.field(description="One entry per group; empty when not grouped.")
    total: LedgerFigures = strawberry.field(description="Every order of the window together.")


async def summary(
    info: Info,
    from_: MaybeFromTime = None,
    to: MaybeToTime = None,
    hospital_id: Annotated[
        strawberry.ID | None, strawberry.argument(description="Only this hospital (a hospital operator: their own).")
    ] = None,
    group_by: Annotated[
        list[LedgerGroupBy] | None, strawberry.argument(description="Group by any of these; none: totals only.")
    ] = None,
) -> LedgerSummary:
    principal = signed_in(info)
    since, until = window(from_, to)
    found = await ledger_summary(
        info.context.services.db,
        since=since,
        until=until,
        hospital_id=scoped_hospital(principal, hospital_id),
        group_by=[GroupBy(str(g.value)) for g in group_by or []],
    )
    return LedgerSummary(groups=[LedgerFigures.of(g) for g in found.groups], total=LedgerFigures.of(found.total))


ledger_summary_field = strawberry.field(
    resolver=summary,
    description=(
        "Paid and refunded counts and amounts, in-flight and parked counts, per group and in total, of the orders "
        "made in a window. Reads the ledger alone: it answers while a hospital or the payment provider is down. A "
        "hospital operator sees only their hospital."
    ),
)
