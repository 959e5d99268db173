"""Rate limits per client address and per account: token buckets in front of every route.

Each request takes one token from its address's bucket and, when ``account_key`` names an account,
one from that account's bucket (``RateLimits`` in api/settings.py says how big and how fast they
refill). A request that finds a bucket empty is refused without reaching the app:

- shims (``/prefront/...``) answer the spec's envelope with code 40001 (系统繁忙), HTTP 200 like every
  shim answer, plus ``Retry-After``;
- everything else (GraphQL, downloads) answers HTTP 429 with ``Retry-After`` and a GraphQL-shaped error.

A GraphQL POST is charged one token per **operation**, not per request: a batch of 5 operations takes 5
from each bucket (at most a bucket's burst, so a batch is never refused forever), so batching multiplies
nothing. The body is read here, at most the guard's GraphQL limit (api/guards.py ``LIMITS``; a larger one
counts 1 and the guard refuses it), only its top-level array counted, and handed on unchanged.

Buckets live in this process by default: with several workers each has its own, so the effective limit
is multiplied by the worker count. ``backend = "redis"`` keeps them in Redis, shared by all workers
(one Lua script per bucket, atomic). The address is ``api.addresses.address_of``: the connection's peer,
or what a proxy in ``Settings.trusted_proxies`` forwarded; a header from anyone else changes nothing.
"""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from his_clients.codes import ReturnCode

from .addresses import address_of
from .guards import LIMITS
from .settings import Settings, TokenBucket
from .shims.envelope import fail

AccountKey = Callable[[Request], str | None]
"""Names the account a request acts for (from its session token), or None; it must not read the body."""

SHIM_PREFIX: Final = "/prefront"
GRAPHQL_PATH: Final = "/graphql"


class Buckets(Protocol):
    async def take(self, key: str, bucket: TokenBucket, *, now: float, count: int = 1) -> float:
        """Take ``count`` tokens (at most the burst); 0 when there were enough, else the seconds until there
        will be (nothing is taken then)."""
        ...

    async def aclose(self) -> None: ...


class MemoryBuckets:
    """Buckets in this process, pruned when they grow past ``max_keys``."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._state: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    async def take(self, key: str, bucket: TokenBucket, *, now: float, count: int = 1) -> float:
        rate = bucket.per_minute / 60
        need = max(1, min(count, bucket.burst))
        tokens, at = self._state.get(key, (float(bucket.burst), now))
        tokens = min(float(bucket.burst), tokens + max(0.0, now - at) * rate)
        wait = 0.0
        if tokens >= need:
            tokens -= need
        else:
            wait = (need - tokens) / rate
        self._state[key] = (tokens, now)
        if len(self._state) > self._max_keys:
            self._prune()
        return wait

    def __len__(self) -> int:
        """Buckets held now: at most ``max_keys``."""
        return len(self._state)

    def _prune(self) -> None:
        # The half idle for longest goes: a bucket that has refilled meanwhile is the same as none.
        by_age = sorted(self._state.items(), key=lambda item: item[1][1])
        for key, _ in by_age[: len(by_age) // 2]:
            del self._state[key]

    async def aclose(self) -> None:
        self._state.clear()


_TAKE_SCRIPT: Final = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local need = math.max(1, math.min(tonumber(ARGV[4]), capacity))
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= need then tokens = tokens - need else wait = (need - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisBuckets:
    """Buckets in Redis, shared by every worker; keys are ``<prefix>:rl:<key>`` and expire once full again."""

    def __init__(self, url: str, *, prefix: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._prefix = prefix
        self._take = self._redis.register_script(_TAKE_SCRIPT)

    async def take(self, key: str, bucket: TokenBucket, *, now: float, count: int = 1) -> float:
        wait = await self._take(
            keys=[f"{self._prefix}:rl:{key}"], args=[bucket.burst, bucket.per_minute / 60, now, count]
        )
        return float(wait)

    async def aclose(self) -> None:
        await self._redis.aclose()


class RateLimit:
    """ASGI middleware applying ``settings.rate_limits``; a no-op when they are not active."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        account_key: AccountKey | None = None,
        clock: Callable[[], float] = time.time,
        buckets: Buckets | None = None,
    ) -> None:
        self.app = app
        self.limits = settings.rate_limits
        self.trusted_proxies = settings.trusted_proxies
        self.active = self.limits.active(production=not settings.dev)
        self.account_key = account_key
        self.clock = clock
        self.exempt_networks = tuple(ipaddress.ip_network(entry) for entry in self.limits.exempt_ips)
        self.buckets: Buckets
        if buckets is not None:
            self.buckets = buckets
        elif self.limits.backend == "redis":
            self.buckets = RedisBuckets(settings.redis_url, prefix=settings.cache_prefix)
        else:
            self.buckets = MemoryBuckets()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_on_shutdown(send))
            return
        if not self.active or scope["type"] != "http" or scope["path"] in self.limits.exempt_paths:
            await self.app(scope, receive, send)
            return
        operations = 1
        if scope["path"] == GRAPHQL_PATH and scope.get("method") == "POST":
            messages, operations = await _read_operations(scope, receive)
            receive = _replaying(messages, receive)
        wait = await self._wait(scope, operations)
        if wait > 0:
            await self._refuse(scope, wait)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _closing_on_shutdown(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.buckets.aclose()
            await send(message)

        return wrapped

    async def _wait(self, scope: Scope, operations: int = 1) -> float:
        now = self.clock()
        address = address_of(scope, self.trusted_proxies)
        if self.limits.per_ip is not None and address is not None and not self._exempt(address):
            wait = await self.buckets.take(f"ip:{address}", self.limits.per_ip, now=now, count=operations)
            if wait > 0:
                return wait
        if self.limits.per_account is not None and self.account_key is not None:
            account = self.account_key(Request(scope))
            if account is not None:
                return await self.buckets.take(f"account:{account}", self.limits.per_account, now=now, count=operations)
        return 0.0

    def _exempt(self, address: str) -> bool:
        if not self.exempt_networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.exempt_networks)

    @staticmethod
    def _refuse(scope: Scope, wait: float) -> Response:
        retry_after = str(max(1, math.ceil(wait)))
        response: Response
        if scope["path"] == SHIM_PREFIX or scope["path"].startswith(SHIM_PREFIX + "/"):
            response = fail(ReturnCode.BUSY)
        else:
            body: dict[str, Any] = {
                "errors": [
                    {
                        "message": f"Too many requests: retry after {retry_after} s",
                        "extensions": {"code": "RATE_LIMITED", "retryAfter": int(retry_after)},
                    }
                ]
            }
            response = JSONResponse(body, status_code=429)
        response.headers["Retry-After"] = retry_after
        return response


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def count_operations(body: bytes) -> int:
    """How many GraphQL operations a POST body asks for: a JSON array's length (a batch), else 1. Anything
    that does not parse counts 1 (the GraphQL layer refuses it)."""
    if not body.lstrip().startswith(b"["):
        return 1
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return 1
    return max(1, len(parsed)) if isinstance(parsed, list) else 1


async def _read_operations(scope: Scope, receive: Receive) -> tuple[list[Message], int]:
    """The body's messages as received (to hand on) and its operation count; never more than the guard's
    GraphQL limit is held: past it, reading stops, the rest stays with the connection, and it counts 1."""
    limit = LIMITS["graphql"]
    declared = _declared_length(scope)
    if declared is not None and declared > limit:
        return [], 1
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, 1
        size += len(message.get("body", b""))
        if size > limit:
            return messages, 1
        if not message.get("more_body", False):
            break
    return messages, count_operations(b"".join(m.get("body", b"") for m in messages))


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out ``messages`` first, then whatever the connection sends."""
    queue = list(messages)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay
