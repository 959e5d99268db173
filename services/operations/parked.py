"""An operator decides what becomes of an order no automatic step could settle (issue 15 item 2).

Orders an operator may act on: PARKED ones, and PAID ones whose pending job (telling the hospital, asking
13.1.1) has run past its retry window. Three outcomes:

- ``MARK_NOTIFIED``: the hospital has the payment. 14.2.2 is asked first and must list the order as a
  complete trade; otherwise refused. PARKED/PAID -> NOTIFIED; the order's pending jobs end.
- ``REFUND``: the money goes back. Refused when 14.2.2 lists the payment at the hospital, or gives no answer
  (no evidence either way). PARKED/PAID -> REFUNDING, one refund of what is left of the online part (never more:
  store.orders refuses a refund beyond it, so nothing is refunded twice), and the worker's ``provider_refund``
  job; the provider is never called from here.
- ``RETRY_NOTIFY``: tell the hospital again. PARKED -> PAID (PAID stays PAID) and a fresh ``notify_his`` job
  with a new retry window; the worker does the rest, asking 14.2.2 on any failure as it always does. Refused
  when 14.2.2 already lists the payment (mark it notified instead), and when the provider took another amount
  than the order's (the hospital would be told the wrong amount).

Region operators may use every outcome; hospital operators only their own hospital's orders, and not REFUND.
The order's version must be the one the operator saw (optimistic: a stale version is refused), checked again
under the row lock. The decision, the evidence and the operator's note are written to the audit trail in the
same transaction as the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from his_clients.client import HisClient
from his_clients.errors import HisError, HisNoData
from his_clients.models.reconciliation import (
    RECONCILIATION_QUERY_BY_OUT_TRADE_NO,
    ReconciliationQueryByOutTradeNoRequest,
    TradeOrder,
)
from services.audit import record
from services.identity.principal import OperatorPrincipal
from services.payments.orders import NOTIFY_HIS
from services.payments.worker import PROVIDER_REFUND_JOB, REFUND_QUERY_JOB
from services.refusals import RefusalCode, Refused
from store.db import Database
from store.orders import (
    RELEASED_REFUND_STATES,
    Order,
    OrderRepository,
    OrderState,
    OutboxRepository,
    refundable_left,
)

from .ledger_reads import LedgerOrder, load_order_details, window_ended

AUDIT_ACTION = "parked-order-resolved"
ENDED_BY_OPERATOR = (NOTIFY_HIS, REFUND_QUERY_JOB)
"""Pending jobs an operator's decision ends (what they would have decided on their own)."""


class Outcome(StrEnum):
    MARK_NOTIFIED = "MARK_NOTIFIED"
    REFUND = "REFUND"
    RETRY_NOTIFY = "RETRY_NOTIFY"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What 14.2.2 said about the order when the operator acted."""

    asked_at: datetime
    answered: bool
    """False: the hospital gave no usable answer (down, timeout, an error code)."""
    trades: list[TradeOrder] = field(default_factory=list)
    error_code: str | None = None

    @property
    def hospital_has_payment(self) -> bool | None:
        if not self.answered:
            return None
        return any(trade.complete for trade in self.trades)

    def as_detail(self) -> dict[str, Any]:
        return {
            "section": "14.2.2",
            "answered": self.answered,
            "hospitalHasPayment": self.hospital_has_payment,
            "errorCode": self.error_code,
            "trades": [
                {"tradeNo": t.trade_no, "amount": str(t.amount), "complete": t.complete, "tradeTime": t.trade_time}
                for t in self.trades
            ],
        }


@dataclass(frozen=True, slots=True)
class Resolved:
    order: LedgerOrder
    evidence: Evidence | None
    from_state: str


class ResolveRefused(Refused):
    """The decision was not carried out (nothing changed): NOT_FOUND, NOT_ACTIONABLE, REGION_ONLY, STALE_VERSION,
    NO_EVIDENCE, HOSPITAL_HAS_PAYMENT, HOSPITAL_LACKS_PAYMENT or NOTHING_TO_REFUND, with the 14.2.2 answer that
    refused it when the hospital was asked (``evidence``)."""

    def __init__(self, code: RefusalCode, message: str, evidence: Evidence | None = None) -> None:
        super().__init__(code, message)
        self.evidence = evidence


async def ask_hospital(his: HisClient, order: Order, *, deadline: float | None) -> Evidence:
    """14.2.2 for the order's number at its hospital; a failure is evidence of nothing."""
    now = datetime.now(UTC)
    request = ReconciliationQueryByOutTradeNoRequest(trade_no=order.out_trade_no)
    try:
        trades = await his.call(RECONCILIATION_QUERY_BY_OUT_TRADE_NO, order.hospital_id, request, deadline=deadline)
    except HisNoData:
        return Evidence(asked_at=now, answered=True)
    except HisError as error:
        return Evidence(asked_at=now, answered=False, error_code=str(error.code))
    mine = [trade for trade in trades if trade.trade_no == order.out_trade_no]
    return Evidence(asked_at=now, answered=True, trades=mine)


async def resolve_parked_order(
    *,
    db: Database,
    his: HisClient,
    actor: OperatorPrincipal,
    out_trade_no: str,
    outcome: Outcome,
    note: str,
    expected_version: int,
    deadline: float | None,
) -> Resolved:
    """Carry out an operator's decision on one order, or raise ResolveRefused and change nothing."""
    async with db.session() as session:
        order = await OrderRepository(session).get(out_trade_no)
        if order is None or not actor.may_see(order.hospital_id):
            raise ResolveRefused(RefusalCode.NOT_FOUND, f"no order {out_trade_no} among the hospitals you see")
        ledger = (await load_order_details(session, [order]))[0]
    _check_actionable(ledger, actor, outcome, expected_version)

    evidence = await ask_hospital(his, order, deadline=deadline)
    has = evidence.hospital_has_payment
    if outcome is Outcome.MARK_NOTIFIED and has is not True:
        code = RefusalCode.NO_EVIDENCE if has is None else RefusalCode.HOSPITAL_LACKS_PAYMENT
        why = "14.2.2 gave no answer" if has is None else "14.2.2 does not list the payment as complete"
        raise ResolveRefused(code, f"not marked notified: {why}", evidence)
    if outcome is Outcome.RETRY_NOTIFY and has is True:
        raise ResolveRefused(
            RefusalCode.HOSPITAL_HAS_PAYMENT,
            "not sent again: 14.2.2 shows the hospital has it (mark it notified)",
            evidence,
        )
    if outcome is Outcome.REFUND and has is not False:
        code = RefusalCode.NO_EVIDENCE if has is None else RefusalCode.HOSPITAL_HAS_PAYMENT
        why = "14.2.2 gave no answer" if has is None else "14.2.2 shows the hospital has the payment"
        raise ResolveRefused(code, f"not refunded: {why}", evidence)

    now = datetime.now(UTC)
    async with db.session() as session:
        orders, outbox = OrderRepository(session), OutboxRepository(session)
        locked = await orders.get(out_trade_no, for_update=True)
        if locked is None or locked.version != expected_version or locked.state != order.state:
            raise ResolveRefused(RefusalCode.STALE_VERSION, "the order changed meanwhile: read it again", evidence)
        from_state = locked.state
        who = actor.username or f"operator-{actor.operator_id}"
        detail: dict[str, Any] = {"outcome": outcome.value, "fromState": from_state, "version": expected_version}
        detail["evidence"] = evidence.as_detail()
        if outcome is Outcome.REFUND:
            await _refund(orders, outbox, locked, who=who, now=now, paid=paid_other_amount(ledger))
        else:
            await _end_jobs(outbox, locked.id, now, f"ended by {who}: {outcome.value}")
            if outcome is Outcome.MARK_NOTIFIED:
                locked.notified_at = now
                await orders.transition(
                    locked, OrderState.NOTIFIED, reason=f"{who}: 14.2.2 shows the payment applied", at=now
                )
            else:
                if locked.state == OrderState.PARKED:
                    await orders.transition(locked, OrderState.PAID, reason=f"{who}: tell the hospital again", at=now)
                else:
                    locked.state_reason = f"{who}: tell the hospital again"
                    locked.updated_at = now
                retries = len(await outbox.for_order(locked.id))
                await outbox.enqueue(
                    kind=NOTIFY_HIS,
                    dedupe_key=f"{NOTIFY_HIS}:{locked.out_trade_no}:op{retries}",
                    order_id=locked.id,
                    at=now,
                )
        detail["toState"] = locked.state
        if note:
            detail["note"] = note[:500]
        record(
            session, actor, AUDIT_ACTION, hospital_id=locked.hospital_id, target=f"order {out_trade_no}", detail=detail
        )
        await session.flush()
        resolved = (await load_order_details(session, [locked]))[0]
    return Resolved(order=resolved, evidence=evidence, from_state=from_state)


PAID_OTHER_AMOUNT = re.compile(r": paid (\d+\.\d{2}), order says ")
"""The ledger's reason when the provider took another amount than the order's (services/payments/orders.py)."""


def paid_other_amount(ledger: LedgerOrder) -> Decimal | None:
    """What the provider actually took, when it was not the order's online amount; None when it was."""
    for event in ledger.events:
        found = PAID_OTHER_AMOUNT.search(event.reason)
        if found:
            return Decimal(found.group(1))
    return None


def _check_actionable(ledger: LedgerOrder, actor: OperatorPrincipal, outcome: Outcome, expected_version: int) -> None:
    order = ledger.order
    if order.state != OrderState.PARKED and not window_ended(ledger, datetime.now(UTC)):
        raise ResolveRefused(
            RefusalCode.NOT_ACTIONABLE,
            f"order {order.out_trade_no} is {order.state}: only a parked order, or one whose retry window has "
            "ended, waits for an operator",
        )
    if outcome is Outcome.REFUND and actor.role != "region":
        raise ResolveRefused(RefusalCode.REGION_ONLY, "a refund needs a region operator")
    if order.paid_at is None:
        raise ResolveRefused(RefusalCode.NOT_ACTIONABLE, f"order {order.out_trade_no} was never paid")
    if outcome is Outcome.RETRY_NOTIFY and paid_other_amount(ledger) is not None:
        raise ResolveRefused(
            RefusalCode.NOT_ACTIONABLE,
            "the provider took another amount than the order's: telling the hospital would misstate it (refund it, "
            "or mark it notified once the hospital has it)",
        )
    if order.version != expected_version:
        raise ResolveRefused(
            RefusalCode.STALE_VERSION, f"the order is at version {order.version}, not {expected_version}: read it again"
        )


async def _end_jobs(outbox: OutboxRepository, order_id: int, now: datetime, why: str) -> None:
    for job in await outbox.for_order(order_id):
        if job.state == "PENDING" and job.kind in ENDED_BY_OPERATOR:
            job.last_error = why
            OutboxRepository.finish(job, at=now)


async def _refund(
    orders: OrderRepository, outbox: OutboxRepository, order: Order, *, who: str, now: datetime, paid: Decimal | None
) -> None:
    existing = await orders.refunds(order)
    taken = [r.amount for r in existing if r.state not in RELEASED_REFUND_STATES]
    left = refundable_left(order.online_amount if paid is None else min(paid, order.online_amount), taken)
    if left <= Decimal("0"):
        raise ResolveRefused(RefusalCode.NOTHING_TO_REFUND, "nothing paid online is left to refund")
    await _end_jobs(outbox, order.id, now, f"ended by {who}: REFUND")
    await orders.transition(order, OrderState.REFUNDING, reason=f"{who}: refund, 14.2.2 shows no payment", at=now)
    number = f"{order.out_trade_no}-RF" if not existing else f"{order.out_trade_no}-RF{len(existing) + 1}"
    refund = await orders.add_refund(
        order, out_refund_no=number, amount=left, reason="an operator returned the payment", at=now
    )
    await outbox.enqueue(
        kind=PROVIDER_REFUND_JOB,
        dedupe_key=f"{PROVIDER_REFUND_JOB}:{refund.out_refund_no}",
        order_id=order.id,
        refund_id=refund.id,
        at=now,
    )
