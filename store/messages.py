"""Messages to patients waiting for delivery (the outbox of the hospitals' message pushes).

A shim that asks us to tell a patient something (a report is ready, a bill is waiting...) queues an
``OutboundMessage`` in the same transaction as its inbound-ledger record, so an accepted call always
has its message and a refused one never does. The payload is stored as sent (delivery needs it); it is
masked wherever it is logged. ``dedupe_key`` is unique: the same message is never queued twice. The
delivery worker (WeChat template messages) moves ``state`` on from ``pending``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, TimestampedMixin


class MessageState(StrEnum):
    """Where a queued message stands."""

    PENDING = "pending"
    SENT = "sent"
    UNDELIVERABLE = "undeliverable"


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
