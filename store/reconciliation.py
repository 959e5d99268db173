"""The stored daily reconciliation results (issue 15 item 4): per hospital and Beijing day, who checked it
when and what was found, and per mismatch who looked at it.

``reconciliation_results`` holds one row per (hospital, day): the latest check's status (CLEAN, MISMATCHES or
NOT_CHECKED), when and by whom it ran, why a side could not be read, and the check's totals and lines (JSON, as
the service wrote them). ``reconciliation_mismatches`` holds the mismatches of the latest check of each
(hospital, day); those of provider lines no ledger order names have no hospital. A recheck keeps a mismatch
found again (its id and its acknowledgement stay) and drops one no longer found: the audit trail keeps who
acknowledged what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Index, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime, utcnow


class ReconciliationResult(Base):
    """The latest check of one hospital's day."""

    __tablename__ = "reconciliation_results"
    __table_args__ = (UniqueConstraint("hospital_id", "day", name="uq_reconciliation_results_hospital_day"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    hospital_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date, index=True)
    """The Beijing calendar day checked."""
    status: Mapped[str] = mapped_column(String(16))
    """CLEAN, MISMATCHES or NOT_CHECKED."""
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    checked_by: Mapped[str] = mapped_column(String(64))
    """The operator's username (the audit trail names them the same way)."""
    operator_id: Mapped[int | None] = mapped_column(BigIntegerId)
    not_checked_reason: Mapped[str | None] = mapped_column(String(300))
    """Why the hospital's records or the provider's bill could not be read (NOT_CHECKED)."""
    summary: Mapped[Any] = mapped_column(JSON)
    """The check's totals and lines, as services/payments/reconciliation_days.py writes them."""


class ReconciliationMismatchRow(Base):
    """One disagreement found by the latest check of a day; ``hospital_id`` null: a provider line of no known order."""

    __tablename__ = "reconciliation_mismatches"
    __table_args__ = (Index("ix_reconciliation_mismatches_day_hospital", "day", "hospital_id"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    out_trade_no: Mapped[str] = mapped_column(String(64))
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    ledger_amount: Mapped[str | None] = mapped_column(String(24))
    """Decimal text, as each side wrote it (refunds negative); null: that side has nothing."""
    provider_amount: Mapped[str | None] = mapped_column(String(24))
    hospital_amount: Mapped[str | None] = mapped_column(String(24))
    ledger_state: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(300))
    found_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    """The first check that found it."""
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_note: Mapped[str | None] = mapped_column(String(500))

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.out_trade_no, self.out_refund_no or "", self.detail)


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundMismatch:
    """A mismatch as a check found it, to be stored."""

    kind: str
    out_trade_no: str
    out_refund_no: str | None
    ledger_amount: str | None
    provider_amount: str | None
    hospital_amount: str | None
    ledger_state: str | None
    detail: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.out_trade_no, self.out_refund_no or "", self.detail)


class ReconciliationStore:
    """Reads and writes the stored results inside the caller's session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def results(self, hospital_ids: Sequence[str], day: date) -> dict[str, ReconciliationResult]:
        if not hospital_ids:
            return {}
        query = select(ReconciliationResult).where(
            ReconciliationResult.day == day, ReconciliationResult.hospital_id.in_(list(hospital_ids))
        )
        return {row.hospital_id: row for row in (await self._session.scalars(query))}

    async def mismatches(self, day: date, hospital_id: str | None) -> list[ReconciliationMismatchRow]:
        """A day's stored mismatches of one hospital, or (None) those of no known hospital; oldest first."""
        column = ReconciliationMismatchRow.hospital_id
        query = select(ReconciliationMismatchRow).where(
            ReconciliationMismatchRow.day == day, column.is_(None) if hospital_id is None else column == hospital_id
        )
        return list(await self._session.scalars(query.order_by(ReconciliationMismatchRow.id)))

    async def mismatch(self, mismatch_id: int) -> ReconciliationMismatchRow | None:
        return await self._session.get(ReconciliationMismatchRow, mismatch_id)

    async def keep_result(
        self,
        *,
        hospital_id: str,
        day: date,
        status: str,
        checked_at: datetime,
        checked_by: str,
        operator_id: int | None,
        not_checked_reason: str | None,
        summary: Any,
    ) -> ReconciliationResult:
        """Replace the (hospital, day) result with this check's."""
        query = select(ReconciliationResult).where(
            ReconciliationResult.hospital_id == hospital_id, ReconciliationResult.day == day
        )
        row = await self._session.scalar(query.with_for_update())
        if row is None:
            row = ReconciliationResult(hospital_id=hospital_id, day=day)
            self._session.add(row)
        row.status = status
        row.checked_at = checked_at
        row.checked_by = checked_by[:64]
        row.operator_id = operator_id
        row.not_checked_reason = not_checked_reason[:300] if not_checked_reason else None
        row.summary = summary
        await self._session.flush()
        return row

    async def keep_mismatches(
        self, day: date, hospital_id: str | None, found: Sequence[FoundMismatch], *, at: datetime
    ) -> list[ReconciliationMismatchRow]:
        """Replace a day's mismatches of one hospital (or of none) with those found: one found again keeps its
        row (id and acknowledgement), one no longer found is dropped."""
        existing = {row.key: row for row in await self.mismatches(day, hospital_id)}
        kept: list[ReconciliationMismatchRow] = []
        for mismatch in found:
            row = existing.pop(mismatch.key, None)
            if row is None:
                row = ReconciliationMismatchRow(
                    day=day,
                    hospital_id=hospital_id,
                    kind=mismatch.kind,
                    out_trade_no=mismatch.out_trade_no,
                    out_refund_no=mismatch.out_refund_no,
                    found_at=at,
                )
                self._session.add(row)
            row.ledger_amount = mismatch.ledger_amount
            row.provider_amount = mismatch.provider_amount
            row.hospital_amount = mismatch.hospital_amount
            row.ledger_state = mismatch.ledger_state
            row.detail = mismatch.detail[:300]
            kept.append(row)
        if existing:
            gone = [row.id for row in existing.values()]
            await self._session.execute(delete(ReconciliationMismatchRow).where(ReconciliationMismatchRow.id.in_(gone)))
        await self._session.flush()
        return kept
