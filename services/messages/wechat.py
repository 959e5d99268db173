"""The WeChat official account's message API: template and customer-service sends.

``POST {base}/cgi-bin/message/template/send`` sends a template message; ``POST {base}/cgi-bin/message/
custom/send`` a customer-service message, which WeChat delivers only within 48 h of the user's last
interaction (the spec's 19.1.6 says 24 h: we keep to the spec's stricter figure, see services.messages.worker).
The access_token comes from one `AccessTokenHolder` (services.messages.tokens). The base URL is
configurable so tests run against a local fake on loopback.

A template send carries ``client_msg_id`` (防重入id): WeChat sends one message per openid and
client_msg_id within 10 minutes, so a template message sent again under the same id after a crash is
not shown twice. Customer-service sends take no such id.

A send answers a `SendOutcome`:

- SENT (errcode 0, or 45065 "clientmsgid exist": the message under this id was delivered already);
- UNDELIVERABLE (43004 not following, 43101 refused the subscription, 40003 unknown openid, 45015
  outside the customer-service window): no retry helps;
- RETRY: WeChat did not take the message (45009 rate limit, -1 busy, an unknown errcode, HTTP 503, a
  connection never made, no access_token): safe to send again later;
- UNKNOWN: the request may have reached WeChat and no answer came back (read timeout, connection
  dropped, HTTP 5xx other than 503, an unreadable answer): it may have been delivered.

An invalid or expired token (40001, 40014, 42001) is refreshed once and the message sent again with
the new one (WeChat refused the first request, so nothing was delivered by it).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

import aiohttp

from services.tracing import outbound

log = logging.getLogger("hisgraph.messages.wechat")

DEFAULT_BASE_URL: Final = "https://api.weixin.qq.com"
TOKEN_INVALID: Final = frozenset({40001, 40014, 42001})
"""The token is wrong or expired: refresh it once and send again."""
UNDELIVERABLE_CODES: Final = frozenset({43004, 43101, 40003, 45015})
"""Not following, refused, unknown openid, outside the customer-service window: no retry helps."""
RATE_LIMITED: Final = 45009
CLIENT_MSG_ID_TAKEN: Final = 45065
"""clientmsgid exist: a message under this client_msg_id went out already (documented for mass sends;
taken the same way should a template send ever answer it)."""
JSON_UTF8: Final = {"Content-Type": "application/json; charset=utf-8"}
NOT_PROCESSED_STATUSES: Final = frozenset({503})
"""HTTP statuses that say the request was not processed; any other 5xx may come after it was."""


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    """Not delivered: safe to send again."""
    UNDELIVERABLE = "undeliverable"
    UNKNOWN = "unknown"
    """The request may have reached WeChat and no answer came back: it may have been delivered."""


@dataclass(frozen=True, slots=True)
class SendOutcome:
    outcome: Outcome
    detail: str
    """errcode/errmsg or the network error, for the log (never the message's content)."""
    msgid: str | None = None


class WeChatUnavailable(Exception):
    """WeChat could not be reached, answered 5xx or something that is not a JSON object."""

    def __init__(self, message: str, *, maybe_processed: bool = False) -> None:
        super().__init__(message)
        self.maybe_processed = maybe_processed
        """True when the request may have reached WeChat and been acted on (no answer came back)."""


class OfficialAccountApi:
    """The raw HTTP calls (aiohttp, one session, JSON answers whatever their content type).

    The connect timeout is shorter than the total one, so a connection that was never made (nothing
    sent) is told apart from an answer that never came (something may have been acted on).
    """

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, timeout_s: float = 5.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=timeout_s / 2, sock_read=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, trace_configs=[outbound("wechat.official")])
        return self._session

    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        return await self._call("GET", path, params=params)

    async def post(self, path: str, access_token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.post_json(path, body, params={"access_token": access_token})

    async def post_json(
        self, path: str, body: dict[str, Any], *, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST ``body`` as raw UTF-8 JSON: some endpoints refuse Chinese escaped as ``\\uXXXX`` (40033),
        and WeChat's own SDKs send it unescaped."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return await self._call("POST", path, params=params or {}, data=data, headers=JSON_UTF8)

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._http().request(method, f"{self._base_url}{path}", **kwargs) as reply:
                if reply.status >= 500:
                    raise WeChatUnavailable(
                        f"{path} answered HTTP {reply.status}",
                        maybe_processed=reply.status not in NOT_PROCESSED_STATUSES,
                    )
                body = await reply.json(content_type=None)
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise WeChatUnavailable(f"{path} unreachable: {type(exc).__name__}") from exc
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WeChatUnavailable(f"{path} gave no answer: {type(exc).__name__}", maybe_processed=True) from exc
        if not isinstance(body, dict):
            raise WeChatUnavailable(f"{path} answered no object", maybe_processed=True)
        return body

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class TokenSource(Protocol):
    """What a sender needs of the access_token holder (services.messages.tokens.AccessTokenHolder)."""

    async def token(self) -> str: ...

    async def refresh(self, rejected: str) -> str: ...


class TemplateMessageSender:
    """Sends template and customer-service messages through one access_token holder."""

    def __init__(self, api: OfficialAccountApi, tokens: TokenSource) -> None:
        self._api = api
        self._tokens = tokens

    async def ready(self) -> SendOutcome | None:
        """None when an access_token is at hand; otherwise why not (a RETRY outcome). Asked before a
        message is marked as being sent, so the wait for a token is never mistaken for a send."""
        try:
            await self._tokens.token()
        except WeChatUnavailable as error:
            return SendOutcome(Outcome.RETRY, str(error))
        return None

    async def send_template(
        self,
        *,
        openid: str,
        template_id: str,
        data: dict[str, str],
        client_msg_id: str | None = None,
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
        if client_msg_id:
            body["client_msg_id"] = client_msg_id
        return await self._send("/cgi-bin/message/template/send", body)

    async def send_text(self, *, openid: str, content: str) -> SendOutcome:
        """A customer-service text message (only within the window after the user's last interaction)."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        return await self._send("/cgi-bin/message/custom/send", body)

    async def _send(self, path: str, body: dict[str, Any]) -> SendOutcome:
        try:
            token = await self._tokens.token()
        except WeChatUnavailable as error:
            return SendOutcome(Outcome.RETRY, str(error))
        try:
            answer = await self._api.post(path, token, body)
            if _errcode(answer) in TOKEN_INVALID:
                # Refused, so not delivered: the same request again with a fresh token.
                try:
                    token = await self._tokens.refresh(token)
                except WeChatUnavailable as error:
                    return SendOutcome(Outcome.RETRY, str(error))
                answer = await self._api.post(path, token, body)
        except WeChatUnavailable as error:
            return SendOutcome(Outcome.UNKNOWN if error.maybe_processed else Outcome.RETRY, str(error))
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
    if code == CLIENT_MSG_ID_TAKEN:
        return SendOutcome(Outcome.SENT, f"{detail} (delivered earlier under this client_msg_id)")
    if code in UNDELIVERABLE_CODES:
        return SendOutcome(Outcome.UNDELIVERABLE, detail)
    # 45009 (quota), -1 (busy), a token still refused after one refresh, and codes we do not know (a
    # template misconfigured, fixed by an operator): tried again after a backoff, up to the worker's limit.
    return SendOutcome(Outcome.RETRY, detail)
