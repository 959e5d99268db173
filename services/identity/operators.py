"""Operators of the dashboards: created by an administrator (CLI), signed in with a password."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from store.accounts import Operator
from store.db import Database

from .passwords import hash_password, verify_password
from .principal import OperatorPrincipal, OperatorRole

# Verifying against this when the username is unknown keeps the time of "no such user" and "wrong
# password" alike, so usernames cannot be probed by timing.
_DUMMY_HASH = hash_password("not a password anyone has")


class OperatorRefused(Exception):
    """Wrong username or password (never says which)."""


class OperatorService:
    def __init__(self, db: Database) -> None:
        self._db = db

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

    async def authenticate(self, username: str, password: str) -> OperatorPrincipal:
        async with self._db.session() as db:
            operator = await db.scalar(select(Operator).where(Operator.username == username.strip()))
        stored = operator.password_hash if operator is not None else _DUMMY_HASH
        valid = await asyncio.to_thread(verify_password, password, stored)
        if operator is None or not valid or operator.role not in ("region", "hospital"):
            raise OperatorRefused("wrong username or password")
        role: OperatorRole = "region" if operator.role == "region" else "hospital"
        return OperatorPrincipal(operator_id=operator.id, role=role, hospital_id=operator.hospital_id)
