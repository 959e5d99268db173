"""A local fake of WeChat's jscode2session, on loopback, for the login tests.

Codes that start with ``ok-`` sign in as ``openid-<rest>`` (with a unionid); any other code is
refused with errcode 40029 (invalid code), as WeChat does.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def jscode2session(request: Request) -> JSONResponse:
    query = request.query_params
    if query.get("grant_type") != "authorization_code" or query.get("appid") != "wx-test-app":
        return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
    if query.get("secret") != "wx-test-secret":
        return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
    code = query.get("js_code", "")
    if not code.startswith("ok-"):
        return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
    user = code.removeprefix("ok-")
    # WeChat answers JSON with a text/plain content type.
    return JSONResponse(
        {"openid": f"openid-{user}", "session_key": "c2Vzc2lvbg==", "unionid": f"union-{user}"},
        media_type="text/plain",
    )


def fake_wechat_app() -> Starlette:
    return Starlette(routes=[Route("/sns/jscode2session", jscode2session, methods=["GET"])])
