"""The nonces hospitals signed shim requests with: each is accepted once, so a replayed request is refused.

A nonce only has to be remembered while a request carrying it could still pass the timestamp check;
older rows are pruned as new ones arrive.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from .accounts import ShimNonce
from .db import Database


class StoredNonces:
    """Nonces in the ``shim_nonces`` table, unique per (hospital_id, nonce) so that concurrent workers agree."""

    def __init__(self, db: Database, *, keep_for: timedelta = timedelta(minutes=15)) -> None:
        self._db = db
        self._keep_for = keep_for
        self._pruned_at: datetime | None = None

    async def first_use(self, *, hospital_id: str, nonce: str, now: datetime) -> bool:
        """Record ``nonce`` for ``hospital_id``; False when it was recorded before (a replay)."""
        await self._prune(now)
        try:
            async with self._db.session() as session:
                session.add(ShimNonce(hospital_id=hospital_id, nonce=nonce, seen_at=now))
        except IntegrityError:
            return False
        return True

    async def _prune(self, now: datetime) -> None:
        # At most once a minute per process: one indexed DELETE, not one per request.
        if self._pruned_at is not None and now - self._pruned_at < timedelta(minutes=1):
            return
        self._pruned_at = now
        async with self._db.session() as session:
            await session.execute(delete(ShimNonce).where(ShimNonce.seen_at < now - self._keep_for))
