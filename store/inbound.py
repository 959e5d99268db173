"""The inbound ledger: every call a hospital made to a shim, as we answered it.

One row per call: path and spec section, the caller's hospital, the body with personal data masked,
the reply code and reply, and when it came and was answered. A call the spec gives an identity (a
report key, an order number, a message key) carries a ``dedupe_key``, unique among accepted calls: a
repeat of it is recorded as a duplicate of the first (``duplicate_of``) and answered as the first was,
without acting again. Refused calls carry no dedupe key, so a corrected retry still acts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime, utcnow


class InboundCall(Base):
    """One shim call from a hospital."""

    __tablename__ = "inbound_calls"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    section: Mapped[str] = mapped_column(String(16), index=True)
    """The spec section of the shim (e.g. 19.1.4)."""
    path: Mapped[str] = mapped_column(String(200), index=True)
    hospital_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The hospital the call acted for; None when it was refused before that was known."""
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    duplicate_of: Mapped[int | None] = mapped_column(BigIntegerId, ForeignKey("inbound_calls.id"))
    body: Mapped[Any] = mapped_column(JSON)
    """The request as sent, ID numbers, phones and names masked."""
    reply_code: Mapped[str] = mapped_column(String(8), index=True)
    reply: Mapped[Any] = mapped_column(JSON)
    """What the hospital got back (for a call with a dedupe key: what a duplicate gets back too)."""
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_hospital_id: Mapped[str | None] = mapped_column(String(64))
    """The hospital a call refused at authentication (50001) claimed to be (X-Hospital-Id or hospitalId):
    what it claimed, never proven."""
    replay_of: Mapped[int | None] = mapped_column(BigIntegerId)
    """For an operator's replay: the id of the call it replays."""
    replayed_by: Mapped[str | None] = mapped_column(String(64))
    """For an operator's replay: the operator's username."""
    sealed_body: Mapped[str | None] = mapped_column(Text)
    """The body as the hospital sent it, AES-256-GCM encrypted with the row id as associated data
    (services/sealing.py LedgerSealer), for a region operator's replay of a refund or a push; None for every
    other call, and once ``sealed_until`` has passed (purged). Never shown in the graph or logged."""
    sealed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class InboundLedger:
    """Reads and writes `InboundCall` rows inside the caller's session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def first_with_key(self, dedupe_key: str) -> InboundCall | None:
        """The accepted call with this dedupe key, or None."""
        result = await self._session.execute(select(InboundCall).where(InboundCall.dedupe_key == dedupe_key))
        return result.scalar_one_or_none()

    async def add(
        self,
        *,
        section: str,
        path: str,
        hospital_id: str | None,
        body: Any,
        reply_code: str,
        reply: Any,
        received_at: datetime,
        dedupe_key: str | None = None,
        duplicate_of: int | None = None,
        claimed_hospital_id: str | None = None,
        replay_of: int | None = None,
        replayed_by: str | None = None,
    ) -> InboundCall:
        """Record a call and flush it (a taken dedupe key raises IntegrityError at the flush)."""
        call = InboundCall(
            section=section,
            path=path,
            hospital_id=hospital_id,
            dedupe_key=dedupe_key,
            duplicate_of=duplicate_of,
            body=body,
            reply_code=reply_code,
            reply=reply,
            received_at=received_at,
            answered_at=utcnow(),
            claimed_hospital_id=claimed_hospital_id[:64] if claimed_hospital_id else None,
            replay_of=replay_of,
            replayed_by=replayed_by[:64] if replayed_by else None,
        )
        self._session.add(call)
        await self._session.flush()
        return call

    async def list(
        self,
        *,
        hospital_ids: list[str] | None = None,
        path: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        section: str | None = None,
        reply_code: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[InboundCall]:
        """Calls newest first (by id: the order they were recorded), optionally only these hospitals', one
        path's or section's, one reply code's, those received in a time range, or those older than a call
        (``before_id``: the cursor of the previous page). A hospital's calls include those refused at
        authentication that claimed to be it."""
        query = select(InboundCall).order_by(InboundCall.id.desc()).limit(limit)
        if hospital_ids is not None:
            query = query.where(
                or_(
                    InboundCall.hospital_id.in_(hospital_ids),
                    and_(InboundCall.hospital_id.is_(None), InboundCall.claimed_hospital_id.in_(hospital_ids)),
                )
            )
        if path is not None:
            query = query.where(InboundCall.path == path)
        if section is not None:
            query = query.where(InboundCall.section == section)
        if reply_code is not None:
            query = query.where(InboundCall.reply_code == reply_code)
        if since is not None:
            query = query.where(InboundCall.received_at >= since)
        if until is not None:
            query = query.where(InboundCall.received_at <= until)
        if before_id is not None:
            query = query.where(InboundCall.id < before_id)
        return list((await self._session.execute(query)).scalars())

    async def purge_expired_seals(self, now: datetime, *, limit: int = 200) -> int:
        """Forget up to ``limit`` sealed copies whose ``sealed_until`` has passed (bounded work per call);
        how many were forgotten."""
        expired = (
            select(InboundCall.id)
            .where(InboundCall.sealed_until.is_not(None), InboundCall.sealed_until <= now)
            .limit(limit)
            .scalar_subquery()
        )
        result = await self._session.execute(
            update(InboundCall)
            .where(InboundCall.id.in_(expired))
            .values(sealed_body=None, sealed_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
