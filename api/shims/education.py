"""23.2.2 prefront/inhospitalEducation/getQrCode: the official account's QR code for a hospital's patient."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.shims.ledger import ShimCall, record_call

from .platform import platform_shim, reply_response, success_reply


@platform_shim("23.2.2")
async def education_qr_code_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """23.2.2: a link for the patient to scan and follow the official account.

    For now the platform's own follow link for the hospital (no personal data in it); a WeChat
    parametrised QR code (qrcode/create with a scene naming the patient) comes with the WeChat worker.
    """
    assert call.hospital_id is not None
    base = str(request.app.state.settings.public_base_url).rstrip("/")
    link = f"{base}/wechat/follow?hospitalId={quote(call.hospital_id)}"
    reply = success_reply("23.2.2", link)
    await record_call(request.app.state.services.db, call, reply_code=str(reply["code"]), reply=reply)
    return reply_response(reply)


routes = [Route("/prefront/inhospitalEducation/getQrCode", education_qr_code_shim, methods=["POST"])]
