"""``GET /files/{token}?expires=...``: the download route behind every file link the graph gives out.

A link needs no header (the mini-program's ``<image src>`` and ``wx.downloadFile`` send none): the sealed,
short-lived token is the permission (services/file_links.py). A link that cannot be served says why, by
status and code, as JSON: 400 ``LINK_MALFORMED``, 403 ``LINK_FOREIGN``, 410 ``LINK_EXPIRED``. What is served
is typed by the code (services/files.py), never by the hospital's header, with ``nosniff``.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from resolvers.context import Services
from services.file_links import InvalidFileLink, MalformedFileLink
from services.files import FileRefused, open_file

log = logging.getLogger("hisgraph.files")

_REFUSAL_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


async def download(request: Request) -> Response:
    """Open the link, ask the hospital, and pass the file on with the type the code decided."""
    services: Services = request.app.state.services
    try:
        ref = services.file_links.verify(request.path_params["token"])
        expires = request.query_params.get("expires")
        if expires is not None and expires != str(ref.expires_at):
            raise MalformedFileLink("the link's expiry was edited")
    except InvalidFileLink as refused:
        return _refusal(refused.status, refused.code, _LINK_MESSAGES[refused.code])
    try:
        body = await open_file(
            ref, his=services.his, registry=services.registry, deadline_s=services.request_deadline_s
        )
    except FileRefused as refused:
        return _refusal(refused.status, refused.code, refused.message)
    log.info("file served", extra={"hospitalId": ref.hospital_id, "method": ref.method, "subject": ref.subject})
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(body.filename)}",
        "X-Content-Type-Options": "nosniff",
        # Patients' medical files: never kept by shared caches, and the link expires anyway.
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Referrer-Policy": "no-referrer",
    }
    if body.content_length is not None:
        headers["Content-Length"] = str(body.content_length)
    return StreamingResponse(
        body.chunks, media_type=body.content_type, headers=headers, background=BackgroundTask(body.aclose)
    )


_LINK_MESSAGES = {
    "LINK_MALFORMED": "这不是有效的文件链接，请从报告页面重新打开。",
    "LINK_FOREIGN": "该文件链接无效，请从报告页面重新打开。",
    "LINK_EXPIRED": "文件链接已过期，请返回报告页面刷新后重新打开。",
    "LINK_INVALID": "该文件链接无效，请从报告页面重新打开。",
}


def _refusal(status: int, code: str, message: str) -> Response:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=_REFUSAL_HEADERS)


routes = [Route("/files/{token}", download, methods=["GET"])]
