"""Operators of the dashboards: created by an administrator (CLI), signed in with a password."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from store.accounts import Operator
from store.db import Database

from .passwords import hash_password, verify_password
from .principal import OperatorPrincipal, OperatorRole
from .throttles import LoginLimits, Throttles

# Verifying against this when the username is unknown keeps the time of "no such user" and "wrong
# password" alike, so usernames cannot be probed by timing.
_DUMMY_HASH = hash_password("not a password anyone has")


class OperatorRefused(Exception):
    """Wrong username or password (never says which)."""


class LoginThrottled(OperatorRefused):
    """Too many attempts for this username or from this address: try again in ``retry_after_s`` seconds.

    Said without checking the password, and alike for existing and unknown usernames."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many login attempts; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class OperatorService:
    def __init__(self, db: Database, *, throttles: Throttles | None = None, limits: LoginLimits | None = None) -> None:
        self._db = db
        self._throttles = throttles or Throttles(db, secret=b"hisgraph-operators")
        self._limits = limits or LoginLimits()

    async def create(self, *, username: str, password: str, role: OperatorRole, hospital_id: str | None) -> Operator:
        if role == "hospital" and not hospital_id:
            raise ValueError("a hospital operator needs --hospital")
        if role == "region" and hospital_id:
            raise ValueError("a region operator sees every hospital: no --hospital")
        if len(password) < 12:
            raise ValueError("a password needs at least 12 characters")
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self._db.session() as db:
            operator = Operator(username=username, password_hash=password_hash, role=role, hospital_id=hospital_id)
            db.add(operator)
            await db.flush()
            return operator

    async def authenticate(self, username: str, password: str, *, address: str | None = None) -> OperatorPrincipal:
        """Check a password; every attempt is counted first, per username and per client address, in the store.

        An attempt is counted BEFORE the (costly) password check, so concurrent attempts (batches, aliases)
        cannot all pass: after ``LoginLimits.free_per_user`` failures a username is locked, for a time that
        doubles with each further failure; an address likewise after ``free_per_address``. A correct password
        forgets the username's failures.
        """
        username = username.strip()
        if len(username) > 64 or len(password) > 1024:
            raise OperatorRefused("wrong username or password")
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
        async with self._db.session() as db:
            operator = await db.scalar(select(Operator).where(Operator.username == username))
        stored = operator.password_hash if operator is not None else _DUMMY_HASH
        valid = await asyncio.to_thread(verify_password, password, stored)
        if operator is None or not valid or operator.role not in ("region", "hospital"):
            raise OperatorRefused("wrong username or password")
        await self._throttles.succeeded(scope="login-user", value=username)
        if address:
            await self._throttles.succeeded(scope="login-address", value=address, all_attempts=False)
        role: OperatorRole = "region" if operator.role == "region" else "hospital"
        return OperatorPrincipal(operator_id=operator.id, role=role, hospital_id=operator.hospital_id)
