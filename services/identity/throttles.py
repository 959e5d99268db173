"""Counters that cannot be multiplied: SMS codes per card and per phone, logins per username and per address.

They live in the store (table ``throttles``), so they hold across requests, batched operations, aliases of one
field and every instance of the gateway; nothing depends on a GraphQL rule refusing repeated fields. Each
claim is a compare-and-set on the row's ``version`` in its own short transaction: of many concurrent claims
exactly those the policy allows pass, the others see the row as it now is (or lose the race and are refused).

What is counted is stored as a keyed hash (HMAC-SHA256 under a per-deployment key), never as the phone
number or username itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from store.accounts import Throttle
from store.db import Database
from store.models import utcnow

CAS_ATTEMPTS = 8
"""Claims that lose this many races in a row are refused: under such contention, refusing is the safe answer."""
PURGE_EVERY = 500
"""Every this many claims, a process drops counters idle for ``FORGET_AFTER`` (sprayed usernames, old phones)."""
FORGET_AFTER = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class SmsLimits:
    """How often a code may go to one card, and to one phone."""

    cooldown: timedelta = timedelta(seconds=60)
    per_day: int = 10
    """Codes per card and per phone in any 24 hours."""


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Operators' logins: after ``free`` failed attempts a lock that doubles with each further failure."""

    free_per_user: int = 5
    free_per_address: int = 20
    """An address may front several operators (an office behind NAT): more room, the same growth."""
    first_lock: timedelta = timedelta(seconds=30)
    max_lock: timedelta = timedelta(hours=1)
    forget_after: timedelta = timedelta(hours=1)
    """Failures older than this (with no lock in force) no longer count."""

    def lock_for(self, failures: int, free: int) -> timedelta | None:
        if failures < free:
            return None
        lock: timedelta = self.first_lock * (2 ** min(failures - free, 16))
        return min(lock, self.max_lock)


@dataclass(frozen=True, slots=True)
class Claim:
    """Whether the counted action may go ahead, and if not, for how long it stays refused (whole seconds)."""

    allowed: bool
    retry_after_s: int = 0


def _wait(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


class Throttles:
    def __init__(self, db: Database, *, secret: bytes, clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._key = hmac.new(secret, b"throttles", hashlib.sha256).digest()
        self._clock = clock
        self._claims = 0

    def key(self, value: str) -> str:
        return hmac.new(self._key, value.strip().upper().encode(), hashlib.sha256).hexdigest()

    async def claim_sms(self, *, scope: str, value: str, limits: SmsLimits) -> Claim:
        """Take one code's place for this card or phone: refused within the cooldown or over the daily cap."""

        def decide(row: Throttle | None, now: datetime) -> tuple[Claim, dict[str, object]]:
            if row is None:
                return Claim(True), {"count": 1, "window_start": now, "last_at": now, "locked_until": None}
            if row.last_at + limits.cooldown > now:
                return Claim(False, _wait(row.last_at + limits.cooldown, now)), {}
            fresh = row.window_start + timedelta(days=1) <= now
            if not fresh and row.count >= limits.per_day:
                return Claim(False, _wait(row.window_start + timedelta(days=1), now)), {}
            return Claim(True), {
                "count": 1 if fresh else row.count + 1,
                "window_start": now if fresh else row.window_start,
                "last_at": now,
            }

        return await self._claim(scope, value, decide)

    async def claim_login(self, *, scope: str, value: str, free: int, limits: LoginLimits) -> Claim:
        """Count a login attempt BEFORE the password is checked (so concurrent attempts cannot all pass);
        refused while a lock is in force. ``succeeded`` forgets the attempts of a username."""

        def decide(row: Throttle | None, now: datetime) -> tuple[Claim, dict[str, object]]:
            if row is None:
                lock = limits.lock_for(1, free)
                return Claim(True), {
                    "count": 1,
                    "window_start": now,
                    "last_at": now,
                    "locked_until": now + lock if lock else None,
                }
            if row.locked_until is not None and row.locked_until > now:
                return Claim(False, _wait(row.locked_until, now)), {}
            stale = row.locked_until is None and row.last_at + limits.forget_after <= now
            failures = 1 if stale else row.count + 1
            lock = limits.lock_for(failures, free)
            return Claim(True), {
                "count": failures,
                "window_start": now if stale else row.window_start,
                "last_at": now,
                "locked_until": now + lock if lock else None,
            }

        return await self._claim(scope, value, decide)

    async def succeeded(self, *, scope: str, value: str, all_attempts: bool = True) -> None:
        """A correct password: the username's counted attempts are forgotten (``all_attempts``), or for an
        address only this attempt (others' failures from the same address still count)."""
        values: dict[str, object] = (
            {"count": 0, "locked_until": None}
            if all_attempts
            else {"count": case((Throttle.count > 0, Throttle.count - 1), else_=0)}
        )
        async with self._db.session() as db:
            await db.execute(
                update(Throttle)
                .where(Throttle.scope == scope, Throttle.key == self.key(value))
                .values(version=Throttle.version + 1, **values)
                .execution_options(synchronize_session=False)
            )

    async def purge(self) -> int:
        """Drop counters idle for ``FORGET_AFTER`` with no lock in force (no policy looks back that far)."""
        now = self._clock()
        async with self._db.session() as db:
            result = await db.execute(
                delete(Throttle)
                .where(Throttle.last_at < now - FORGET_AFTER)
                .where((Throttle.locked_until.is_(None)) | (Throttle.locked_until < now))
                .execution_options(synchronize_session=False)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _claim(
        self, scope: str, value: str, decide: Callable[[Throttle | None, datetime], tuple[Claim, dict[str, object]]]
    ) -> Claim:
        key = self.key(value)
        self._claims += 1
        if self._claims % PURGE_EVERY == 0:
            await self.purge()
        for _ in range(CAS_ATTEMPTS):
            now = self._clock()
            try:
                async with self._db.session() as db:
                    row = await db.scalar(select(Throttle).where(Throttle.scope == scope, Throttle.key == key))
                    claim, values = decide(row, now)
                    if not claim.allowed:
                        return claim
                    if row is None:
                        db.add(Throttle(scope=scope, key=key, version=0, **values))
                        await db.flush()
                        return claim
                    result = await db.execute(
                        update(Throttle)
                        .where(Throttle.id == row.id, Throttle.version == row.version)
                        .values(version=row.version + 1, **values)
                        .execution_options(synchronize_session=False)
                    )
                    if getattr(result, "rowcount", 0) == 1:
                        return claim
            except (IntegrityError, OperationalError):
                pass  # another claim created the row first, or SQLite refused a stale write: read it again
        return Claim(False, 1)
