"""Operators' stored sessions: a random id in the (signed) token, checked against the store on every request.

A session lasts ``OperatorSessionPolicy.lifetime`` (8 h by default) and ends after ``idle`` (30 min) without
a request; logout ends it, a password change ends the operator's other sessions, a reset or disable ends all of
them, and deleting the operator's row deletes them. Every check reads the store (no cache), so a revocation
holds at once on every worker and instance.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Operator, OperatorSession
from store.db import Database
from store.models import utcnow

from .principal import InvalidSession, OperatorPrincipal, OperatorRole, Principal

TOUCH_EVERY = timedelta(seconds=30)
"""``last_seen_at`` is written at most this often per session (the idle timeout is counted to this precision)."""


@dataclass(frozen=True, slots=True)
class OperatorSessionPolicy:
    lifetime: timedelta = timedelta(hours=8)
    idle: timedelta = timedelta(minutes=30)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class OperatorSessions:
    def __init__(
        self, db: Database, *, policy: OperatorSessionPolicy | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._db = db
        self.policy = policy or OperatorSessionPolicy()
        self._clock = clock

    def start(self, db: AsyncSession, operator: Operator) -> tuple[OperatorPrincipal, datetime]:
        """Open a session for ``operator`` in the caller's transaction: the principal to issue, and its end."""
        now = self._clock()
        session_id = secrets.token_urlsafe(24)
        expires_at = now + self.policy.lifetime
        db.add(
            OperatorSession(
                id_hash=_hash(session_id),
                operator_id=operator.id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )
        role: OperatorRole = "region" if operator.role == "region" else "hospital"
        principal = OperatorPrincipal(
            operator_id=operator.id,
            role=role,
            hospital_id=operator.hospital_id,
            session_id=session_id,
            username=operator.username,
        )
        return principal, expires_at

    async def check(self, principal: Principal | None) -> Principal | None:
        """The principal as the store says it is now; ``InvalidSession`` when its session no longer holds.

        Role and hospital come from the operator's row, not from the token."""
        if not isinstance(principal, OperatorPrincipal):
            return principal
        if not principal.session_id:
            return InvalidSession("no stored session")
        now = self._clock()
        async with self._db.session() as db:
            row = (
                await db.execute(
                    select(OperatorSession, Operator)
                    .join(Operator, Operator.id == OperatorSession.operator_id)
                    .where(OperatorSession.id_hash == _hash(principal.session_id))
                )
            ).one_or_none()
            if row is None:
                return InvalidSession("session ended")
            session, operator = row
            if (
                session.ended_at is not None
                or session.expires_at <= now
                or session.last_seen_at + self.policy.idle <= now
                or operator.disabled_at is not None
                or operator.id != principal.operator_id
                or operator.role not in ("region", "hospital")
            ):
                return InvalidSession("session ended")
            if session.last_seen_at + TOUCH_EVERY <= now:
                await db.execute(
                    update(OperatorSession)
                    .where(OperatorSession.id == session.id)
                    .values(last_seen_at=now)
                    .execution_options(synchronize_session=False)
                )
        role: OperatorRole = "region" if operator.role == "region" else "hospital"
        return OperatorPrincipal(
            operator_id=operator.id,
            role=role,
            hospital_id=operator.hospital_id,
            session_id=principal.session_id,
            username=operator.username,
        )

    async def end(self, db: AsyncSession, session_id: str, *, why: str) -> bool:
        result = await db.execute(
            update(OperatorSession)
            .where(OperatorSession.id_hash == _hash(session_id), OperatorSession.ended_at.is_(None))
            .values(ended_at=self._clock(), ended_why=why)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def end_all(self, db: AsyncSession, operator_id: int, *, why: str, keep: str | None = None) -> int:
        """End every open session of an operator (but ``keep``, the caller's own)."""
        query = update(OperatorSession).where(
            OperatorSession.operator_id == operator_id, OperatorSession.ended_at.is_(None)
        )
        if keep:
            query = query.where(OperatorSession.id_hash != _hash(keep))
        result = await db.execute(
            query.values(ended_at=self._clock(), ended_why=why).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
