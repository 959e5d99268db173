"""Messages to patients waiting for delivery (the outbox of the hospitals' message pushes).

A shim that asks us to tell a patient something (a report is ready, a bill is waiting...) queues an
``OutboundMessage`` in the same transaction as its inbound-ledger record, so an accepted call always
has its message and a refused one never does. The payload is stored as sent (delivery needs it); it is
masked wherever it is logged. ``dedupe_key`` is unique: the same message is never queued twice. The
delivery worker (WeChat template messages, services.messages.worker) moves ``state`` on from ``pending``:

    pending / retry --claim--> claimed --just before the call--> sending --> sent | retry | undeliverable
    sending (its worker died, or no answer came) --after the send lease--> resending --> sent | undeliverable
                                                                                  | sending (tried again later)
    sending / resending that can no longer be resent safely --> uncertain

``attempts`` counts claims and fences a worker's writes (a row another worker re-claimed after this
one's lease ran out has a higher count). ``updated_at`` is when the row last moved, with one
exception: a ``sending`` row keeps the time its first unanswered send began, because WeChat drops a
template message sent again under the same client_msg_id only within 10 minutes of the first, and
that time says how long a resend stays safe. A ``retry`` row is due once its backoff has passed since
``updated_at``; a ``claimed`` row whose worker died is claimed again after the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Integer, String, and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, TimestampedMixin, UtcDateTime


class MessageState(StrEnum):
    """Where a queued message stands."""

    PENDING = "pending"
    CLAIMED = "claimed"
    """A worker took it; nothing was sent yet (a dead worker's claim is taken again after the lease)."""
    SENDING = "sending"
    """Recorded just before the call to WeChat; left so when no answer came (it may have been delivered)."""
    RESENDING = "resending"
    """A worker is sending it again under the same client_msg_id (its first send's fate is unknown)."""
    SENT = "sent"
    RETRY = "retry"
    """Not delivered yet (WeChat rate-limited or unreachable): tried again after a backoff."""
    UNDELIVERABLE = "undeliverable"
    UNCERTAIN = "uncertain"
    """It may have been delivered and can no longer be sent again without risking a visible duplicate
    (a customer-service message, or a template message past WeChat's deduplication window)."""


class OutboundMessage(TimestampedMixin, Base):
    """One message to one patient, queued for delivery."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    """What it says, e.g. lisReport, payment, sendRevisitMsg (the shim's last path segment)."""
    hospital_id: Mapped[str] = mapped_column(String(64), index=True)
    medical_card_number: Mapped[str | None] = mapped_column(String(64), index=True)
    id_card_number: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[Any] = mapped_column(JSON)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=MessageState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    inbound_call_id: Mapped[int | None] = mapped_column(BigIntegerId, ForeignKey("inbound_calls.id"), index=True)
    last_error: Mapped[str | None] = mapped_column(String(300))
    """Why its last try did not deliver it (WeChat's answer, masked); None once it is sent."""
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When WeChat accepted it."""


class MessageOutbox:
    """Queues and reads `OutboundMessage` rows inside the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def taken_keys(self, dedupe_keys: list[str]) -> set[str]:
        """Which of these dedupe keys are already queued."""
        if not dedupe_keys:
            return set()
        result = await self._session.execute(
            select(OutboundMessage.dedupe_key).where(OutboundMessage.dedupe_key.in_(dedupe_keys))
        )
        return set(result.scalars())

    async def queue(
        self,
        *,
        kind: str,
        hospital_id: str,
        medical_card_number: str | None,
        id_card_number: str | None,
        payload: Any,
        dedupe_key: str,
        inbound_call_id: int | None,
    ) -> OutboundMessage:
        """Queue a pending message and flush (a taken dedupe key raises IntegrityError at the flush)."""
        message = OutboundMessage(
            kind=kind,
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            id_card_number=id_card_number,
            payload=payload,
            dedupe_key=dedupe_key,
            state=MessageState.PENDING.value,
            attempts=0,
            inbound_call_id=inbound_call_id,
        )
        self._session.add(message)
        await self._session.flush()
        return message

    async def pending(self, *, limit: int = 100) -> list[OutboundMessage]:
        """Pending messages, oldest first."""
        result = await self._session.execute(
            select(OutboundMessage)
            .where(OutboundMessage.state == MessageState.PENDING.value)
            .order_by(OutboundMessage.id)
            .limit(limit)
        )
        return list(result.scalars())


class MessageDeliveries:
    """The delivery worker's moves of `OutboundMessage` rows, inside the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim_due(
        self, *, now: datetime, lease: timedelta, retry_delays: Sequence[timedelta], limit: int
    ) -> list[OutboundMessage]:
        """Claim up to `limit` messages due now: pending ones, retries whose backoff has passed and claims
        whose worker's lease ran out. PostgreSQL skips rows another worker is claiming (SKIP LOCKED);
        SQLite's write lock serialises claims. Each claim adds one to ``attempts``."""
        query = (
            select(OutboundMessage)
            .where(
                or_(
                    OutboundMessage.state == MessageState.PENDING.value,
                    and_(OutboundMessage.state == MessageState.RETRY.value, _backoff_passed(now, retry_delays)),
                    and_(
                        OutboundMessage.state == MessageState.CLAIMED.value,
                        OutboundMessage.updated_at <= now - lease,
                    ),
                )
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        messages = list((await self._session.execute(query)).scalars())
        for message in messages:
            message.state = MessageState.CLAIMED.value
            message.attempts += 1
            message.updated_at = now
        await self._session.flush()
        return messages

    async def claim_unanswered_sends(
        self,
        *,
        now: datetime,
        send_lease: timedelta,
        resend_window: timedelta,
        limit: int,
        skip_ids: Sequence[int] = (),
    ) -> list[tuple[OutboundMessage, datetime]]:
        """Claim for a resend up to `limit` messages left ``sending`` longer than `send_lease` (their worker
        died, or WeChat never answered) whose first send began less than `resend_window` ago: each
        becomes ``resending`` (one more attempt) and comes with the time that first send began."""
        query = (
            select(OutboundMessage)
            .where(
                OutboundMessage.state == MessageState.SENDING.value,
                OutboundMessage.updated_at <= now - send_lease,
                OutboundMessage.updated_at > now - resend_window,
            )
            .order_by(OutboundMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if skip_ids:
            query = query.where(OutboundMessage.id.not_in(list(skip_ids)))
        claimed = []
        for message in (await self._session.execute(query)).scalars():
            first_send = message.updated_at
            message.state = MessageState.RESENDING.value
            message.attempts += 1
            message.updated_at = now
            claimed.append((message, first_send))
        await self._session.flush()
        return claimed

    async def move(
        self,
        message_id: int,
        *,
        attempts: int,
        from_state: MessageState,
        to_state: MessageState,
        now: datetime,
        since: datetime | None = None,
        error: str | None = None,
    ) -> bool:
        """Move a message this worker holds (same ``attempts``, still in `from_state`); False if it lost it.
        ``updated_at`` becomes `since` when given (a resend giving a message back to ``sending``), else `now`.
        Moving to ``sent`` records ``sent_at`` and clears ``last_error``; `error` (masked by the caller) is
        kept as ``last_error`` on any other move that gives one."""
        values: dict[str, Any] = {"state": to_state.value, "updated_at": since or now}
        if to_state is MessageState.SENT:
            values["sent_at"] = now
            values["last_error"] = None
        elif error is not None:
            values["last_error"] = error[:300]
        result = await self._session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                OutboundMessage.attempts == attempts,
                OutboundMessage.state == from_state.value,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def give_up_unanswered_sends(self, *, now: datetime, send_lease: timedelta, resend_window: timedelta) -> int:
        """Mark ``uncertain`` the sends that can no longer be repeated safely; how many: ``sending`` rows
        whose first send began `resend_window` ago or more, and ``resending`` rows whose worker died
        (claimed `send_lease` ago or more: when their first send began is no longer known)."""
        result = await self._session.execute(
            update(OutboundMessage)
            .where(
                or_(
                    and_(
                        OutboundMessage.state == MessageState.SENDING.value,
                        OutboundMessage.updated_at <= now - resend_window,
                    ),
                    and_(
                        OutboundMessage.state == MessageState.RESENDING.value,
                        OutboundMessage.updated_at <= now - send_lease,
                    ),
                )
            )
            .values(state=MessageState.UNCERTAIN.value, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def recent(
        self, *, hospital_ids: list[str] | None, state: str | None = None, limit: int = 50
    ) -> list[OutboundMessage]:
        """Messages newest first, for operators (``hospital_ids`` None: every hospital's)."""
        query = select(OutboundMessage).order_by(OutboundMessage.id.desc()).limit(limit)
        if hospital_ids is not None:
            query = query.where(OutboundMessage.hospital_id.in_(hospital_ids))
        if state is not None:
            query = query.where(OutboundMessage.state == state)
        return list((await self._session.execute(query)).scalars())

    async def count_by_hospital_kind_state(
        self, *, hospital_ids: list[str] | None, since: datetime | None, until: datetime | None
    ) -> list[tuple[str, str, str, int]]:
        """(hospital, kind, state, count) of the messages queued in a time range, for operators."""
        query = select(OutboundMessage.hospital_id, OutboundMessage.kind, OutboundMessage.state, func.count()).group_by(
            OutboundMessage.hospital_id, OutboundMessage.kind, OutboundMessage.state
        )
        if hospital_ids is not None:
            query = query.where(OutboundMessage.hospital_id.in_(hospital_ids))
        if since is not None:
            query = query.where(OutboundMessage.created_at >= since)
        if until is not None:
            query = query.where(OutboundMessage.created_at <= until)
        rows = (await self._session.execute(query)).all()
        return sorted((str(h), str(k), str(st), int(n)) for h, k, st, n in rows)

    async def count_by_state(self, *, hospital_ids: list[str] | None) -> dict[str, int]:
        """How many messages stand in each state (``hospital_ids`` None: every hospital's)."""
        query = select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)
        if hospital_ids is not None:
            query = query.where(OutboundMessage.hospital_id.in_(hospital_ids))
        return {str(state): int(count) for state, count in (await self._session.execute(query)).all()}


def _backoff_passed(now: datetime, retry_delays: Sequence[timedelta]) -> ColumnElement[bool]:
    """``updated_at`` at least the backoff of the row's attempt count ago (the last delay for later ones)."""
    if not retry_delays:
        return false()
    last = len(retry_delays)
    clauses = [
        and_(OutboundMessage.attempts == n, OutboundMessage.updated_at <= now - delay)
        for n, delay in enumerate(retry_delays, start=1)
    ]
    clauses.append(and_(OutboundMessage.attempts > last, OutboundMessage.updated_at <= now - retry_delays[-1]))
    return or_(*clauses)
