"""The official account's access_token: one holder for every worker of a deployment.

``POST {base}/cgi-bin/stable_token`` gives the account's access_token, valid ``expires_in`` seconds
(7200 at most). Unlike ``cgi-bin/token``, whose every call invalidates the previous token, the stable
token is kept apart: another system of the same account calling ``cgi-bin/token`` cannot invalidate
ours, and in its normal mode (``force_refresh: false``) a call returns the token still in force (WeChat
renews it in its last five minutes). Force mode (20 a day) is used only when WeChat refused the very
token normal mode gives back. The token still lives in a cache every worker shares
(`StoreTokenCache`: the ``shared_tokens`` table; `MemoryTokenCache` for one process), and whoever
renews it first takes a lease there, so two workers finding it stale, or refused, cause one fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy.exc import IntegrityError

from services.payments.clock import Clock, SystemClock
from store.db import Database
from store.followers import SharedTokens
from store.models import utcnow

from .wechat import OfficialAccountApi, WeChatUnavailable

log = logging.getLogger("hisgraph.messages.tokens")

ACCESS_TOKEN_NAME: Final = "wechat_official:{appid}:access_token"  # noqa: S105 - a row name, not a secret
"""The ``shared_tokens`` row holding the official account's access_token."""


@dataclass(frozen=True, slots=True)
class CachedToken:
    value: str
    expires_at: datetime


class TokenCache(Protocol):
    """Where the access_token lives between fetches, and the lease whoever renews it holds."""

    async def get(self) -> CachedToken | None: ...

    async def put(self, token: CachedToken) -> None: ...

    async def take_lease(self, holder: str, *, until: datetime, now: datetime) -> bool:
        """Whether `holder` now holds the renewal lease (nobody else held it)."""
        ...

    async def release_lease(self, holder: str, *, now: datetime) -> None: ...


class MemoryTokenCache:
    """The token in this process's memory (one process: tests, a single worker)."""

    def __init__(self) -> None:
        self._token: CachedToken | None = None
        self._lease: tuple[str, datetime] | None = None

    async def get(self) -> CachedToken | None:
        return self._token

    async def put(self, token: CachedToken) -> None:
        self._token = token

    async def take_lease(self, holder: str, *, until: datetime, now: datetime) -> bool:
        if self._lease is not None and self._lease[1] > now:
            return False
        self._lease = (holder, until)
        return True

    async def release_lease(self, holder: str, *, now: datetime) -> None:
        if self._lease is not None and self._lease[0] == holder:
            self._lease = None


class StoreTokenCache:
    """The token in the ``shared_tokens`` table, shared by every worker and instance using the store."""

    def __init__(self, db: Database, *, name: str) -> None:
        self._db = db
        self._name = name
        self._lease_name = f"{name}:lease"

    async def get(self) -> CachedToken | None:
        async with self._db.session() as session:
            row = await SharedTokens(session).get(self._name)
            return None if row is None else CachedToken(row.value, row.expires_at)

    async def put(self, token: CachedToken) -> None:
        for attempt in range(2):
            try:
                async with self._db.session() as session:
                    await SharedTokens(session).put(
                        self._name, value=token.value, expires_at=token.expires_at, now=utcnow()
                    )
                return
            except IntegrityError:
                # Another worker wrote the first row at the same moment: the second round updates it.
                if attempt == 1:
                    raise

    async def take_lease(self, holder: str, *, until: datetime, now: datetime) -> bool:
        try:
            async with self._db.session() as session:
                return await SharedTokens(session).take_lease(self._lease_name, holder=holder, until=until, now=now)
        except IntegrityError:
            return False  # another worker took the very first lease at the same moment

    async def release_lease(self, holder: str, *, now: datetime) -> None:
        async with self._db.session() as session:
            await SharedTokens(session).release_lease(self._lease_name, holder=holder, now=now)


class AccessTokenHolder:
    """The official account's access_token: fetched once, cached, renewed `refresh_margin` before it
    expires, and renewed at most once for a token WeChat called invalid (concurrent senders, in this
    process or another, that all saw 40001 on the same token cause one fetch)."""

    def __init__(
        self,
        api: OfficialAccountApi,
        *,
        appid: str,
        secret: str,
        cache: TokenCache | None = None,
        clock: Clock | None = None,
        refresh_margin: timedelta = timedelta(minutes=5),
        lease: timedelta = timedelta(seconds=20),
        wait_s: float = 25.0,
        poll_s: float = 0.2,
    ) -> None:
        self._api = api
        self._appid = appid
        self._secret = secret
        self._cache = cache or MemoryTokenCache()
        self._clock = clock or SystemClock()
        self._margin = refresh_margin
        self._lease = lease
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._holder = uuid.uuid4().hex
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        cached = await self._cache.get()
        if self._usable(cached, rejected=None):
            assert cached is not None
            return cached.value
        return await self._renew(rejected=None)

    async def refresh(self, rejected: str) -> str:
        """A fresh token after WeChat rejected `rejected`; fetched only if that is still the cached one."""
        return await self._renew(rejected=rejected)

    def _usable(self, cached: CachedToken | None, *, rejected: str | None) -> bool:
        return cached is not None and cached.value != rejected and self._clock.now() < cached.expires_at - self._margin

    async def _renew(self, *, rejected: str | None) -> str:
        async with self._lock:
            give_up_at = time.monotonic() + self._wait_s
            while True:
                cached = await self._cache.get()
                if self._usable(cached, rejected=rejected):
                    assert cached is not None
                    return cached.value
                now = self._clock.now()
                if await self._cache.take_lease(self._holder, until=now + self._lease, now=now):
                    try:
                        # Another worker may have renewed it between our look and our lease.
                        cached = await self._cache.get()
                        if self._usable(cached, rejected=rejected):
                            assert cached is not None
                            return cached.value
                        return await self._fetch(rejected=rejected)
                    finally:
                        await self._cache.release_lease(self._holder, now=self._clock.now())
                if time.monotonic() >= give_up_at:
                    raise WeChatUnavailable("another worker has been renewing the access_token for too long")
                await asyncio.sleep(self._poll_s)

    async def _fetch(self, *, rejected: str | None) -> str:
        body = await self._stable_token(force_refresh=False)
        if rejected is not None and body.get("access_token") == rejected:
            # WeChat refused the token it still hands out: only a forced renewal gives another.
            body = await self._stable_token(force_refresh=True)
        value = body.get("access_token")
        expires_in = int(body.get("expires_in") or 7200)
        await self._cache.put(CachedToken(str(value), self._clock.now() + timedelta(seconds=expires_in)))
        log.info("official-account access_token fetched", extra={"expires_in": expires_in})
        return str(value)

    async def _stable_token(self, *, force_refresh: bool) -> dict[str, Any]:
        body = await self._api.post_json(
            "/cgi-bin/stable_token",
            {
                "grant_type": "client_credential",
                "appid": self._appid,
                "secret": self._secret,
                "force_refresh": force_refresh,
            },
        )
        if not body.get("access_token") or body.get("errcode") not in (None, 0):
            # A wrong appid/secret or a caller IP outside the whitelist: nothing is sent until it is fixed.
            raise WeChatUnavailable(f"cgi-bin/stable_token refused: errcode {body.get('errcode')}")
        return body
