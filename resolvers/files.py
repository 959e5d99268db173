"""Download links in the graph: a file is an absolute URL to ``/files/{token}``, never a base64 string."""

from __future__ import annotations

from typing import Any

from his_clients.method import HisMethod
from his_clients.models.base import HisRequest
from services.file_links import FileKind

from .context import Info


def file_url(
    info: Info,
    *,
    hospital_id: str,
    method: HisMethod[Any, Any],
    request: HisRequest,
    kind: FileKind,
    field: str | None,
    filename: str,
    content_type: str | None = None,
) -> str:
    """An absolute, sealed, expiring link that serves the file this HIS call yields (see api/files.py and
    services/file_links.py): usable as it is in ``<image src>``, with no header, and unreadable."""
    principal = info.context.principal
    return info.context.services.file_links.link(
        subject=principal.subject if principal is not None else None,
        hospital_id=hospital_id,
        method=method.name,
        request=request.to_wire(),
        kind=kind,
        field=field,
        filename=filename,
        content_type=content_type,
    )
