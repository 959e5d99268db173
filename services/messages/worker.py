"""The delivery worker: takes queued messages to patients through the official account.

One pass (`run_due`): mark ``uncertain`` the sends a dead worker left behind, claim due messages (SKIP
LOCKED on PostgreSQL), and for each: find the recipient (card -> account -> unionid -> official-account
openid), word it (template, or customer-service text for 19.1.6), record ``sending``, call WeChat, record
the outcome: ``sent``; ``undeliverable`` (no recipient, no wording, 43004/43101/40003/45015, outside the
customer-service window, or `max_attempts` used up); ``retry`` after `retry_delays` (45009, -1, 5xx,
network).

Duplicates: WeChat's template and customer-service sends take no idempotency key, so a crash between
the call and the record cannot be resolved by asking WeChat. The worker therefore commits ``sending``
before the call, and a message still ``sending`` when its lease ran out (its worker died) becomes
``uncertain``: never resent automatically, visible to operators. That trades a possible loss (a crash in
the instant between that commit and the request leaving) for no visible duplicate, which the issue
asks for. A crash before ``sending`` loses nothing: the claim runs out and the message is claimed again.
An HTTP timeout after the request left is retried like any network error (WeChat may have delivered it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from services.payments.clock import Clock, SystemClock
from store.db import Database
from store.messages import MessageDeliveries, MessageState, OutboundMessage

from .directory import OfficialAccountDirectory, OfficialFollower, recipient_unionid
from .templates import CustomerServiceText, Template, Wording, render, wording_for
from .wechat import Outcome, SendOutcome, TemplateMessageSender

log = logging.getLogger("hisgraph.messages.worker")

DEFAULT_RETRY_DELAYS: Final = tuple(timedelta(seconds=s) for s in (30, 60, 120, 300, 600, 1800, 3600))
"""Backoff after the 1st, 2nd... failed attempt; the last one repeats."""
CUSTOMER_SERVICE_WINDOW: Final = timedelta(hours=24)
"""19.1.6: a customer-service message reaches only users who interacted within the last 24 h."""


@dataclass(frozen=True, slots=True)
class _Claim:
    id: int
    attempts: int
    kind: str


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
        retry_delays: Sequence[timedelta] = DEFAULT_RETRY_DELAYS,
        max_attempts: int = 60,
    ) -> None:
        self._db = db
        self._sender = sender
        self._directory = directory
        self._templates = dict(templates)
        self._clock = clock or SystemClock()
        self._batch_size = batch_size
        self._concurrency = asyncio.Semaphore(concurrency)
        self._lease = lease
        self._retry_delays = tuple(retry_delays)
        self._max_attempts = max_attempts

    async def run_due(self) -> int:
        """One pass; how many messages were claimed (0: nothing due)."""
        now = self._clock.now()
        async with self._db.session() as session:
            deliveries = MessageDeliveries(session)
            abandoned = await deliveries.abandon_stale_sends(now=now, lease=self._lease)
            claimed = await deliveries.claim_due(
                now=now, lease=self._lease, retry_delays=self._retry_delays, limit=self._batch_size
            )
            claims = [_Claim(m.id, m.attempts, m.kind) for m in claimed]
            work = [
                (claim, await self._prepare(session, message)) for claim, message in zip(claims, claimed, strict=True)
            ]
        if abandoned:
            log.warning("messages left sending by a dead worker marked uncertain", extra={"count": abandoned})
        await asyncio.gather(*(self._deliver(claim, prepared) for claim, prepared in work))
        return len(claims)

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
                ran = await self.run_due()
            except Exception:
                log.exception("message delivery pass failed")
                ran = 0
            if ran == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=idle_s)

    # -- one message ------------------------------------------------------------------------------

    async def _prepare(self, session: AsyncSession, message: OutboundMessage) -> tuple[OfficialFollower, Wording] | str:
        """The recipient and wording, or why there is none."""
        wording = wording_for(message.kind, self._templates)
        if wording is None:
            return f"no template configured for {message.kind}"
        unionid = await recipient_unionid(session, message)
        if unionid is None:
            return "no account with a unionid holds the card"
        follower = await self._directory.follower(unionid)
        if follower is None:
            return "no official-account openid"
        if isinstance(wording, CustomerServiceText):
            last = follower.last_interaction_at
            if last is None or self._clock.now() - last > CUSTOMER_SERVICE_WINDOW:
                return "no interaction within 24 h (customer-service message)"
        return follower, _with_payload(wording, message.payload)

    async def _deliver(self, claim: _Claim, prepared: tuple[OfficialFollower, Wording] | str) -> None:
        async with self._concurrency:
            if isinstance(prepared, str):
                await self._record(claim, MessageState.CLAIMED, MessageState.UNDELIVERABLE, prepared)
                return
            follower, wording = prepared
            if not await self._move(claim, MessageState.CLAIMED, MessageState.SENDING):
                return  # another worker took it over after our lease ran out
            outcome = await self._send(follower.openid, wording)
            if outcome.outcome is Outcome.SENT:
                await self._record(claim, MessageState.SENDING, MessageState.SENT, outcome.detail)
            elif outcome.outcome is Outcome.UNDELIVERABLE:
                await self._record(claim, MessageState.SENDING, MessageState.UNDELIVERABLE, outcome.detail)
            elif claim.attempts >= self._max_attempts:
                await self._record(
                    claim, MessageState.SENDING, MessageState.UNDELIVERABLE, f"gave up: {outcome.detail}"
                )
            else:
                await self._record(claim, MessageState.SENDING, MessageState.RETRY, outcome.detail)

    async def _send(self, openid: str, wording: Wording) -> SendOutcome:
        if isinstance(wording, CustomerServiceText):
            return await self._sender.send_text(openid=openid, content=wording.content)
        return await self._sender.send_template(
            openid=openid,
            template_id=wording.template_id,
            data=dict(wording.data),
            url=wording.url,
            miniprogram=dict(wording.miniprogram) or None,
        )

    async def _move(self, claim: _Claim, from_state: MessageState, to_state: MessageState) -> bool:
        async with self._db.session() as session:
            return await MessageDeliveries(session).move(
                claim.id, attempts=claim.attempts, from_state=from_state, to_state=to_state, now=self._clock.now()
            )

    async def _record(self, claim: _Claim, from_state: MessageState, to_state: MessageState, detail: str) -> None:
        moved = await self._move(claim, from_state, to_state)
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
