"""The outbox worker: carries out the payment sagas' jobs, durably, one step at a time.

Job kinds:
- ``notify_his``: tell the hospital (3.1.2 / 7.1.2 / 10.1.2, same outTradeNo on every try). Success ->
  NOTIFIED with the hospital's serial. Otherwise ask 14.2.2 whether the hospital applied it anyway (yes
  -> NOTIFIED); else retry within the flow's window, and on a refusal or at the window's end do what
  the flow prescribes: queue ``refund_query`` or park the order.
- ``refund_query``: ask 13.1.1 (or the flow's own query: 5.1.6 for insurance orders). Only ``success: true``
  with ``data: refundable`` -> REFUNDING with a refund number chosen once, and queue ``provider_refund``.
  40004 or no answer -> ask again later; "nonrefundable" (NOTIFIED where the flow says it means the
  hospital applied the payment), or no answer by the end of the window -> PARKED. Never an automatic
  refund otherwise.
- ``provider_refund``: refund the online part through the provider (idempotent on out_refund_no).
  Success -> REFUNDED.
- ``expire_unpaid`` (due when the payment window ends, for flows that hold something before payment): an
  order still CREATED is closed at the provider, CANCELLED, and ``release_held`` queued.
- ``release_held``: release what the order holds at the hospital (21.2.3 for a booked slot, 5.1.3 for an
  insurer's settlement), after a cancel, an expiry, or (21.2.3) a refund of a payment the hospital refused.
  Unclear answers are asked again for RELEASE_WINDOW; a refusal or the window's end leaves a note.
- ``card_refund``, ``his_cancel``, ``refund_payout``: after-sale refunds of a NOTIFIED order (the user's
  card-balance refund, chapter 8; the user cancelling a paid booking), carried by the Refund row:
  see services.payments.after_sale.

Every outcome is written in one transaction with the job's completion and the next job, after the
order row is locked and its state checked again. A worker that dies mid-job loses its lease; the next
worker repeats the step, which is safe because every call is idempotent on identifiers we chose.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.codes import ReturnCode
from his_clients.errors import HisError, HisNoData, HisRejected
from his_clients.models.reconciliation import (
    RECONCILIATION_QUERY_BY_OUT_TRADE_NO,
    ReconciliationQueryByOutTradeNoRequest,
)
from his_clients.models.refunds import REFUND_QUERY, RefundQueryRequest
from store.db import Database
from store.orders import Order, OrderRepository, OrderState, RefundState
from store.outbox import OutboxJob, OutboxRepository

from .after_sale import CARD_REFUND_JOB, HIS_CANCEL_JOB, REFUND_PAYOUT_JOB, AfterSaleSteps
from .clock import Clock, SystemClock
from .entry_insurance import close_trade
from .orders import EXPIRE_UNPAID, NOTIFY_HIS, RELEASE_HELD
from .providers.base import PaymentProvider, ProviderRejected, ProviderUnavailable
from .providers.base import RefundState as ProviderRefundState
from .sagas import FLOWS, GiveUp, is_refusal, releases, retry_delay
from .sagas.base import asks_refundable

log = logging.getLogger("hisgraph.payments.worker")

RELEASE_WINDOW: Final = timedelta(hours=24)
"""How long an unclear release (21.2.3, 5.1.3) is asked again before it is left to operators."""
RELEASED_ALREADY: Final = frozenset({ReturnCode.REGISTRATION_NOT_FOUND})
"""A release answered "nothing to cancel" (60204): nothing is held any more."""
REFUND_QUERY_JOB: Final = "refund_query"
PROVIDER_REFUND_JOB: Final = "provider_refund"
REFUNDABLE: Final = "refundable"
NONREFUNDABLE: Final = "nonrefundable"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobOutcome:
    """How a job ends, in one value `OutboxWorker._finish` applies in one transaction.

    Build it with the named constructors; each says what happens to the order (and its refund).
    """

    to_state: OrderState | None = None
    """The order's next state; None: it stays."""
    reason: str | None = None
    """Why (the order's state_reason)."""
    note: str | None = None
    """Kept as the job's last error; a note says the job ended without acting (the order is not checked)."""
    his_serial: str | None = None
    """The hospital's serial of the applied payment (NOTIFIED)."""
    then: tuple[str, str] | None = None
    """The next job: (kind, dedupe key)."""
    start_refund: bool = False
    """Refund the whole online part through the provider (REFUNDING)."""
    refund_state: RefundState | None = None
    """The job's refund's new state."""
    provider_refund_id: str | None = None

    @classmethod
    def nothing_to_do(cls, note: str) -> JobOutcome:
        """The job ends and the order is left as it is."""
        return cls(note=note)

    @classmethod
    def notified(cls, reason: str, *, his_serial: str | None = None) -> JobOutcome:
        """The hospital applied the payment."""
        return cls(to_state=OrderState.NOTIFIED, reason=reason, his_serial=his_serial)

    @classmethod
    def parked(cls, reason: str, *, refund_state: RefundState | None = None) -> JobOutcome:
        """An operator decides; the job's refund, if any, takes `refund_state`."""
        return cls(to_state=OrderState.PARKED, reason=reason, refund_state=refund_state)

    @classmethod
    def next_job(cls, reason: str, then: tuple[str, str]) -> JobOutcome:
        """The order stays, with its reason, and another job follows."""
        return cls(reason=reason, then=then)

    @classmethod
    def start_refunding(cls, reason: str) -> JobOutcome:
        """The hospital did not apply it: REFUNDING, and the provider's refund of the online part."""
        return cls(to_state=OrderState.REFUNDING, reason=reason, start_refund=True)

    @classmethod
    def refunded(cls, reason: str, *, provider_refund_id: str | None) -> JobOutcome:
        """The provider refunded it: REFUNDED, the refund SUCCEEDED."""
        return cls(
            to_state=OrderState.REFUNDED,
            reason=reason,
            refund_state=RefundState.SUCCEEDED,
            provider_refund_id=provider_refund_id,
        )

    def overtaken(self, note: str) -> JobOutcome:
        """The order moved meanwhile: nothing of this outcome is applied but its reason."""
        return dataclasses.replace(self, to_state=None, then=None, start_refund=False, refund_state=None, note=note)


class OutboxWorker(AfterSaleSteps):
    """Runs due outbox jobs: `await run_due()` for one pass (tests), `run_forever()` in the service."""

    def __init__(
        self,
        *,
        db: Database,
        his: HisClient,
        provider: PaymentProvider,
        clock: Clock | None = None,
        batch_size: int = 50,
        concurrency: int = 8,
        lease: timedelta = timedelta(minutes=5),
        his_timeout_s: float = 10.0,
        retry_scale: float = 1.0,
    ) -> None:
        """`lease`: how long a claimed job is this worker's; a worker that died loses its jobs after it.
        `retry_scale` multiplies every retry delay (sagas.base.RETRY_DELAYS): below 1 only where time is
        compressed on purpose (the chaos run); the spec's windows are not scaled."""
        self._db = db
        self._his = his
        self._provider = provider
        self._clock = clock or SystemClock()
        self._batch_size = batch_size
        self._concurrency = asyncio.Semaphore(concurrency)
        self._lease = lease
        self._his_timeout_s = his_timeout_s
        self._retry_scale = retry_scale
        self._steps: dict[str, Callable[[OutboxJob], Awaitable[None]]] = {
            NOTIFY_HIS: self._notify_his,
            REFUND_QUERY_JOB: self._refund_query,
            PROVIDER_REFUND_JOB: self._provider_refund,
            CARD_REFUND_JOB: self._card_refund,
            HIS_CANCEL_JOB: self._his_cancel,
            REFUND_PAYOUT_JOB: self._refund_payout,
            EXPIRE_UNPAID: self._expire_unpaid,
            RELEASE_HELD: self._release_held,
        }

    async def run_due(self) -> int:
        """Claim the jobs due now and run them; how many were run (0: nothing due)."""
        now = self._clock.now()
        async with self._db.session() as session:
            jobs = await OutboxRepository(session).claim_due(
                now=now, lease_until=now + self._lease, limit=self._batch_size
            )
        await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def run_until_idle(self, *, max_passes: int = 100) -> int:
        """Run passes until nothing is due (tests: drive a saga to its next wait)."""
        total = 0
        for _ in range(max_passes):
            ran = await self.run_due()
            if ran == 0:
                break
            total += ran
        return total

    async def run_forever(self, *, idle_s: float = 1.0, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            ran = await self.run_due()
            if ran == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_s)

    async def _run(self, job: OutboxJob) -> None:
        async with self._concurrency:
            step = self._steps.get(job.kind)
            try:
                if step is None:
                    raise RuntimeError(f"no step for job kind {job.kind!r}")
                await step(job)
            except Exception as exc:
                # A bug or the store failing: the job stays due and is retried with backoff.
                log.exception("outbox job failed", extra={"job_id": job.id, "kind": job.kind})
                await self._retry(job, f"{type(exc).__name__}: {exc}")

    # -- notify the hospital ------------------------------------------------------------------

    async def _notify_his(self, job: OutboxJob) -> None:
        order = await self._order(job)
        if order is None or order.state != OrderState.PAID:
            await self._finish(job, JobOutcome.nothing_to_do("order no longer PAID"))
            return
        flow = FLOWS[order.flow]
        try:
            serial = await flow.notify(self._his, order, deadline=self._deadline())
        except HisError as error:
            await self._notify_failed(job, order, error)
            return
        await self._finish(job, JobOutcome.notified(f"{order.flow} notified, outPrepayId {serial}", his_serial=serial))

    async def _notify_failed(self, job: OutboxJob, order: Order, error: HisError) -> None:
        described = f"{error.code}: {error}"
        applied = await self._his_applied(order)
        if applied:
            await self._finish(job, JobOutcome.notified(f"14.2.2 shows the payment applied (after {described})"))
            return
        policy = FLOWS[order.flow].policy
        window_over = self._clock.now() >= job.started_at + policy.notify_window
        refused = is_refusal(error) and policy.on_refusal is not GiveUp.RETRY
        if not refused and not window_over:
            await self._retry(job, described)
            return
        give_up = policy.on_refusal if refused else policy.on_window_end
        why = f"hospital refused ({described})" if refused else f"no confirmation within the window ({described})"
        if give_up is GiveUp.ASK_REFUNDABLE:
            then = (REFUND_QUERY_JOB, f"{REFUND_QUERY_JOB}:{order.out_trade_no}")
            await self._finish(job, JobOutcome.next_job(why, then))
        else:
            await self._finish(job, JobOutcome.parked(why))

    async def _his_applied(self, order: Order) -> bool | None:
        """Whether 14.2.2 lists the payment as done at the hospital; None when it gives no answer."""
        request = ReconciliationQueryByOutTradeNoRequest(trade_no=order.out_trade_no)
        try:
            trades = await self._his.call(
                RECONCILIATION_QUERY_BY_OUT_TRADE_NO, order.hospital_id, request, deadline=self._deadline()
            )
        except HisNoData:
            return False
        except HisError:
            return None
        return any(trade.trade_no == order.out_trade_no and trade.complete for trade in trades)

    # -- ask 13.1.1 -------------------------------------------------------------------------------

    async def _refund_query(self, job: OutboxJob) -> None:
        order = await self._order(job)
        if order is None or order.state != OrderState.PAID:
            await self._finish(job, JobOutcome.nothing_to_do("order no longer PAID"))
            return
        flow = FLOWS[order.flow]
        own_query = asks_refundable(flow)  # 5.1.6 for insurance orders; 13.1.1 otherwise
        section = own_query.refund_query_section if own_query is not None else "13.1.1"
        try:
            if own_query is not None:
                answer = await own_query.ask_refundable(self._his, order, deadline=self._deadline())
            else:
                request = RefundQueryRequest(
                    medical_card_number=order.medical_card_number,
                    out_trade_no=order.out_trade_no,
                    unified_trade_no=order.unified_pay_trade_no,
                )
                answer = await self._his.call(REFUND_QUERY, order.hospital_id, request, deadline=self._deadline())
        except HisError as error:
            processing = isinstance(error, HisRejected) and error.code == ReturnCode.PROCESSING
            window = flow.policy.refund_query_window
            if processing or self._clock.now() < job.started_at + window:
                await self._retry(job, f"{section} {error.code}: {error}")
            else:
                await self._finish(job, JobOutcome.parked(f"{section} gave no answer within the window ({error.code})"))
            return
        if answer.strip() == NONREFUNDABLE and flow.policy.nonrefundable_means_applied:
            await self._finish(job, JobOutcome.notified(f"{section} answered nonrefundable: the hospital applied it"))
            return
        if answer.strip() != REFUNDABLE:
            await self._finish(job, JobOutcome.parked(f"{section} answered {answer!r}: not refundable"))
            return
        if order.unified_pay_amount > 0 and own_query is None:
            # 附六's unified settlement refund is not automated: an operator returns that part.
            await self._finish(job, JobOutcome.parked("refundable, but part was paid through the unified platform"))
            return
        await self._finish(job, JobOutcome.start_refunding(f"{section} answered refundable"))

    # -- refund through the provider ------------------------------------------------------------

    async def _provider_refund(self, job: OutboxJob) -> None:
        async with self._db.session() as session:
            order = await OrderRepository(session).get_by_id(job.order_id or 0)
            refunds = [] if order is None else await OrderRepository(session).refunds(order)
        refund = next((r for r in refunds if r.id == job.refund_id), None)
        if order is None or refund is None or order.state != OrderState.REFUNDING:
            await self._finish(job, JobOutcome.nothing_to_do("order no longer REFUNDING"))
            return
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
            await self._finish(
                job, JobOutcome.parked(f"provider refused the refund: {error}", refund_state=RefundState.FAILED)
            )
            return
        if result.state is ProviderRefundState.PROCESSING:
            await self._retry(job, "provider refund processing")
        elif result.state is ProviderRefundState.SUCCEEDED:
            reason = f"refunded {refund.amount} as {refund.out_refund_no}"
            await self._finish(job, JobOutcome.refunded(reason, provider_refund_id=result.refund_id))
        else:
            await self._finish(
                job, JobOutcome.parked(f"provider refund {result.state}", refund_state=RefundState.FAILED)
            )

    # -- release what an unpaid order holds ---------------------------------------------------------

    async def _expire_unpaid(self, job: OutboxJob) -> None:
        order = await self._order(job)
        if order is None or order.state != OrderState.CREATED:
            await self._finish(job, JobOutcome.nothing_to_do("order no longer CREATED"))
            return
        if not await close_trade(self._provider, order.out_trade_no):
            # Paid (its notification is on its way) or no answer: ask again; a paid order ends this job.
            await self._retry(job, "the provider's trade could not be closed yet")
            return
        now = self._clock.now()
        async with self._db.session() as session:
            orders, outbox = OrderRepository(session), OutboxRepository(session)
            stored_job = await outbox.get(job.id, for_update=True)
            if stored_job is None or stored_job.state != "PENDING":
                return
            stored = await orders.get_by_id(order.id, for_update=True)
            if stored is not None and stored.state == OrderState.CREATED:
                await orders.transition(stored, OrderState.CANCELLED, reason="the payment window passed", at=now)
                await outbox.enqueue(
                    kind=RELEASE_HELD, dedupe_key=f"{RELEASE_HELD}:{stored.out_trade_no}", order_id=stored.id, at=now
                )
            OutboxRepository.finish(stored_job, at=now)

    async def _release_held(self, job: OutboxJob) -> None:
        order = await self._order(job)
        flow = None if order is None else releases(FLOWS[order.flow])
        if order is None or flow is None:
            await self._finish(job, JobOutcome.nothing_to_do("nothing to release"))
            return
        section = flow.release_section
        try:
            await flow.release(self._his, order, deadline=self._deadline())
        except HisError as error:
            described = f"{section} {error.code}: {error}"
            if isinstance(error, HisRejected) and error.code in RELEASED_ALREADY:
                await self._finish(job, JobOutcome.nothing_to_do(f"{section}: nothing held any more ({error.code})"))
            elif is_refusal(error) or self._clock.now() >= job.started_at + RELEASE_WINDOW:
                log.warning("could not release", extra={"out_trade_no": order.out_trade_no, "code": error.code})
                await self._finish(job, JobOutcome.nothing_to_do(f"not released, for operators: {described}"))
            else:
                await self._retry(job, described)
            return
        await self._finish(job, JobOutcome.nothing_to_do(f"released with {section}"))

    # -- bookkeeping ----------------------------------------------------------------------------

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self._his_timeout_s

    async def _order(self, job: OutboxJob) -> Order | None:
        async with self._db.session() as session:
            return await OrderRepository(session).get_by_id(job.order_id or 0)

    async def _retry(self, job: OutboxJob, error: str) -> None:
        now = self._clock.now()
        async with self._db.session() as session:
            stored = await OutboxRepository(session).get(job.id, for_update=True)
            if stored is None or stored.state != "PENDING":
                return
            delay = retry_delay(stored.attempts) * self._retry_scale
            OutboxRepository.retry(stored, due_at=now + delay, error=error, at=now)

    async def _finish(self, job: OutboxJob, outcome: JobOutcome) -> None:
        """In one transaction: the order's new state (checked again under lock), the next job, job done."""
        now = self._clock.now()
        async with self._db.session() as session:
            orders, outbox = OrderRepository(session), OutboxRepository(session)
            stored_job = await outbox.get(job.id, for_update=True)
            if stored_job is None or stored_job.state != "PENDING":
                return
            order = None if job.order_id is None else await orders.get_by_id(job.order_id, for_update=True)
            if order is not None and outcome.note is None and order.state != self._expected_state(job):
                outcome = outcome.overtaken(f"order became {order.state} meanwhile")
            to_state, then, refund_state = outcome.to_state, outcome.then, outcome.refund_state
            if order is not None and to_state is not None:
                if to_state is OrderState.NOTIFIED:
                    order.his_serial = outcome.his_serial
                    order.notified_at = now
                await orders.transition(order, to_state, reason=outcome.reason or "", at=now)
            elif order is not None and outcome.reason:
                order.state_reason = outcome.reason
            if order is not None and then is not None:
                await outbox.enqueue(kind=then[0], dedupe_key=then[1], order_id=order.id, at=now)
            if order is not None and outcome.start_refund:
                refund = (
                    await orders.add_refund(
                        order,
                        out_refund_no=f"{order.out_trade_no}-RF",
                        amount=order.online_amount,
                        reason="hospital did not apply the payment",
                        at=now,
                    )
                    if order.online_amount > 0
                    else None
                )
                if refund is None:
                    await orders.transition(order, OrderState.REFUNDED, reason="nothing was paid online", at=now)
                    await self._release_after_refund(outbox, order, now)
                else:
                    await outbox.enqueue(
                        kind=PROVIDER_REFUND_JOB,
                        dedupe_key=f"{PROVIDER_REFUND_JOB}:{refund.out_refund_no}",
                        order_id=order.id,
                        refund_id=refund.id,
                        at=now,
                    )
            if order is not None and to_state is OrderState.REFUNDED:
                await self._release_after_refund(outbox, order, now)
            if refund_state is not None and order is not None:
                for refund in await orders.refunds(order):
                    if refund.id == job.refund_id:
                        refund.state = refund_state
                        refund.provider_refund_id = outcome.provider_refund_id
                        refund.succeeded_at = now if refund_state is RefundState.SUCCEEDED else None
                        refund.updated_at = now
            stored_job.last_error = outcome.note or stored_job.last_error
            OutboxRepository.finish(stored_job, at=now)

    @staticmethod
    async def _release_after_refund(outbox: OutboxRepository, order: Order, now: datetime) -> None:
        """The hospital did not apply the payment and the money went back: release what the order held."""
        flow = releases(FLOWS[order.flow])
        if flow is not None and flow.release_after_refund:
            await outbox.enqueue(
                kind=RELEASE_HELD, dedupe_key=f"{RELEASE_HELD}:{order.out_trade_no}", order_id=order.id, at=now
            )

    @staticmethod
    def _expected_state(job: OutboxJob) -> str:
        return OrderState.REFUNDING if job.kind == PROVIDER_REFUND_JOB else OrderState.PAID
