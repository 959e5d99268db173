"""Download links for hospital files (report PDFs, DICOM images, invoice images).

GraphQL never carries a file as a giant string: it gives an absolute link to ``GET /files/{token}``
that the mini-program can put straight into ``<image src>`` or ``wx.downloadFile``: it needs no header,
and says its expiry (``?expires=<unix seconds>``). The token says which HIS call yields the file and how
to read it. It is sealed, not only signed: AES-256-GCM under a key derived from the deployment's
``file_link_secret``, so nobody can read the card number or the report id from a link (in a log, a
browser history, a screenshot) nor forge or edit one; and it expires (``file_link_ttl_s``, 10 minutes).

A link that cannot be served is told apart by why (``InvalidFileLink.code``): malformed (not a token of
ours at all), foreign (a well-formed token this deployment did not make, or edited), expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FileKind = Literal["base64", "url", "stream"]
"""base64: a field of the reply holds the file; url: a field holds a URL on the hospital's file
host; stream: the method itself answers the bytes (16.1.4)."""

_VERSION: Final = "f1"
_AAD: Final = b"hisgraph file link f1"
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
MAX_TOKEN_LENGTH: Final = 4096
"""Longer than any link we make; anything longer is refused unread."""


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
    """Who the link was made for (an account id); for the log of who downloaded what."""


class InvalidFileLink(Exception):
    """The link cannot be served; ``code`` and ``status`` say why (see the subclasses)."""

    code = "LINK_INVALID"
    status = 403


class MalformedFileLink(InvalidFileLink):
    """Not a link of ours at all: cut short, mistyped, or another kind of token."""

    code = "LINK_MALFORMED"
    status = 400


class ForeignFileLink(InvalidFileLink):
    """Shaped like our links, but this deployment did not make it (or it was edited)."""

    code = "LINK_FOREIGN"
    status = 403


class ExpiredFileLink(InvalidFileLink):
    """Ours, and was valid: ask the graph for a fresh link."""

    code = "LINK_EXPIRED"
    status = 410


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class FileLinkSigner:
    """Seals and opens file links (AES-256-GCM, a key of their own derived from the secret)."""

    def __init__(
        self, secret: bytes, *, ttl_s: int = 600, base_url: str = "", clock: Callable[[], float] = time.time
    ) -> None:
        self._aead = AESGCM(hmac.new(secret, b"hisgraph file-link key", hashlib.sha256).digest())
        self._ttl_s = ttl_s
        self._base_url = base_url.rstrip("/")
        """Where patients reach this gateway (``public_base_url``): links are absolute."""
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
        """The token of a link to this file, valid for the signer's ``ttl_s``."""
        return self._seal(
            hospital_id=hospital_id,
            method=method,
            request=request,
            kind=kind,
            field=field,
            filename=filename,
            content_type=content_type,
            subject=subject,
        )[0]

    def link(self, **what: Any) -> str:
        """The link to this file: ``{base_url}/files/{token}?expires={unix seconds}`` (arguments as ``sign``)."""
        token, expires_at = self._seal(**what)
        return f"{self._base_url}/files/{token}?expires={expires_at}"

    def _seal(
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
    ) -> tuple[str, int]:
        expires_at = int(self._clock()) + self._ttl_s
        payload = {
            "h": hospital_id,
            "m": method,
            "r": request,
            "k": kind,
            "f": field,
            "n": filename,
            "c": content_type,
            "s": subject,
            "exp": expires_at,
        }
        plain = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        nonce = os.urandom(_NONCE_BYTES)
        return f"{_VERSION}.{_b64(nonce + self._aead.encrypt(nonce, plain, _AAD))}", expires_at

    def verify(self, token: str) -> FileRef:
        """The file a token points at; raises MalformedFileLink, ForeignFileLink or ExpiredFileLink."""
        version, _, body = token.partition(".")
        if version != _VERSION or not body or len(token) > MAX_TOKEN_LENGTH:
            raise MalformedFileLink("not a file link")
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise MalformedFileLink("not a file link") from None
        if len(sealed) < _NONCE_BYTES + _TAG_BYTES:
            raise MalformedFileLink("not a file link")
        try:
            plain = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _AAD)
        except InvalidTag:
            raise ForeignFileLink("not a link of this deployment, or edited") from None
        try:
            payload = json.loads(plain)
            ref = FileRef(
                hospital_id=str(payload["h"]),
                method=str(payload["m"]),
                request=dict(payload["r"]),
                kind=payload["k"],
                field=payload["f"],
                filename=str(payload["n"]),
                content_type=payload["c"],
                expires_at=int(payload["exp"]),
                subject=payload.get("s"),
            )
        except (ValueError, KeyError, TypeError):  # sealed by us, so only an old format could get here
            raise MalformedFileLink("unreadable file link") from None
        if ref.expires_at < self._clock():
            raise ExpiredFileLink("expired")
        return ref
