"""Signed HTTP calls to the API v3 over aiohttp, with WeChat's answers turned into our error tree.

``ProviderUnavailable``: not reached, timed out, 5xx, 429 (FREQUENCY_LIMITED), or an answer we cannot
read or trust (``WeChatPayProtocolError``, ``ResponseNotVerified``): nothing is known, ask again later.
``ProviderRejected(code, message)``: a 4xx with WeChat's ``{code, message}`` (ORDER_NOT_EXIST, ...).
The caller verifies the signature of a 2xx (``Reply``); like WeChat's own SDKs we do not require one on
errors, which some gateways in front of WeChat answer unsigned.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from services.tracing import outbound

from ..base import ProviderRejected, ProviderUnavailable
from .config import WeChatPayConfig
from .signing import authorization, new_nonce

TOO_MANY_REQUESTS = 429
USER_AGENT = "hisgraph-wechatpay/1.0"


class WeChatPayProtocolError(ProviderUnavailable):
    """WeChat answered something we cannot read (not JSON, fields missing): no clear answer."""


class ResponseNotVerified(ProviderUnavailable):
    """A 2xx whose signature did not check out: we cannot trust it, so it counts as no answer."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        try:
            document = json.loads(self.body)
        except ValueError as exc:
            raise WeChatPayProtocolError(f"reply is not JSON: {self.body[:200]!r}") from exc
        if not isinstance(document, dict):
            raise WeChatPayProtocolError(f"reply is not a JSON object: {self.body[:200]!r}")
        return document


class WeChatPayClient:
    """One keep-alive session to WeChat; every request carries our ``Authorization`` signature."""

    def __init__(
        self, config: WeChatPayConfig, *, private_key: rsa.RSAPrivateKey, clock: Callable[[], datetime]
    ) -> None:
        self._config = config
        self._private_key = private_key
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_s),
                trust_env=False,
                trace_configs=[outbound("wechatpay")],
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> Reply:
        """A signed call to ``base_url + path``; returns a 2xx reply (not yet verified) or raises."""
        url = self._config.base_url + path + (f"?{urlencode(query)}" if query else "")
        body = b"" if json_body is None else json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
        return await self._send(method, url, body=body)

    async def download(self, url: str) -> bytes:
        """A signed GET of a file WeChat named (a bill's download_url): only on WeChat's own host."""
        if urlsplit(url)[:2] != urlsplit(self._config.base_url)[:2]:
            raise WeChatPayProtocolError(f"refusing to send our signature to {url}")
        return (await self._send("GET", url, body=b"")).body

    async def _send(self, method: str, url: str, *, body: bytes) -> Reply:
        parts = urlsplit(url)
        path_with_query = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Authorization": authorization(
                mchid=self._config.mchid,
                serial_no=self._config.merchant_serial_no,
                private_key=self._private_key,
                method=method,
                path_with_query=path_with_query,
                body=body,
                timestamp=int(self._clock().timestamp()),
                nonce=new_nonce(),
            ),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,  # WeChat refuses requests without one
        }
        if self._config.platform_public_key_id is not None:
            # Public-key mode: WeChat signs its reply with the key this names. Without it, a merchant
            # being moved off platform certificates gets replies signed by a certificate it never had.
            headers["Wechatpay-Serial"] = self._config.platform_public_key_id
        if body:
            headers["Content-Type"] = "application/json"
        try:
            async with self._open().request(
                method, URL(url, encoded=True), data=body or None, headers=headers, allow_redirects=False
            ) as response:
                reply = Reply(
                    status=response.status,
                    headers={name.lower(): value for name, value in response.headers.items()},
                    body=await response.read(),
                )
        except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
            raise ProviderUnavailable(f"WeChat Pay not reached: {type(exc).__name__}: {exc}") from exc
        if 200 <= reply.status < 300:
            return reply
        if reply.status >= 500 or reply.status == TOO_MANY_REQUESTS:
            raise ProviderUnavailable(f"WeChat Pay answered {reply.status}: {reply.body[:200]!r}")
        error = reply.json()
        code, message = error.get("code"), error.get("message")
        if not isinstance(code, str):
            raise WeChatPayProtocolError(f"WeChat Pay answered {reply.status} without a code: {reply.body[:200]!r}")
        raise ProviderRejected(code, str(message or ""))

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            await asyncio.sleep(0)  # let the connector finish closing its transports, so nothing warns
