"""What a hospital asks about, or does to, our insurance orders: 5.2.1, and chapter 6's 6.1.1 / 6.1.2.

5.2.1 撤销订单: "院内在窗口取消订单时，调用公众号系统撤销订单接口 ...
（当医保结算所有流程已完成，调用接口返回取消失败）".
The order is found by the hospital's hisTradeId among the caller's insurance orders; what happens depends
on where it stands in our ledger:

- CREATED (not paid): the provider's trade is closed first (it can no longer be paid), then CANCELLED.
  A provider that says the trade is paid already (its notification is on the way), or cannot be
  reached, leaves the order as it was: "processing", the hospital asks again.
- PAID (the self-pay part is paid, the hospital not yet told): the hospital has undone the order at its
  window, so 5.1.4 is not sent again (the pending job is closed) and chapter 5's refund path runs at
  once: 5.1.6 decides (the saga in services.payments.sagas.insurance), refundable -> REFUNDED.
- REFUNDING / REFUNDED, CANCELLED: done already (asking twice is asking once).
- NOTIFIED: all of the settlement is done: "取消失败".
- PARKED: operators decide; our state is uncertain.

Chapter 6 is deprecated (淄博专版，已废弃) and has no flow of its own: 6.1.1 answers whether an insurance
order's self-pay part was paid, from the ledger; 6.1.2 (撤销诊间医保自费部分) cancels as 5.2.1 does.

Each change is written in ONE transaction with the call's row in the inbound ledger. Jobs are locked
before the order, in the order the payment worker locks them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.payments.clock import spec_time
from services.payments.entry_insurance import close_trade
from services.payments.orders import NOTIFY_HIS
from services.payments.providers.base import PaymentProvider
from services.payments.sagas.base import pay_type
from services.payments.sagas.insurance import HIS_TRADE_ID, InsuranceFlow
from services.payments.worker import REFUND_QUERY_JOB
from store.db import Database
from store.inbound import InboundLedger
from store.orders import Order, OrderRepository, OrderState
from store.outbox import JobState, OutboxJob, OutboxRepository

from .ledger import ShimCall, mask_json

HOSPITAL_CANCELLED = "the hospital cancelled the insurance order"


class Cancellation(StrEnum):
    """How a hospital's cancellation of an insurance order ended."""

    CANCELLED = "cancelled"
    """Not paid: closed at the provider and CANCELLED (now or before)."""
    REFUNDING = "refunding"
    """Paid: 5.1.6 decides and the online part goes back when refundable (or it is going, or gone, back)."""
    COMPLETED = "completed"
    """NOTIFIED: the whole settlement is done, the order cannot be cancelled."""
    UNCERTAIN = "uncertain"
    """PARKED: operators decide."""
    PROCESSING = "processing"
    """The provider has the payment but we have not recorded it yet, or could not be reached: ask again."""
    UNKNOWN = "unknown"
    """No insurance order of the calling hospital has this hisTradeId."""


ReplyOf = Callable[[Cancellation], dict[str, Any]]

_MONEY_MOVED = (OrderState.PAID, OrderState.NOTIFIED, OrderState.REFUNDING, OrderState.REFUNDED, OrderState.PARKED)


async def _find(session: AsyncSession, hospital_id: str, his_trade_id: str) -> Order | None:
    """The caller's insurance order with this hisTradeId: one paid for, else the latest (others were superseded)."""
    query = (
        select(Order)
        .where(
            Order.hospital_id == hospital_id,
            Order.flow == InsuranceFlow.name,
            Order.quote[HIS_TRADE_ID].as_string() == his_trade_id,
        )
        .order_by(Order.id.desc())
    )
    orders = list((await session.execute(query)).scalars())
    return next((o for o in orders if o.state in _MONEY_MOVED), orders[0] if orders else None)


async def _record(session: AsyncSession, call: ShimCall, reply: dict[str, Any], out_trade_no: str | None) -> None:
    noted = reply if out_trade_no is None else {**reply, "outTradeNo": out_trade_no}
    await InboundLedger(session).add(
        section=call.section,
        path=call.path,
        hospital_id=call.hospital_id,
        body=mask_json(call.body),
        reply_code=str(reply.get("code", "")),
        reply=mask_json(noted),
        received_at=call.received_at,
    )


async def cancel_insurance_order(
    db: Database, provider: PaymentProvider, call: ShimCall, *, his_trade_id: str, reply_of: ReplyOf
) -> tuple[Cancellation, dict[str, Any]]:
    """5.2.1 / 6.1.2: the hospital cancels its insurance order; the outcome and the reply sent (recorded).

    UNKNOWN is not recorded here: the caller refuses the call (10002), and its refusal is recorded.
    """
    assert call.hospital_id is not None
    async with db.session() as session:
        found = await _find(session, call.hospital_id, his_trade_id)
    if found is None:
        return Cancellation.UNKNOWN, reply_of(Cancellation.UNKNOWN)
    # Paid at the provider meanwhile, or no answer: nothing changes now ("processing").
    closed = found.state != OrderState.CREATED or await close_trade(provider, found.out_trade_no)
    for attempt in range(2):
        try:
            return await _cancel(db, call, found.id, closed=closed, reply_of=reply_of)
        except StaleDataError:
            # The payment worker wrote the order meanwhile (its version moved): read it again.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _cancel(
    db: Database, call: ShimCall, order_id: int, *, closed: bool, reply_of: ReplyOf
) -> tuple[Cancellation, dict[str, Any]]:
    at = call.received_at
    async with db.session() as session:
        orders, outbox = OrderRepository(session), OutboxRepository(session)
        jobs = list(
            (
                await session.execute(
                    select(OutboxJob).where(OutboxJob.order_id == order_id).order_by(OutboxJob.id).with_for_update()
                )
            ).scalars()
        )
        order = await orders.get_by_id(order_id, for_update=True)
        assert order is not None
        state = OrderState(order.state)
        if state is OrderState.CREATED and closed:
            await orders.transition(order, OrderState.CANCELLED, reason=f"{HOSPITAL_CANCELLED} (5.2.1)", at=at)
            outcome = Cancellation.CANCELLED
        elif state is OrderState.CREATED:
            outcome = Cancellation.PROCESSING
        elif state is OrderState.PAID:
            for job in jobs:
                if job.kind == NOTIFY_HIS and job.state == JobState.PENDING:
                    job.last_error = HOSPITAL_CANCELLED
                    OutboxRepository.finish(job, at=at)
            if not any(job.kind == REFUND_QUERY_JOB for job in jobs):
                await outbox.enqueue(
                    kind=REFUND_QUERY_JOB,
                    dedupe_key=f"{REFUND_QUERY_JOB}:{order.out_trade_no}",
                    order_id=order.id,
                    at=at,
                )
            order.state_reason = f"{HOSPITAL_CANCELLED} (5.2.1): 5.1.6 decides the refund"
            order.updated_at = at
            outcome = Cancellation.REFUNDING
        else:
            outcome = {
                OrderState.CANCELLED: Cancellation.CANCELLED,
                OrderState.REFUNDING: Cancellation.REFUNDING,
                OrderState.REFUNDED: Cancellation.REFUNDING,
                OrderState.NOTIFIED: Cancellation.COMPLETED,
                OrderState.PARKED: Cancellation.UNCERTAIN,
            }[state]
        reply = reply_of(outcome)
        await _record(session, call, reply, order.out_trade_no)
        return outcome, reply


@dataclass(frozen=True, slots=True)
class InsurancePaymentStatus:
    """6.1.1: whether an insurance order's self-pay part was paid, and how."""

    paid: bool
    """Paid and not given back (PAID, NOTIFIED, or PARKED with the money)."""
    medical_card_number: str
    out_trade_no: str
    amount: Decimal
    """The self-pay part: online + card balance."""
    balance_payment: Decimal
    pay_time: str
    """yyyy-MM-dd HH:mm:ss, empty when not paid."""
    pay_type: str
    his_trade_id: str


async def insurance_payment_status(db: Database, call: ShimCall, *, his_trade_id: str) -> InsurancePaymentStatus | None:
    """6.1.1 from the ledger; None when the calling hospital has no insurance order with this hisTradeId."""
    assert call.hospital_id is not None
    async with db.session() as session:
        order = await _find(session, call.hospital_id, his_trade_id)
    if order is None:
        return None
    paid_at: datetime | None = order.paid_at
    paid = paid_at is not None and order.state in (OrderState.PAID, OrderState.NOTIFIED, OrderState.PARKED)
    return InsurancePaymentStatus(
        paid=paid,
        medical_card_number=order.medical_card_number,
        out_trade_no=order.out_trade_no,
        amount=order.online_amount + order.balance_payment,
        balance_payment=order.balance_payment,
        pay_time=spec_time(paid_at) if paid and paid_at is not None else "",
        pay_type=pay_type(order),
        his_trade_id=his_trade_id,
    )
