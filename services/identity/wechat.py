"""WeChat mini-program login: exchanging a ``wx.login`` code at ``jscode2session``.

The base URL is configurable so tests run against a local fake of the API on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from services.refusals import RefusalCode, Refused
from services.tracing import outbound


@dataclass(frozen=True, slots=True)
class WeChatSession:
    openid: str
    unionid: str | None


class WeChatLoginError(Refused):
    """WeChat refused the code (errcode) or could not be reached: 50001, with fixed words for the user.

    ``detail`` says what WeChat answered, for the log only."""

    def __init__(self, detail: str, *, errcode: int | None = None) -> None:
        super().__init__(RefusalCode.UNAUTHORIZED, "微信登录失败，请重新进入小程序后再试。")
        self.detail = detail
        self.errcode = errcode


class WeChatLogin:
    def __init__(self, *, appid: str, secret: str, base_url: str = "https://api.weixin.qq.com", timeout_s: float = 5.0):
        self._appid = appid
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def exchange(self, code: str) -> WeChatSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, trace_configs=[outbound("wechat.login")])
        params = {"appid": self._appid, "secret": self._secret, "js_code": code, "grant_type": "authorization_code"}
        try:
            async with self._session.get(f"{self._base_url}/sns/jscode2session", params=params) as reply:
                # WeChat answers text/plain JSON; read it whatever the content type says.
                body = await reply.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WeChatLoginError(f"jscode2session unreachable: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise WeChatLoginError("jscode2session answered no object")
        errcode = body.get("errcode")
        if errcode not in (None, 0) or not body.get("openid"):
            raise WeChatLoginError(f"jscode2session refused the code: {body.get('errmsg', '')}", errcode=errcode)
        return WeChatSession(openid=str(body["openid"]), unionid=body.get("unionid") or None)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
