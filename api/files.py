"""``GET /files/{token}``: the download route behind every file link the graph gives out."""

from __future__ import annotations

from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from resolvers.context import Services
from services.file_links import InvalidFileLink
from services.files import FileRefused, open_file

from .graphql import principal_of


async def download(request: Request) -> Response:
    """Verify the link, ask the hospital, and pass the file on with a safe content type."""
    services: Services = request.app.state.services
    try:
        ref = services.file_links.verify(request.path_params["token"])
    except (InvalidFileLink, KeyError, TypeError, ValueError):
        # Forged, edited or expired: the same answer, so a prober learns nothing from it.
        return _refusal(403, "this download link is invalid or has expired")
    # A link works only for the account it was made for: it must come with that account's session.
    caller = principal_of(request, services.sessions)
    if ref.subject is None or caller is None or caller.subject != ref.subject:
        return _refusal(403, "this download link is invalid or has expired")
    try:
        body = await open_file(
            ref, his=services.his, registry=services.registry, deadline_s=services.request_deadline_s
        )
    except FileRefused as refused:
        return _refusal(refused.status, refused.message)
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(body.filename)}",
        "X-Content-Type-Options": "nosniff",
        # Patients' medical files: never kept by shared caches, and the link expires anyway.
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if body.content_length is not None:
        headers["Content-Length"] = str(body.content_length)
    return StreamingResponse(
        body.chunks, media_type=body.content_type, headers=headers, background=BackgroundTask(body.aclose)
    )


def _refusal(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status, headers={"Cache-Control": "no-store"})


routes = [Route("/files/{token}", download, methods=["GET"])]
