"""Entry points after payment: card-balance refunds (chapter 8), cancelling a paid booking, reading refunds.

They only write the refunds and their outbox jobs; the worker carries them out (services.payments.after_sale).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from his_clients.models.card_balance import GET_REFUND_BALANCE, GetRefundBalanceRequest
from services.refusals import RefusalCode
from store.db import Database
from store.orders import (
    RELEASED_REFUND_STATES,
    Order,
    OrderRepository,
    OrderState,
    Refund,
    RefundState,
    refundable_left,
)
from store.outbox import OutboxRepository

from .after_sale import CARD_REFUND_JOB, HIS_CANCEL_JOB
from .clock import CHINA_TIME, Clock
from .entry_base import HospitalAsk
from .results import CENT, LARGEST, CardRefundRequested, RefundNotPossible, RefundSummary, UnknownOrder
from .sagas import FLOWS, cancellable
from .sagas import card_refund as chapter8
from .sagas.recharge import RechargeFlow


def new_refund_no(now: datetime) -> str:
    """`RE251126100000a1b2c3`: the refund number, chosen once, sent on every 8.1.2 try and to the provider."""
    return f"{chapter8.REFUND_NUMBER_PREFIX}{now.astimezone(CHINA_TIME):%y%m%d%H%M%S}{secrets.token_hex(4)}"


async def request_card_refund(
    ask: HospitalAsk,
    db: Database,
    clock: Clock,
    *,
    hospital_id: str,
    medical_card_number: str,
    amount: Decimal | None,
    id_card: str | None,
) -> CardRefundRequested:
    """The user takes back card balance (chapter 8): `amount` yuan, or all 8.1.1 calls refundable.

    8.1.1 lists the recharge orders the refundable balance came from; each one we took (a NOTIFIED
    recharge order of this card) gets one refund, never more than 8.1.1 says is left of it nor
    more than is left of its payment. The refunds and their 8.1.2 jobs are written in one
    transaction; the worker carries them out (services.payments.after_sale).
    """
    if amount is not None and (not amount.is_finite() or abs(amount) >= LARGEST or amount.quantize(CENT) != amount):
        raise RefundNotPossible(
            "the amount is no amount of money",
            code=RefusalCode.PARAMETER_FORMAT,
            message="退款金额须为最多两位小数的金额",
            field="amount",
        )
    refundable = await ask.his.call(
        GET_REFUND_BALANCE,
        hospital_id,
        GetRefundBalanceRequest(medical_card_number=medical_card_number, id_card=id_card),
        deadline=ask.deadline(),
    )
    wanted = refundable.balance if amount is None else amount
    if wanted <= 0 or wanted > refundable.balance:
        raise RefundNotPossible(f"{wanted} asked, {refundable.balance} refundable")
    now = clock.now()
    async with db.session() as session:
        orders, outbox = OrderRepository(session), OutboxRepository(session)
        planned: list[tuple[Order, Refund]] = []
        left = wanted
        for entry in refundable.order:
            if left <= 0:
                break
            recharge = await orders.get(entry.recharge_no, for_update=True)
            if (
                recharge is None
                or recharge.flow != RechargeFlow.name
                or recharge.state != OrderState.NOTIFIED
                or recharge.hospital_id != hospital_id
                or recharge.medical_card_number != medical_card_number
            ):
                continue
            taken = [r.amount for r in await orders.refunds(recharge) if r.state not in RELEASED_REFUND_STATES]
            part = min(entry.balance, refundable_left(recharge.online_amount, taken), left)
            if part <= 0:
                continue
            refund = await orders.add_refund(
                recharge,
                out_refund_no=new_refund_no(now),
                amount=part,
                reason="card balance refund (8.1.2)",
                at=now,
                state=RefundState.AWAITING_HIS,
            )
            await outbox.enqueue(
                kind=CARD_REFUND_JOB,
                dedupe_key=f"{CARD_REFUND_JOB}:{refund.out_refund_no}",
                order_id=recharge.id,
                refund_id=refund.id,
                at=now,
            )
            planned.append((recharge, refund))
            left -= part
        if left > 0:
            # Rolls the whole request back: part of it was not recharged online through us.
            raise RefundNotPossible(f"only {wanted - left} of {wanted} was recharged online through this platform")
        return CardRefundRequested(wanted, [RefundSummary.of(order, refund) for order, refund in planned])


async def request_cancel(db: Database, clock: Clock, out_trade_no: str) -> RefundSummary:
    """The user cancels a paid booking: the hospital cancels (20.1.8, 21.2.3...), then the refund.

    Idempotent: while a cancellation of the order is under way or done, asking again returns it.
    Refused (RefundNotPossible) unless the hospital applied the order and its flow may be cancelled.
    """
    now = clock.now()
    async with db.session() as session:
        orders = OrderRepository(session)
        order = await orders.get(out_trade_no, for_update=True)
        if order is None:
            raise UnknownOrder(out_trade_no)
        if cancellable(FLOWS.get(order.flow)) is None:
            raise RefundNotPossible(f"{order.flow} orders cannot be cancelled after payment")
        if order.state != OrderState.NOTIFIED:
            raise RefundNotPossible(f"order {out_trade_no} is {order.state}: only a made booking is cancelled")
        existing = await orders.refunds(order)
        active = next((r for r in existing if r.state not in RELEASED_REFUND_STATES), None)
        if active is not None:
            return RefundSummary.of(order, active)
        if order.online_amount <= 0:
            raise RefundNotPossible(f"order {out_trade_no} was not paid online")
        refund = await orders.add_refund(
            order,
            out_refund_no=f"{order.out_trade_no}-C{len(existing) + 1}",
            amount=order.online_amount,
            reason="cancelled by the patient",
            at=now,
            state=RefundState.AWAITING_HIS,
        )
        await OutboxRepository(session).enqueue(
            kind=HIS_CANCEL_JOB,
            dedupe_key=f"{HIS_CANCEL_JOB}:{refund.out_refund_no}",
            order_id=order.id,
            refund_id=refund.id,
            at=now,
        )
        return RefundSummary.of(order, refund)


async def refunds(db: Database, out_trade_no: str) -> list[RefundSummary]:
    """Every refund of the order, oldest first."""
    async with db.session() as session:
        orders = OrderRepository(session)
        order = await orders.get(out_trade_no)
        if order is None:
            raise UnknownOrder(out_trade_no)
        return [RefundSummary.of(order, refund) for refund in await orders.refunds(order)]


async def refund(db: Database, out_refund_no: str) -> RefundSummary | None:
    async with db.session() as session:
        orders = OrderRepository(session)
        refund = await orders.get_refund_by_no(out_refund_no)
        order = None if refund is None else await orders.get_by_id(refund.order_id)
        return None if order is None or refund is None else RefundSummary.of(order, refund)
