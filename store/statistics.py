"""Chapter 30 figures of past days, asked once per hospital and day and kept (issue 15 item 6).

A past Beijing day's figures do not change: the statistics series asks a hospital for a day it has not
asked before and reads every other day from here, so a month's history does not fan out again.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime, utcnow


class StatisticsDay(Base):
    """One hospital's figures for one past day (as the statistics service normalised them)."""

    __tablename__ = "statistics_days"
    __table_args__ = (UniqueConstraint("hospital_id", "day", name="uq_statistics_days_hospital_day"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    hospital_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    """The Beijing calendar day."""
    figures: Mapped[Any] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StatisticsDays:
    """Reads and keeps `StatisticsDay` rows inside the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def kept(self, hospital_ids: list[str], first: date, last: date) -> dict[tuple[str, date], Any]:
        """The figures kept for these hospitals between two days (inclusive), by (hospital, day)."""
        if not hospital_ids:
            return {}
        query = select(StatisticsDay).where(
            StatisticsDay.hospital_id.in_(hospital_ids), StatisticsDay.day >= first, StatisticsDay.day <= last
        )
        return {(row.hospital_id, row.day): row.figures for row in (await self._session.execute(query)).scalars()}

    async def keep(self, hospital_id: str, day: date, figures: Any) -> None:
        """Keep a day's figures once (a concurrent request keeping the same day first wins)."""
        try:
            async with self._session.begin_nested():
                self._session.add(StatisticsDay(hospital_id=hospital_id, day=day, figures=figures))
        except IntegrityError:
            pass
