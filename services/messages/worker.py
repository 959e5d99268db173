"""The delivery worker: takes queued messages to patients through the official account, at least once.

One pass (`run_due`) claims, in one transaction: the sends that can no longer be repeated safely
(marked ``uncertain``), the unanswered sends that can (``resending``), and the due messages (pending,
retries past their backoff, claims whose worker died). For each due message: find the recipient (card
-> account -> unionid -> official-account openid), word it (a template, or customer-service text for
19.1.6), make sure an access_token is at hand, record ``sending``, call WeChat, record the outcome:
``sent``; ``undeliverable`` (no recipient, no wording, 43004/43101/40003/45015, outside the
customer-service window, or `max_attempts` used up); ``retry`` after `retry_delays` when WeChat did not
take it (45009, -1, 503, no connection, no token).

Duplicates. Every template message carries a client_msg_id derived from its dedupe key, and WeChat sends
one message per openid and client_msg_id within 10 minutes. So a send whose fate is unknown (the worker
died between the call and the record, or WeChat took the request and never answered) stays ``sending``
and is sent again under the same id once `send_lease` has passed, as long as its first send began less
than `resend_window` ago (8 minutes: two short of WeChat's ten, for clock skew and time in flight). A
resend that gets no clear answer gives the message back to ``sending`` (keeping that first time) and is
tried again after `resend_delays`; within the window nothing shows twice, so the message is delivered
at least once and seen once.

Past the window a resend could show a duplicate, and the issue's rule is that a crash never produces a
visible one (a payment reminder shown twice reads as two bills), so such a message becomes
``uncertain``: listed for operators, never resent automatically. That happens only when no worker ran
for the whole window after an unanswered send (every instance down for minutes right after a crash, or
WeChat taking requests and never answering for that long), or when a worker died during a resend (the
first send's time is gone with it). A crash before ``sending`` loses nothing: the claim's lease runs
out and the message is claimed again.

Customer-service messages (19.1.6) have no such id: they stay at most once. An unanswered one becomes
``uncertain`` at once, and one left ``sending`` by a dead worker is never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.masking import mask_text
from services.payments.clock import CHINA_TIME, Clock, SystemClock
from store.db import Database
from store.messages import MessageDeliveries, MessageState, OutboundMessage

from .directory import OfficialAccountDirectory, OfficialFollower, recipient_unionid
from .status import beat, beat_ended
from .templates import CustomerServiceText, Template, Wording, render, wording_for
from .wechat import Outcome, SendOutcome, TemplateMessageSender

log = logging.getLogger("hisgraph.messages.worker")

DEFAULT_RETRY_DELAYS: Final = tuple(timedelta(seconds=s) for s in (30, 60, 120, 300, 600, 1800, 3600))
"""Backoff after the 1st, 2nd... failed attempt; the last one repeats."""
DEFAULT_RESEND_DELAYS: Final = tuple(timedelta(seconds=s) for s in (10, 20, 40, 60))
"""Between resends of a message whose first send's fate is unknown (all inside the resend window)."""
DEDUPE_WINDOW: Final = timedelta(minutes=10)
"""WeChat sends one template message per openid and client_msg_id within this long."""
DEFAULT_RESEND_WINDOW: Final = DEDUPE_WINDOW - timedelta(minutes=2)
CUSTOMER_SERVICE_WINDOW: Final = timedelta(hours=24)
"""19.1.6: a customer-service message reaches only users who interacted within the last 24 h."""


REVISIT_PUSH: Final = "sendRevisitMsg"
"""19.1.8 复诊提醒（院内主动调用模式）: "患者智能服务会给患者在指定日期内推送复诊消息"."""
REVISIT_SEND_AT: Final = time(8, 0)
"""The Beijing time of day a revisit message goes out on its date."""


def delivery_time(message: OutboundMessage) -> datetime | None:
    """When a message may go out, if not at once: a 19.1.8 push on the revisit date the hospital gave
    (08:00 Beijing time). Our own 19.2.x reminders, queued ahead of the revisit on purpose, go at once."""
    if message.kind != REVISIT_PUSH or message.inbound_call_id is None or not isinstance(message.payload, dict):
        return None
    text = message.payload.get("revisitTime") or message.payload.get("revisitDate")
    try:
        day = date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        return None  # the shim checked the format; anything else goes out at once rather than never
    return datetime.combine(day, REVISIT_SEND_AT, tzinfo=CHINA_TIME)


def client_msg_id(dedupe_key: str) -> str:
    """The template send's 防重入id: 32 hex characters, the same for every send of one message."""
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    attempts: int
    kind: str
    client_msg_id: str
    first_send: datetime | None = None
    """For a resend: when the first send, whose fate is unknown, began."""


Prepared = tuple[OfficialFollower, Wording] | str
"""The recipient and the filled-in wording, or why there is none."""


class DeliveryWorker:
    """Delivers due messages: `await run_due()` for one pass (tests), `run_forever()` in the service."""

    def __init__(
        self,
        *,
        db: Database,
        sender: TemplateMessageSender,
        directory: OfficialAccountDirectory,
        templates: Mapping[str, Wording],
        clock: Clock | None = None,
        batch_size: int = 50,
        concurrency: int = 8,
        lease: timedelta = timedelta(minutes=5),
        send_lease: timedelta = timedelta(minutes=2),
        resend_window: timedelta = DEFAULT_RESEND_WINDOW,
        retry_delays: Sequence[timedelta] = DEFAULT_RETRY_DELAYS,
        resend_delays: Sequence[timedelta] = DEFAULT_RESEND_DELAYS,
        max_attempts: int = 60,
    ) -> None:
        if resend_window > DEDUPE_WINDOW:
            raise ValueError("resend_window must stay inside WeChat's 10-minute client_msg_id window")
        if send_lease >= resend_window:
            raise ValueError("send_lease must be shorter than resend_window, or nothing is ever resent")
        self._db = db
        self._sender = sender
        self._directory = directory
        self._templates = dict(templates)
        self._clock = clock or SystemClock()
        self._batch_size = batch_size
        self._concurrency = asyncio.Semaphore(concurrency)
        self._lease = lease
        self._send_lease = send_lease
        self._resend_window = resend_window
        self._retry_delays = tuple(retry_delays)
        self._resend_delays = tuple(resend_delays)
        self._max_attempts = max_attempts
        self._resends: dict[int, tuple[int, datetime]] = {}
        """Message id -> (resends tried by this worker, not before): paces resends in this process."""

    async def run_due(self) -> int:
        """One pass; how many messages were claimed (0: nothing due)."""
        now = self._clock.now()
        self._forget_old_resends(now)
        async with self._db.session() as session:
            deliveries = MessageDeliveries(session)
            given_up = await deliveries.give_up_unanswered_sends(
                now=now, send_lease=self._send_lease, resend_window=self._resend_window
            )
            unanswered = await deliveries.claim_unanswered_sends(
                now=now,
                send_lease=self._send_lease,
                resend_window=self._resend_window,
                limit=self._batch_size,
                skip_ids=[i for i, (_, not_before) in self._resends.items() if not_before > now],
            )
            claimed = await deliveries.claim_due(
                now=now, lease=self._lease, retry_delays=self._retry_delays, limit=self._batch_size
            )
            work: list[tuple[_Claim, Prepared]] = []
            for message, first_send in unanswered:
                work.append((_claim(message, first_send), await self._prepare(session, message)))
            for message in claimed:
                due_at = delivery_time(message)
                if due_at is not None and due_at > now:
                    # Held, not sent: the claim stands until its lease runs out at `due_at`, and this claim
                    # costs no attempt.
                    message.updated_at = due_at - self._lease
                    message.attempts -= 1
                    continue
                work.append((_claim(message, None), await self._prepare(session, message)))
        if given_up:
            log.warning("messages whose send went unanswered too long marked uncertain", extra={"count": given_up})
        await asyncio.gather(*(self._deliver(claim, prepared) for claim, prepared in work))
        return len(work)

    async def run_until_idle(self, *, max_passes: int = 100) -> int:
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
            try:
                # Operators see whether anything delivers (operator { messaging }): a beat in the store.
                await beat(self._db, now=self._clock.now(), idle_s=idle_s, retry_delays=self._retry_delays)
                ran = await self.run_due()
            except Exception:
                log.exception("message delivery pass failed")
                ran = 0
            if ran == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_s)
        with contextlib.suppress(Exception):  # the store may be gone already: the beat then runs out by itself
            await beat_ended(self._db, now=self._clock.now())

    # -- one message ------------------------------------------------------------------------------

    async def _prepare(self, session: AsyncSession, message: OutboundMessage) -> Prepared:
        wording = wording_for(message.kind, self._templates)
        if wording is None:
            return f"no template configured for {message.kind}"
        unionid = await recipient_unionid(session, message)
        if unionid is None:
            return "no account with a unionid holds the card"
        follower = await self._directory.follower(session, unionid)
        if follower is None:
            return "no official-account openid"
        if isinstance(wording, CustomerServiceText):
            last = follower.last_interaction_at
            if last is None or self._clock.now() - last > CUSTOMER_SERVICE_WINDOW:
                return "no interaction within 24 h (customer-service message)"
        return follower, _with_payload(wording, message.payload)

    async def _deliver(self, claim: _Claim, prepared: Prepared) -> None:
        async with self._concurrency:
            if claim.first_send is not None:
                await self._resend(claim, prepared)
            else:
                await self._send_first(claim, prepared)

    async def _send_first(self, claim: _Claim, prepared: Prepared) -> None:
        if isinstance(prepared, str):
            await self._record(claim, MessageState.CLAIMED, MessageState.UNDELIVERABLE, prepared)
            return
        not_ready = await self._sender.ready()
        if not_ready is not None:
            await self._after_failure(claim, MessageState.CLAIMED, not_ready)
            return
        follower, wording = prepared
        if not await self._move(claim, MessageState.CLAIMED, MessageState.SENDING):
            return  # another worker took it over after our lease ran out
        outcome = await self._send(follower.openid, wording, claim)
        if outcome.outcome is Outcome.SENT:
            await self._record(claim, MessageState.SENDING, MessageState.SENT, outcome.detail)
        elif outcome.outcome is Outcome.UNDELIVERABLE:
            await self._record(claim, MessageState.SENDING, MessageState.UNDELIVERABLE, outcome.detail)
        elif outcome.outcome is Outcome.RETRY:
            await self._after_failure(claim, MessageState.SENDING, outcome)
        elif isinstance(wording, CustomerServiceText):
            await self._record(claim, MessageState.SENDING, MessageState.UNCERTAIN, outcome.detail)
        else:
            # Left `sending`: resent under the same client_msg_id once the send lease has passed.
            log.warning(
                "message send unanswered: to be resent under its client_msg_id",
                extra={"message_id": claim.id, "kind": claim.kind, "detail": outcome.detail},
            )

    async def _resend(self, claim: _Claim, prepared: Prepared) -> None:
        assert claim.first_send is not None
        if isinstance(prepared, str) or isinstance(prepared[1], CustomerServiceText):
            # It may have gone out already; without a client_msg_id (or a recipient) it is not sent again.
            why = prepared if isinstance(prepared, str) else "customer-service message: sent at most once"
            await self._record(claim, MessageState.RESENDING, MessageState.UNCERTAIN, why)
            self._resends.pop(claim.id, None)
            return
        follower, wording = prepared
        outcome = await self._send(follower.openid, wording, claim)
        if outcome.outcome in (Outcome.SENT, Outcome.UNDELIVERABLE):
            to_state = MessageState.SENT if outcome.outcome is Outcome.SENT else MessageState.UNDELIVERABLE
            await self._record(claim, MessageState.RESENDING, to_state, f"resent: {outcome.detail}")
            self._resends.pop(claim.id, None)
            return
        # Still no clear answer: back to `sending` as of its first send, tried again after a pause.
        tries = self._resends.get(claim.id, (0, claim.first_send))[0] + 1
        delay = self._resend_delays[min(tries, len(self._resend_delays)) - 1] if self._resend_delays else timedelta()
        self._resends[claim.id] = (tries, self._clock.now() + delay)
        await self._record(
            claim,
            MessageState.RESENDING,
            MessageState.SENDING,
            f"resend failed: {outcome.detail}",
            since=claim.first_send,
        )

    async def _after_failure(self, claim: _Claim, from_state: MessageState, outcome: SendOutcome) -> None:
        """WeChat did not take the message: tried again after a backoff, or given up after `max_attempts`."""
        if claim.attempts >= self._max_attempts:
            await self._record(claim, from_state, MessageState.UNDELIVERABLE, f"gave up: {outcome.detail}")
        else:
            await self._record(claim, from_state, MessageState.RETRY, outcome.detail)

    async def _send(self, openid: str, wording: Wording, claim: _Claim) -> SendOutcome:
        if isinstance(wording, CustomerServiceText):
            return await self._sender.send_text(openid=openid, content=wording.content)
        return await self._sender.send_template(
            openid=openid,
            template_id=wording.template_id,
            data=dict(wording.data),
            client_msg_id=claim.client_msg_id,
            url=wording.url,
            miniprogram=dict(wording.miniprogram) or None,
        )

    async def _move(
        self,
        claim: _Claim,
        from_state: MessageState,
        to_state: MessageState,
        *,
        since: datetime | None = None,
        error: str | None = None,
    ) -> bool:
        async with self._db.session() as session:
            return await MessageDeliveries(session).move(
                claim.id,
                attempts=claim.attempts,
                from_state=from_state,
                to_state=to_state,
                now=self._clock.now(),
                since=since,
                error=error,
            )

    async def _record(
        self,
        claim: _Claim,
        from_state: MessageState,
        to_state: MessageState,
        detail: str,
        *,
        since: datetime | None = None,
    ) -> None:
        # Why it did not go (operators' lastError, masked as our log is) is written with the move, in one
        # statement: a reader never sees the new state without its reason.
        error = None if to_state is MessageState.SENT else mask_text(detail)
        moved = await self._move(claim, from_state, to_state, since=since, error=error)
        log.info(
            "message delivery",
            extra={
                "message_id": claim.id,
                "kind": claim.kind,
                "attempt": claim.attempts,
                "state": to_state.value if moved else "lost claim",
                "detail": detail,
            },
        )

    def _forget_old_resends(self, now: datetime) -> None:
        """Drop pacing entries of messages past any resend (settled here or by another instance)."""
        for message_id, (_, not_before) in list(self._resends.items()):
            if not_before <= now - self._resend_window:
                del self._resends[message_id]


def _claim(message: OutboundMessage, first_send: datetime | None) -> _Claim:
    return _Claim(message.id, message.attempts, message.kind, client_msg_id(message.dedupe_key), first_send)


def _with_payload(wording: Wording, payload: Any) -> Wording:
    """The wording with the payload's fields filled in."""
    fields: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    if isinstance(wording, CustomerServiceText):
        return CustomerServiceText(render(wording.content, fields))
    return Template(
        template_id=wording.template_id,
        data={key: render(pattern, fields) for key, pattern in wording.data.items()},
        url=render(wording.url, fields) if wording.url else None,
        miniprogram={key: render(pattern, fields) for key, pattern in wording.miniprogram.items()},
    )
