"""The provider refund of a hospital's refund, tried during the hospital's call (services.payments.hospital_refunds).

``pay_out`` asks the provider once (polling while it says PROCESSING) within a timeout and settles what it
answered exactly as the worker's ``refund_payout`` step would (services.payments.after_sale): SUCCEEDED, or
FAILED when the provider refuses; the job is finished in the same transaction. No answer in time leaves
the refund PENDING and its job due: the worker repeats the same call (idempotent on out_refund_no).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Final

from sqlalchemy import select

from store.db import Database
from store.orders import Order, OrderRepository, Refund, RefundState
from store.outbox import JobState, OutboxJob, OutboxRepository

from .after_sale import REFUND_PAYOUT_JOB
from .clock import Clock
from .providers.base import PaymentProvider, ProviderRefund, ProviderRejected, ProviderUnavailable
from .providers.base import RefundState as ProviderRefundState
from .quotes import write_refund_note

log = logging.getLogger("hisgraph.payments.hospital_refunds")

PROVIDER_POLL_S: Final = 0.5


async def pay_out(
    *, db: Database, provider: PaymentProvider, clock: Clock, order: Order, refund: Refund, timeout_s: float
) -> None:
    """Ask the provider within ``timeout_s``; settle what it answered. No clear answer leaves it PENDING."""
    try:
        result = await _ask_provider(provider, order, refund, timeout_s)
    except ProviderRejected as error:
        await _settle(db, clock, refund, RefundState.FAILED, f"provider refused the refund: {error}")
        return
    if result is None or result.state is ProviderRefundState.PROCESSING:
        return
    if result.state is ProviderRefundState.SUCCEEDED:
        why = f"refunded {refund.amount} as {refund.out_refund_no}"
        await _settle(db, clock, refund, RefundState.SUCCEEDED, why, provider_refund_id=result.refund_id)
    else:
        await _settle(db, clock, refund, RefundState.FAILED, f"provider refund {result.state}")


async def _ask_provider(
    provider: PaymentProvider, order: Order, refund: Refund, timeout_s: float
) -> ProviderRefund | None:
    """The provider's answer (polled while PROCESSING), or None when none came in time."""
    result: ProviderRefund | None = None
    try:
        async with asyncio.timeout(timeout_s):
            result = await provider.refund(
                out_trade_no=order.out_trade_no,
                out_refund_no=refund.out_refund_no,
                amount=refund.amount,
                total=order.online_amount,
                reason=refund.reason,
            )
            while result.state is ProviderRefundState.PROCESSING:
                await asyncio.sleep(PROVIDER_POLL_S)
                try:
                    result = await provider.query_refund(refund.out_refund_no)
                except ProviderRejected:
                    continue  # not visible to the query yet: still processing
    except (TimeoutError, ProviderUnavailable) as error:
        log.warning(
            "hospital refund left to the worker",
            extra={"out_refund_no": refund.out_refund_no, "error": type(error).__name__},
        )
    return result


async def _settle(
    db: Database,
    clock: Clock,
    asked: Refund,
    to_state: RefundState,
    why: str,
    *,
    provider_refund_id: str | None = None,
) -> None:
    """In one transaction, locked as the worker locks (job, refund, order): the outcome, the job done."""
    now = clock.now()
    async with db.session() as session:
        orders = OrderRepository(session)
        job = (
            await session.execute(
                select(OutboxJob)
                .where(OutboxJob.dedupe_key == f"{REFUND_PAYOUT_JOB}:{asked.out_refund_no}")
                .with_for_update()
            )
        ).scalar_one_or_none()
        refund = await orders.get_refund(asked.id, for_update=True)
        if refund is None or refund.state != RefundState.PENDING:
            return  # the worker or a concurrent duplicate settled it
        order = await orders.get_by_id(refund.order_id, for_update=True)
        assert order is not None
        refund.state = to_state
        refund.updated_at = now
        if to_state is RefundState.SUCCEEDED:
            refund.provider_refund_id = provider_refund_id
            refund.succeeded_at = now
        else:
            log.warning("hospital refund failed", extra={"out_refund_no": refund.out_refund_no})
        note_refund(order, refund.out_refund_no, now, state=to_state, why=why)
        if job is not None and job.state == JobState.PENDING:
            OutboxRepository.finish(job, at=now)


def note_refund(
    order: Order,
    out_refund_no: str,
    at: datetime,
    *,
    state: RefundState,
    why: str,
    extra: dict[str, str] | None = None,
) -> None:
    """Write the refund's entry in the order's after-sale notes (services.payments.quotes.RefundNote reads it)."""
    write_refund_note(order, out_refund_no, at, state=str(state), why=why, **(extra or {}))
