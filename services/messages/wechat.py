"""The WeChat official account's message API: one access_token holder, template and customer-service sends.

``GET {base}/cgi-bin/token`` gives the account's access_token (valid ``expires_in`` seconds, 7200 today);
``POST {base}/cgi-bin/message/template/send`` sends a template message; ``POST {base}/cgi-bin/message/
custom/send`` a customer-service message, which WeChat delivers only within 48 h of the user's last
interaction (the spec's 19.1.6 says 24 h: we keep to the spec's stricter figure, see services.messages.worker).
The base URL is configurable so tests run against a local fake on loopback.

A send answers a `SendOutcome`: SENT, RETRY (rate limit 45009, system busy -1, HTTP 5xx, network) or
UNDELIVERABLE (43004 not following, 43101 refused the subscription, 40003 unknown openid, 45015 outside
the customer-service window). An invalid or expired token (40001, 40014, 42001) is refreshed once and
the message sent again with the new one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Protocol

import aiohttp

from services.payments.clock import Clock, SystemClock

log = logging.getLogger("hisgraph.messages.wechat")

DEFAULT_BASE_URL: Final = "https://api.weixin.qq.com"
TOKEN_INVALID: Final = frozenset({40001, 40014, 42001})
"""The token is wrong or expired: refresh it once and send again."""
UNDELIVERABLE_CODES: Final = frozenset({43004, 43101, 40003, 45015})
"""Not following, refused, unknown openid, outside the customer-service window: no retry helps."""
RATE_LIMITED: Final = 45009


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    UNDELIVERABLE = "undeliverable"


@dataclass(frozen=True, slots=True)
class SendOutcome:
    outcome: Outcome
    detail: str
    """errcode/errmsg or the network error, for the log (never the message's content)."""
    msgid: str | None = None


class WeChatUnavailable(Exception):
    """WeChat could not be reached, answered 5xx or something that is not a JSON object."""


@dataclass(frozen=True, slots=True)
class CachedToken:
    value: str
    expires_at: datetime


class TokenCache(Protocol):
    """Where the access_token lives between fetches. One cache shared by every worker of a deployment
    (WeChat invalidates the previous token a few minutes after a new one is fetched, so instances that
    each fetched their own would keep invalidating each other): a Redis- or store-backed implementation
    plugs in here; `MemoryTokenCache` serves one process."""

    async def get(self) -> CachedToken | None: ...

    async def put(self, token: CachedToken) -> None: ...


class MemoryTokenCache:
    """The token in this process's memory."""

    def __init__(self) -> None:
        self._token: CachedToken | None = None

    async def get(self) -> CachedToken | None:
        return self._token

    async def put(self, token: CachedToken) -> None:
        self._token = token


class OfficialAccountApi:
    """The raw HTTP calls (aiohttp, one session, JSON answers whatever their content type)."""

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, timeout_s: float = 5.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return await self._call("GET", path, params=params)

    async def post(self, path: str, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", path, params={"access_token": access_token}, json=body)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http().request(method, f"{self._base_url}{path}", **kwargs) as reply:
                if reply.status >= 500:
                    raise WeChatUnavailable(f"{path} answered HTTP {reply.status}")
                body = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WeChatUnavailable(f"{path} unreachable: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise WeChatUnavailable(f"{path} answered no object")
        return body

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AccessTokenHolder:
    """The official account's access_token: fetched once, cached, refreshed `refresh_margin` before it
    expires, and refreshed at most once for a token WeChat called invalid (concurrent senders that all
    saw 40001 on the same token cause one fetch)."""

    def __init__(
        self,
        api: OfficialAccountApi,
        *,
        appid: str,
        secret: str,
        cache: TokenCache | None = None,
        clock: Clock | None = None,
        refresh_margin: timedelta = timedelta(minutes=5),
    ) -> None:
        self._api = api
        self._appid = appid
        self._secret = secret
        self._cache = cache or MemoryTokenCache()
        self._clock = clock or SystemClock()
        self._margin = refresh_margin
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        cached = await self._cache.get()
        if cached is not None and self._clock.now() < cached.expires_at - self._margin:
            return cached.value
        async with self._lock:
            cached = await self._cache.get()
            if cached is not None and self._clock.now() < cached.expires_at - self._margin:
                return cached.value
            return await self._fetch()

    async def refresh(self, rejected: str) -> str:
        """A fresh token after WeChat rejected `rejected`; fetched only if that is still the cached one."""
        async with self._lock:
            cached = await self._cache.get()
            if cached is not None and cached.value != rejected and self._clock.now() < cached.expires_at - self._margin:
                return cached.value
            return await self._fetch()

    async def _fetch(self) -> str:
        body = await self._api.get(
            "/cgi-bin/token", {"grant_type": "client_credential", "appid": self._appid, "secret": self._secret}
        )
        value = body.get("access_token")
        if not value or body.get("errcode") not in (None, 0):
            # A wrong appid/secret or a caller IP outside the whitelist: nothing is sent until it is fixed.
            raise WeChatUnavailable(f"cgi-bin/token refused: errcode {body.get('errcode')}")
        expires_in = int(body.get("expires_in") or 7200)
        await self._cache.put(CachedToken(str(value), self._clock.now() + timedelta(seconds=expires_in)))
        log.info("official-account access_token fetched", extra={"expires_in": expires_in})
        return str(value)


class TemplateMessageSender:
    """Sends template and customer-service messages through one `AccessTokenHolder`."""

    def __init__(self, api: OfficialAccountApi, tokens: AccessTokenHolder) -> None:
        self._api = api
        self._tokens = tokens

    async def send_template(
        self,
        *,
        openid: str,
        template_id: str,
        data: dict[str, str],
        url: str | None = None,
        miniprogram: dict[str, str] | None = None,
    ) -> SendOutcome:
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = miniprogram
        return await self._send("/cgi-bin/message/template/send", body)

    async def send_text(self, *, openid: str, content: str) -> SendOutcome:
        """A customer-service text message (only within the window after the user's last interaction)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return await self._send("/cgi-bin/message/custom/send", body)

    async def _send(self, path: str, body: dict[str, Any]) -> SendOutcome:
        try:
            token = await self._tokens.token()
            answer = await self._api.post(path, token, body)
            if _errcode(answer) in TOKEN_INVALID:
                token = await self._tokens.refresh(token)
                answer = await self._api.post(path, token, body)
        except WeChatUnavailable as error:
            return SendOutcome(Outcome.RETRY, str(error))
        return _classify(answer)


def _errcode(answer: dict[str, Any]) -> int:
    try:
        return int(answer.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def _classify(answer: dict[str, Any]) -> SendOutcome:
    code = _errcode(answer)
    detail = f"errcode {code}: {answer.get('errmsg', '')}"
    if code == 0:
        msgid = answer.get("msgid")
        return SendOutcome(Outcome.SENT, detail, None if msgid is None else str(msgid))
    if code in UNDELIVERABLE_CODES:
        return SendOutcome(Outcome.UNDELIVERABLE, detail)
    # 45009 (quota), -1 (busy), a token still refused after one refresh, and codes we do not know (a
    # template misconfigured, fixed by an operator): tried again after a backoff, up to the worker's limit.
    return SendOutcome(Outcome.RETRY, detail)
