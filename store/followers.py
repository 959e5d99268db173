"""The official account's followers and the access tokens every worker shares.

The mini-program's openid is not the official account's: the same person has another openid there,
linked through the unionid. ``official_followers`` holds the official account's side (fed by its follow
and unfollow events, its user list, and the interactions that open the 48-hour customer-service window),
so a message for a card's holder finds the openid to send to. ``shared_tokens`` holds credentials such as
the official account's access_token, so one holder serves every worker and instance.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime, utcnow


class OfficialFollower(Base):
    """One user of the official account, found by unionid."""

    __tablename__ = "official_followers"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    unionid: Mapped[str] = mapped_column(String(128), unique=True)
    openid: Mapped[str] = mapped_column(String(128), unique=True)
    """The official account's openid of this user."""
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The user's last message or click in the official account (customer-service messages need one)."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SharedToken(Base):
    """A credential shared by every worker (e.g. ``wechat_official:access_token``), with its expiry."""

    __tablename__ = "shared_tokens"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FollowerRepository:
    """Reads and writes `OfficialFollower` rows inside the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def by_unionid(self, unionid: str) -> OfficialFollower | None:
        result = await self._session.execute(select(OfficialFollower).where(OfficialFollower.unionid == unionid))
        return result.scalar_one_or_none()

    async def by_openid(self, openid: str) -> OfficialFollower | None:
        result = await self._session.execute(select(OfficialFollower).where(OfficialFollower.openid == openid))
        return result.scalar_one_or_none()

    async def upsert(
        self,
        *,
        unionid: str,
        openid: str,
        subscribed: bool,
        last_interaction_at: datetime | None,
        now: datetime,
    ) -> OfficialFollower:
        """Add the follower or bring it up to date (the later of two interaction times is kept).

        Raises `OpenidTaken` when the openid already belongs to another unionid: one official-account
        user is one WeChat user, so such a row is a mistake to show, not to apply.
        """
        holder = await self.by_openid(openid)
        if holder is not None and holder.unionid != unionid:
            raise OpenidTaken(openid)
        follower = await self.by_unionid(unionid)
        if follower is None:
            follower = OfficialFollower(
                unionid=unionid,
                openid=openid,
                subscribed=subscribed,
                last_interaction_at=last_interaction_at,
                updated_at=now,
            )
            self._session.add(follower)
        else:
            follower.openid = openid
            follower.subscribed = subscribed
            if last_interaction_at is not None and (
                follower.last_interaction_at is None or last_interaction_at > follower.last_interaction_at
            ):
                follower.last_interaction_at = last_interaction_at
            follower.updated_at = now
        await self._session.flush()
        return follower

    async def count(self) -> int:
        return int(await self._session.scalar(select(func.count()).select_from(OfficialFollower)) or 0)


class OpenidTaken(ValueError):
    """The official-account openid is already recorded for another unionid."""

    def __init__(self, openid: str) -> None:
        super().__init__(f"openid {openid[:6]}... already belongs to another unionid")
        self.openid = openid


class SharedTokens:
    """`SharedToken` rows inside the caller's session, and leases taken on them.

    A lease is a row of its own (``<name>:lease``): whoever moves its expiry forward from the past holds
    it until then. Every worker refreshing a credential takes the lease first, so one of them fetches
    it and the others wait for the row to change, on SQLite and PostgreSQL alike, without holding a
    transaction open across the fetch.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, name: str) -> SharedToken | None:
        result = await self._session.execute(select(SharedToken).where(SharedToken.name == name))
        return result.scalar_one_or_none()

    async def put(self, name: str, *, value: str, expires_at: datetime, now: datetime) -> None:
        """Write the credential (insert or replace); a concurrent first insert raises IntegrityError."""
        token = await self.get(name)
        if token is None:
            self._session.add(SharedToken(name=name, value=value, expires_at=expires_at, updated_at=now))
        else:
            token.value = value
            token.expires_at = expires_at
            token.updated_at = now
        await self._session.flush()

    async def take_lease(self, name: str, *, holder: str, until: datetime, now: datetime) -> bool:
        """Take the lease ``name`` until `until` if nobody holds it now; whether it was taken. The first
        lease ever is an insert: a concurrent one raises IntegrityError (not taken)."""
        result = await self._session.execute(
            update(SharedToken)
            .where(SharedToken.name == name, SharedToken.expires_at <= now)
            .values(value=holder, expires_at=until, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) == 1:
            return True
        if await self.get(name) is not None:
            return False
        self._session.add(SharedToken(name=name, value=holder, expires_at=until, updated_at=now))
        await self._session.flush()
        return True

    async def release_lease(self, name: str, *, holder: str, now: datetime) -> None:
        """Give the lease back early (only if `holder` still holds it)."""
        await self._session.execute(
            update(SharedToken)
            .where(SharedToken.name == name, SharedToken.value == holder)
            .values(expires_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
