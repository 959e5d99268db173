"""Operators of the dashboards: created by an administrator (CLI), signed in with a password, with stored
sessions (operator_sessions.py) that end at once when the operator is disabled, re-passworded or deleted.

Every login, failed login and account action is written to the audit trail (services/audit.py) in the
transaction of the change it records.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import record
from services.refusals import RefusalCode, Refused
from store.accounts import Operator
from store.audit import AuditRepository
from store.db import Database
from store.models import utcnow

from .client_address import current_client_address
from .operator_sessions import OperatorSessionPolicy, OperatorSessions
from .passwords import hash_password, verify_password
from .principal import OperatorPrincipal, OperatorRole
from .throttles import LoginLimits, Throttles

# Verifying against this when the username is unknown keeps the time of "no such user" and "wrong
# password" alike, so usernames cannot be probed by timing.
_DUMMY_HASH = hash_password("not a password anyone has")

MIN_PASSWORD = 12
MAX_PASSWORD = 1024


class OperatorRefused(Refused):
    """Wrong username or password (never says which): WRONG_PASSWORD."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(RefusalCode.WRONG_PASSWORD, message)


class LoginThrottled(Refused):
    """Too many attempts for this username or from this address: try again in ``retry_after_s`` seconds.

    Said without checking the password, and alike for existing and unknown usernames: THROTTLED."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            RefusalCode.THROTTLED, f"登录尝试过于频繁，请{retry_after_s}秒后再试。", retryAfterS=retry_after_s
        )
        self.retry_after_s = retry_after_s


class OperatorNotFound(Refused, LookupError):
    """No operator by that username: NOT_FOUND."""

    def __init__(self, username: str) -> None:
        super().__init__(RefusalCode.NOT_FOUND, f"没有用户名为 {username.strip()} 的操作员。")
        self.username = username


class WeakPassword(Refused, ValueError):
    """A new password too short, too long or unchanged: WEAK_PASSWORD (a ValueError too, for the CLI)."""

    def __init__(self, message: str) -> None:
        super().__init__(RefusalCode.WEAK_PASSWORD, message)


class CannotDisableSelf(Refused):
    """An operator tried to disable their own account: SELF."""

    def __init__(self) -> None:
        super().__init__(RefusalCode.SELF, "不能停用自己的账号。")


@dataclass(frozen=True, slots=True)
class OperatorSummary:
    username: str
    role: str
    hospital_id: str | None
    disabled: bool
    last_login_at: datetime | None


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"密码至少需要{MIN_PASSWORD}位。")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"密码最多{MAX_PASSWORD}位。")


def one_time_password() -> str:
    """A generated password for a reset: 20 URL-safe characters (about 120 bits), shown once."""
    return secrets.token_urlsafe(15)


class OperatorService:
    def __init__(
        self,
        db: Database,
        *,
        throttles: Throttles | None = None,
        limits: LoginLimits | None = None,
        sessions: OperatorSessions | None = None,
        policy: OperatorSessionPolicy | None = None,
    ) -> None:
        self._db = db
        self._throttles = throttles or Throttles(db, secret=b"hisgraph-operators")
        self._limits = limits or LoginLimits()
        self.sessions = sessions or OperatorSessions(db, policy=policy)

    async def create(self, *, username: str, password: str, role: OperatorRole, hospital_id: str | None) -> Operator:
        if role == "hospital" and not hospital_id:
            raise ValueError("a hospital operator needs --hospital")
        if role == "region" and hospital_id:
            raise ValueError("a region operator sees every hospital: no --hospital")
        check_new_password(password)
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self._db.session() as db:
            operator = Operator(username=username, password_hash=password_hash, role=role, hospital_id=hospital_id)
            db.add(operator)
            await db.flush()
            return operator

    async def _claim(self, username: str, address: str | None) -> None:
        limits = self._limits
        user = await self._throttles.claim_login(
            scope="login-user", value=username, free=limits.free_per_user, limits=limits
        )
        if not user.allowed:
            raise LoginThrottled(user.retry_after_s)
        if address:
            where = await self._throttles.claim_login(
                scope="login-address", value=address, free=limits.free_per_address, limits=limits
            )
            if not where.allowed:
                raise LoginThrottled(where.retry_after_s)

    async def _succeeded(self, username: str, address: str | None) -> None:
        await self._throttles.succeeded(scope="login-user", value=username)
        if address:
            await self._throttles.succeeded(scope="login-address", value=address, all_attempts=False)

    async def login(
        self, username: str, password: str, *, address: str | None = None
    ) -> tuple[OperatorPrincipal, datetime]:
        """Check a password and open a stored session; every attempt is counted first, per username and per
        client address, in the store.

        An attempt is counted BEFORE the (costly) password check, so concurrent attempts (batches, aliases)
        cannot all pass: after ``LoginLimits.free_per_user`` failures a username is locked, for a time that
        doubles with each further failure; an address likewise after ``free_per_address``. A correct password
        forgets the username's failures. A disabled operator is refused like a wrong password.
        """
        username = username.strip()
        if len(username) > 64 or len(password) > MAX_PASSWORD:
            raise OperatorRefused()
        await self._claim(username, address)
        async with self._db.session() as db:
            operator = await db.scalar(select(Operator).where(Operator.username == username))
        stored = operator.password_hash if operator is not None else _DUMMY_HASH
        valid = await asyncio.to_thread(verify_password, password, stored)
        if (
            operator is None
            or not valid
            or operator.role not in ("region", "hospital")
            or operator.disabled_at is not None
        ):
            async with self._db.session() as db:
                AuditRepository(db).append(
                    operator_id=operator.id if operator is not None else None,
                    username=username,
                    action="login-failed",
                    hospital_id=operator.hospital_id if operator is not None else None,
                    detail=json.dumps({"why": "disabled"}) if operator is not None and valid else None,
                    address=address,
                )
            raise OperatorRefused()
        await self._succeeded(username, address)
        async with self._db.session() as db:
            fresh = await db.get(Operator, operator.id)
            if fresh is None or fresh.disabled_at is not None:
                raise OperatorRefused()
            fresh.last_login_at = utcnow()
            principal, expires_at = self.sessions.start(db, fresh)
            record(db, principal, "login")
        return principal, expires_at

    async def authenticate(self, username: str, password: str, *, address: str | None = None) -> OperatorPrincipal:
        principal, _ = await self.login(username, password, address=address)
        return principal

    async def logout(self, actor: OperatorPrincipal) -> bool:
        if not actor.session_id:
            return False
        async with self._db.session() as db:
            ended = await self.sessions.end(db, actor.session_id, why="logout")
            if ended:
                record(db, actor, "logout")
        return ended

    async def change_password(self, actor: OperatorPrincipal, old_password: str, new_password: str) -> None:
        """Check the old password (counted like a login attempt), store the new one and end the operator's
        other sessions. Raises ``LoginThrottled``, ``OperatorRefused`` (old password wrong) or ``WeakPassword``."""
        check_new_password(new_password)
        if new_password == old_password:
            raise WeakPassword("新密码不能与原密码相同。")
        username = actor.username or ""
        address = current_client_address()
        await self._claim(username, address)
        async with self._db.session() as db:
            operator = await db.get(Operator, actor.operator_id)
        if operator is None or not await asyncio.to_thread(
            verify_password, old_password[:MAX_PASSWORD], operator.password_hash
        ):
            raise OperatorRefused("原密码错误。")
        await self._succeeded(username, address)
        password_hash = await asyncio.to_thread(hash_password, new_password)
        async with self._db.session() as db:
            operator = await db.get(Operator, actor.operator_id)
            if operator is None:
                raise OperatorRefused("原密码错误。")
            operator.password_hash = password_hash
            operator.password_changed_at = utcnow()
            ended = await self.sessions.end_all(db, operator.id, why="password-changed", keep=actor.session_id)
            record(db, actor, "password-changed", target=operator.username, detail={"sessionsEnded": ended})

    async def _target(self, db: AsyncSession, username: str) -> Operator:
        operator = await db.scalar(select(Operator).where(Operator.username == username.strip()))
        if operator is None:
            raise OperatorNotFound(username)
        return operator

    async def disable(self, actor: OperatorPrincipal | None, username: str) -> int:
        """Disable an operator and end every session of theirs; the number of sessions ended.

        ``actor`` None is the CLI (an administrator on the server), audited as ``cli``."""
        async with self._db.session() as db:
            operator = await self._target(db, username)
            if actor is not None and operator.id == actor.operator_id:
                raise CannotDisableSelf()
            if operator.disabled_at is None:
                operator.disabled_at = utcnow()
            ended = await self.sessions.end_all(db, operator.id, why="disabled")
            self._record(db, actor, "operator-disabled", operator, {"sessionsEnded": ended})
            return ended

    async def reset_password(self, actor: OperatorPrincipal | None, username: str) -> str:
        """Give an operator a generated one-time password (returned once, stored hashed) and end their
        sessions; they should change it with changeOperatorPassword after signing in."""
        password = one_time_password()
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self._db.session() as db:
            operator = await self._target(db, username)
            operator.password_hash = password_hash
            operator.password_changed_at = utcnow()
            ended = await self.sessions.end_all(db, operator.id, why="password-reset")
            self._record(db, actor, "password-reset", operator, {"sessionsEnded": ended})
        return password

    def _record(
        self, db: AsyncSession, actor: OperatorPrincipal | None, action: str, target: Operator, detail: dict[str, int]
    ) -> None:
        if actor is not None:
            record(db, actor, action, hospital_id=target.hospital_id, target=target.username, detail=detail)
        else:
            AuditRepository(db).append(
                operator_id=None,
                username="cli",
                action=action,
                hospital_id=target.hospital_id,
                target=target.username,
                detail=json.dumps(detail, sort_keys=True),
            )

    async def list(self) -> list[OperatorSummary]:
        async with self._db.session() as db:
            rows = await db.scalars(select(Operator).order_by(Operator.username))
            return [
                OperatorSummary(
                    username=o.username,
                    role=o.role,
                    hospital_id=o.hospital_id,
                    disabled=o.disabled_at is not None,
                    last_login_at=o.last_login_at,
                )
                for o in rows
            ]

    async def get(self, operator_id: int) -> Operator | None:
        async with self._db.session() as db:
            found: Operator | None = await db.get(Operator, operator_id)
            return found
