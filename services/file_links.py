"""Signed download links for hospital files (report PDFs, DICOM images, invoice images).

GraphQL never carries a file as a giant string: it gives a link to ``GET /files/{token}``, and the
token says which HIS call yields the file and how to read it. Tokens are signed (HMAC-SHA256 with
the deployment's secret) and expire, so a link cannot be forged or edited to reach another file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

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
    def __init__(self, secret: bytes, *, ttl_s: int = 600, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._ttl_s = ttl_s
        self._clock = clock

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
        payload = {
            "h": hospital_id,
            "m": method,
            "r": request,
            "k": kind,
            "f": field,
            "n": filename,
            "c": content_type,
            "x": int(self._clock()) + self._ttl_s,
            "s": subject,
        }
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{body.decode().rstrip('=')}.{self._mac(body.rstrip(b'='))}"

    def verify(self, token: str) -> FileRef:
        body, _, mac = token.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body.encode())):
            raise InvalidFileLink("bad signature")
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidFileLink("unreadable") from exc
        if int(payload["x"]) < self._clock():
            raise InvalidFileLink("expired")
        return FileRef(
            hospital_id=payload["h"],
            method=payload["m"],
            request=payload["r"],
            kind=payload["k"],
            field=payload["f"],
            filename=payload["n"],
            content_type=payload["c"],
            expires_at=int(payload["x"]),
            subject=payload.get("s"),
        )

    def _mac(self, body: bytes) -> str:
        digest = hmac.new(self._secret, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
