"""Signed download links for hospital files (report PDFs, DICOM images, invoice images).

GraphQL never carries a file as a giant string: it gives a link to ``GET /files/{token}``, and the
token says which HIS call yields the file and how to read it. Tokens are signed (HMAC-SHA256 with
the deployment's secret) and expire, so a link cannot be forged or edited to reach another file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .signing import InvalidToken, Signer

FileKind = Literal["base64", "url", "stream"]
"""base64: a field of the reply holds the file; url: a field holds a URL on the hospital's file
host; stream: the method itself answers the bytes (16.1.4)."""


@dataclass(frozen=True, slots=True)
class FileRef:
    """What a download link points at."""

    hospital_id: str
    method: str
    request: dict[str, Any]
    kind: FileKind
    field: str | None
    filename: str
    content_type: str | None
    expires_at: int
    subject: str | None = None
    """Who the link was made for (an account id, once accounts exist); checked again on download."""


class InvalidFileLink(Exception):
    """The token was forged, edited or has expired."""


class FileLinkSigner:
    """Signs and reads file links (services.signing, under a purpose of their own)."""

    def __init__(self, secret: bytes, *, ttl_s: int = 600, clock: Callable[[], float] = time.time) -> None:
        self._signer = Signer(secret, purpose="file-link", clock=clock)
        self._ttl_s = ttl_s

    def sign(
        self,
        *,
        hospital_id: str,
        method: str,
        request: dict[str, Any],
        kind: FileKind,
        field: str | None,
        filename: str,
        content_type: str | None = None,
        subject: str | None = None,
    ) -> str:
        payload = {"h": hospital_id, "m": method, "r": request, "k": kind, "f": field, "n": filename}
        return self._signer.sign({**payload, "c": content_type, "s": subject}, ttl_s=self._ttl_s)

    def verify(self, token: str) -> FileRef:
        try:
            payload = self._signer.verify(token)
        except InvalidToken as exc:
            raise InvalidFileLink(str(exc)) from exc
        return FileRef(
            hospital_id=payload["h"],
            method=payload["m"],
            request=payload["r"],
            kind=payload["k"],
            field=payload["f"],
            filename=payload["n"],
            content_type=payload["c"],
            expires_at=int(payload["exp"]),
            subject=payload.get("s"),
        )
