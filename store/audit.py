"""The audit trail of operators: logins (and failed ones), actions, and reads that return patients' data.

Append-only: the application only inserts (``AuditRepository.append``); on PostgreSQL a trigger refuses
UPDATE and DELETE of its rows (migration 0009). A row is added in the session of the action it records, so
both commit or neither does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime, utcnow


class AuditEntry(Base):
    """One audited event. ``hospital_id`` is the hospital it concerns (a hospital operator's own, or the target's);
    null for region-wide events, which only region operators read."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    operator_id: Mapped[int | None] = mapped_column(BigIntegerId)
    """Who acted; null for a failed login under an unknown username. No foreign key: rows outlive operators."""
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(48), index=True)
    hospital_id: Mapped[str | None] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(160))
    """What it acted on: an operator's username, an order or call id, a masked patient (view:card)."""
    detail: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(64))


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def append(
        self,
        *,
        operator_id: int | None,
        username: str,
        action: str,
        hospital_id: str | None = None,
        target: str | None = None,
        detail: str | None = None,
        address: str | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        entry = AuditEntry(
            at=at or utcnow(),
            operator_id=operator_id,
            username=username[:64],
            action=action,
            hospital_id=hospital_id,
            target=target[:160] if target else None,
            detail=detail,
            address=address[:64] if address else None,
        )
        self.session.add(entry)
        return entry

    async def page(
        self,
        *,
        hospital_id: str | None,
        region: bool,
        username: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int | None = None,
        limit: int = 50,
    ) -> list[AuditEntry]:
        """Newest first; a hospital operator (``region`` False) reads only their hospital's rows."""
        query = select(AuditEntry)
        if not region:
            query = query.where(AuditEntry.hospital_id == hospital_id)
        if username:
            query = query.where(AuditEntry.username == username)
        if action:
            query = query.where(AuditEntry.action == action)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at <= until)
        if after_id is not None:
            query = query.where(AuditEntry.id < after_id)
        rows = await self.session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit))
        return list(rows)
