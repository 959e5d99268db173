"""Time for the payment sagas, injectable so tests cross a 24-hour retry window in seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Final, Protocol

CHINA_TIME: Final = timezone(timedelta(hours=8), "CST")
"""The spec's times (payTime, tradeTime) are Beijing time, written without an offset."""


class Clock(Protocol):
    """Tells the time, timezone-aware in UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to (tests, the chaos run)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def spec_time(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in Beijing time, as the spec writes every time."""
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")
