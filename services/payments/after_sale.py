"""After-sale refunds: money going back for an order the hospital already applied (it stays NOTIFIED).

Two sagas, each carried by one Refund row (AWAITING_HIS -> PENDING -> SUCCEEDED, or REFUSED / PARKED /
FAILED, see store.orders.RefundState), never by the order's state:

- ``card_refund`` (chapter 8, see sagas.card_refund): the hospital deducts the card balance with 8.1.2
  (same refundNo on every try); a retry asks 8.1.3 first. Deducted -> ``refund_payout``.
- ``his_cancel``: the user cancels a paid booking; the flow's cancel call (20.1.8, 21.2.3, ...) succeeds
  -> ``refund_payout`` of what the hospital says (the online part when it names no amount); a refusal
  -> REFUSED (the booking stands); no answer by the end of the flow's window, or a cancel without the
  refund voucher the chapter requires (33.1.5) -> PARKED.
- ``refund_payout``: the provider refund, idempotent on out_refund_no. Success -> SUCCEEDED.

Each outcome is written in one transaction with the job's completion and the next job, after the
refund row is locked and its state checked again. What the hospital answered (its refund voucher)
and why a refund was parked are kept in the order's quote under ``after_sale[out_refund_no]``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from his_clients.client import HisClient
from his_clients.errors import HisError
from store.db import Database
from store.orders import Order, OrderRepository, Refund, RefundState
from store.outbox import OutboxJob, OutboxRepository

from .clock import Clock
from .providers.base import PaymentProvider, ProviderRejected, ProviderUnavailable
from .providers.base import RefundState as ProviderRefundState
from .quotes import AFTER_SALE_KEY, write_refund_note
from .sagas import FLOWS, cancellable, is_refusal
from .sagas import card_refund as chapter8

log = logging.getLogger("hisgraph.payments.after_sale")

CARD_REFUND_JOB: Final = "card_refund"
HIS_CANCEL_JOB: Final = "his_cancel"
REFUND_PAYOUT_JOB: Final = "refund_payout"


def after_sale_note(order: Order, out_refund_no: str) -> dict[str, Any]:
    """What the after-sale saga recorded for one refund of the order, as stored (hospital voucher, outcome).

    Typed: services.payments.quotes.refund_note.
    """
    notes: dict[str, Any] = (order.quote or {}).get(AFTER_SALE_KEY, {})
    return dict(notes.get(out_refund_no, {}))


def _told(section: str, error: HisError) -> str:
    """A hospital's failure as a refund's note says it (the patient reads the note): the section and the code.

    The hospital's own text goes to the operators' log (masked there), never to the note (issue 10 item 13).
    """
    log.warning(
        "hospital %s, %s answered %s: %s",
        error.hospital_id,
        error.method,
        error.code,
        error.message,
        extra=error.extensions,
    )
    return f"{section} {error.code}".strip()


class AfterSaleSteps:
    """The after-sale job steps; mixed into OutboxWorker, whose store, clients and clock they use.

    What they need of the worker is declared here, not stubbed: the worker's ``_deadline`` (one HIS call's
    deadline) and ``_retry`` (the job again later) are those methods.
    """

    _db: Database
    _his: HisClient
    _provider: PaymentProvider
    _clock: Clock
    _deadline: Callable[[], float]
    _retry: Callable[[OutboxJob, str], Awaitable[None]]

    # -- chapter 8: the hospital deducts the card balance -----------------------------------------

    async def _card_refund(self, job: OutboxJob) -> None:
        loaded = await self._refund_of(job, RefundState.AWAITING_HIS)
        if loaded is None:
            return
        recharge, refund = loaded
        deadline = self._deadline()
        if job.attempts > 1:
            # 8.1.3 first on every retry: never a second deduction while one is under way.
            try:
                status, his_id = await chapter8.deduction_status(self._his, recharge, refund, deadline=deadline)
            except HisError as error:
                await self._unclear(job, _told("8.1.3", error), chapter8.WINDOW)
                return
            if status is chapter8.DeductionStatus.DEDUCTED:
                await self._deducted(job, his_id, "8.1.3 status 1: the hospital deducted the balance")
                return
            if status is chapter8.DeductionStatus.IN_PROGRESS:
                await self._unclear(job, "8.1.3 status 2: refund in progress at the hospital", chapter8.WINDOW)
                return
        try:
            his_id = await chapter8.deduct(self._his, recharge, refund, deadline=deadline)
        except HisError as error:
            described = _told("8.1.2", error)
            if is_refusal(error):
                await self._settle(job, RefundState.AWAITING_HIS, RefundState.PARKED, f"hospital refused ({described})")
            else:
                await self._unclear(job, described, chapter8.WINDOW)
            return
        await self._deducted(job, his_id, "8.1.2: the hospital deducted the balance")

    async def _deducted(self, job: OutboxJob, his_refund_id: str | None, why: str) -> None:
        await self._settle(
            job,
            RefundState.AWAITING_HIS,
            RefundState.PENDING,
            why,
            his_refund_no=his_refund_id,
            then=REFUND_PAYOUT_JOB,
        )

    # -- the user cancels a paid booking ----------------------------------------------------------

    async def _his_cancel(self, job: OutboxJob) -> None:
        loaded = await self._refund_of(job, RefundState.AWAITING_HIS)
        if loaded is None:
            return
        order, _ = loaded
        flow = cancellable(FLOWS.get(order.flow))
        if flow is None:
            await self._settle(job, RefundState.AWAITING_HIS, RefundState.PARKED, f"{order.flow} cannot be cancelled")
            return
        if order.his_serial is None:
            # NOTIFIED through 14.2.2 (the hospital applied it, its reply was lost): the cancel call needs the
            # hospital's id of what it made, which only that reply names. The same notification again is
            # idempotent on our identifiers (约定) and names it. (Found by the chaos run.)
            try:
                serial = await FLOWS[order.flow].notify(self._his, order, deadline=self._deadline())
            except HisError as error:
                await self._unclear(job, f"asking the hospital's id again: {_told('', error)}", flow.cancel_window)
                return
            order = await self._remember_serial(order, serial)
        try:
            cancelled = await flow.cancel(self._his, order, deadline=self._deadline())
        except HisError as error:
            described = _told("", error)
            if is_refusal(error):
                await self._settle(
                    job, RefundState.AWAITING_HIS, RefundState.REFUSED, f"the hospital refused to cancel ({described})"
                )
            else:
                await self._unclear(job, described, flow.cancel_window)
            return
        if not cancelled.refundable:
            await self._settle(
                job,
                RefundState.AWAITING_HIS,
                RefundState.PARKED,
                "cancelled at the hospital without a refund voucher: nothing goes back automatically",
            )
            return
        await self._settle(
            job,
            RefundState.AWAITING_HIS,
            RefundState.PENDING,
            f"cancelled at the hospital (refundNo {cancelled.his_refund_no})",
            his_refund_no=cancelled.his_refund_no,
            amount=cancelled.amount,
            then=REFUND_PAYOUT_JOB,
        )

    async def _remember_serial(self, order: Order, serial: str | None) -> Order:
        """Keep the hospital's serial learnt late on the order; the order as stored now."""
        async with self._db.session() as session:
            stored = await OrderRepository(session).get_by_id(order.id, for_update=True)
            assert stored is not None
            if stored.his_serial is None and serial:
                stored.his_serial = serial
                stored.updated_at = self._clock.now()
            return stored

    # -- the provider refund ----------------------------------------------------------------------

    async def _refund_payout(self, job: OutboxJob) -> None:
        loaded = await self._refund_of(job, RefundState.PENDING)
        if loaded is None:
            return
        order, refund = loaded
        try:
            result = await self._provider.refund(
                out_trade_no=order.out_trade_no,
                out_refund_no=refund.out_refund_no,
                amount=refund.amount,
                total=order.online_amount,
                reason=refund.reason,
            )
        except ProviderUnavailable as error:
            await self._retry(job, f"provider unavailable: {error}")
            return
        except ProviderRejected as error:
            await self._settle(job, RefundState.PENDING, RefundState.FAILED, f"provider refused the refund: {error}")
            return
        if result.state is ProviderRefundState.PROCESSING:
            await self._retry(job, "provider refund processing")
        elif result.state is ProviderRefundState.SUCCEEDED:
            await self._settle(
                job,
                RefundState.PENDING,
                RefundState.SUCCEEDED,
                f"refunded {refund.amount} as {refund.out_refund_no}",
                provider_refund_id=result.refund_id,
            )
        else:
            await self._settle(job, RefundState.PENDING, RefundState.FAILED, f"provider refund {result.state}")

    # -- bookkeeping ------------------------------------------------------------------------------

    async def _refund_of(self, job: OutboxJob, expected: RefundState) -> tuple[Order, Refund] | None:
        async with self._db.session() as session:
            orders = OrderRepository(session)
            refund = await orders.get_refund(job.refund_id or 0)
            order = None if refund is None else await orders.get_by_id(refund.order_id)
        if order is None or refund is None or refund.state != expected:
            await self._settle(job, expected, None, None, note=f"refund no longer {expected}")
            return None
        return order, refund

    async def _unclear(self, job: OutboxJob, described: str, window: timedelta) -> None:
        """No clear answer: ask again later, or park once the window from the first try is over."""
        if self._clock.now() < job.started_at + window:
            await self._retry(job, described)
            return
        await self._settle(
            job,
            RefundState.AWAITING_HIS,
            RefundState.PARKED,
            f"no clear answer within {window} ({described})",
        )

    async def _settle(
        self,
        job: OutboxJob,
        expected: RefundState,
        to_state: RefundState | None,
        why: str | None,
        *,
        note: str | None = None,
        his_refund_no: str | None = None,
        amount: Decimal | None = None,
        then: str | None = None,
        provider_refund_id: str | None = None,
    ) -> None:
        """In one transaction: the refund's new state (checked again under lock), the note, the next job, job done."""
        now = self._clock.now()
        async with self._db.session() as session:
            orders, outbox = OrderRepository(session), OutboxRepository(session)
            stored_job = await outbox.get(job.id, for_update=True)
            if stored_job is None or stored_job.state != "PENDING":
                return
            refund = None if job.refund_id is None else await orders.get_refund(job.refund_id, for_update=True)
            if refund is not None and to_state is not None:
                if refund.state != expected:
                    note = f"refund became {refund.state} meanwhile"
                else:
                    order = await orders.get_by_id(refund.order_id, for_update=True)
                    assert order is not None
                    if amount is not None and amount < refund.amount:
                        refund.amount = amount  # the hospital names less than the whole online part
                    refund.state = to_state
                    refund.updated_at = now
                    if to_state is RefundState.SUCCEEDED:
                        refund.provider_refund_id = provider_refund_id
                        refund.succeeded_at = now
                    _note(order, refund.out_refund_no, now, state=to_state, why=why, his_refund_no=his_refund_no)
                    if then is not None:
                        await outbox.enqueue(
                            kind=then,
                            dedupe_key=f"{then}:{refund.out_refund_no}",
                            order_id=order.id,
                            refund_id=refund.id,
                            at=now,
                        )
                    if to_state is RefundState.PARKED or to_state is RefundState.FAILED:
                        log.warning("after-sale refund parked", extra={"out_refund_no": refund.out_refund_no})
            stored_job.last_error = note or stored_job.last_error
            OutboxRepository.finish(stored_job, at=now)


def _note(
    order: Order, out_refund_no: str, at: datetime, *, state: RefundState, why: str | None, his_refund_no: str | None
) -> None:
    write_refund_note(order, out_refund_no, at, state=str(state), why=why, his_refund_no=his_refund_no or None)


__all__ = [
    "AFTER_SALE_KEY",
    "CARD_REFUND_JOB",
    "HIS_CANCEL_JOB",
    "REFUND_PAYOUT_JOB",
    "AfterSaleSteps",
    "after_sale_note",
]
