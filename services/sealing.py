"""Sealing short-lived copies of what we must not keep readable (AES-256-GCM).

A ``Sealer`` encrypts bytes under a key of its own, derived from a deployment secret and a purpose
(``HMAC-SHA256(secret, purpose)``), so one secret can serve several purposes without one's copies
opening as another's. Each copy is bound to associated data the caller names (for the inbound ledger:
the row's id), so a copy moved to another row does not open. The text form is ``v1.<urlsafe base64 of
nonce | ciphertext | tag>``: it holds no plaintext.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION: Final = "v1"
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16


class Unsealable(Exception):
    """Not a copy sealed by this key for this associated data (another secret, another row, or edited)."""


class Sealer:
    """Seals and opens bytes and JSON values with AES-256-GCM under ``HMAC-SHA256(secret, purpose)``."""

    def __init__(self, secret: bytes, *, purpose: bytes) -> None:
        if not secret:
            raise ValueError("a sealing secret is required")
        self._aead = AESGCM(hmac.new(secret, purpose, hashlib.sha256).digest())

    def seal(self, plain: bytes, *, associated: bytes) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain, associated)
        return f"{_VERSION}.{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"

    def open(self, text: str, *, associated: bytes) -> bytes:
        version, _, body = text.partition(".")
        if version != _VERSION or not body:
            raise Unsealable("not a sealed copy")
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise Unsealable("not a sealed copy") from None
        if len(sealed) < _NONCE_BYTES + _TAG_BYTES:
            raise Unsealable("not a sealed copy")
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], associated)
        except InvalidTag:
            raise Unsealable("sealed by another key, for another row, or edited") from None

    def seal_json(self, value: Any, *, associated: bytes) -> str:
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), associated=associated)

    def open_json(self, text: str, *, associated: bytes) -> Any:
        return json.loads(self.open(text, associated=associated))


class LedgerSealer:
    """The inbound ledger's sealed copies of original bodies: bound to the row id, kept ``ttl`` long."""

    PURPOSE: Final = b"hisgraph inbound-ledger sealed body key"

    def __init__(self, secret: bytes, *, ttl: timedelta) -> None:
        self._sealer = Sealer(secret, purpose=self.PURPOSE)
        self.ttl = ttl

    @staticmethod
    def _associated(row_id: int) -> bytes:
        return f"inbound_calls:{row_id}".encode()

    def seal(self, row_id: int, body: Any) -> str:
        return self._sealer.seal_json(body, associated=self._associated(row_id))

    def open(self, row_id: int, sealed: str) -> Any:
        return self._sealer.open_json(sealed, associated=self._associated(row_id))

    def until(self, now: datetime) -> datetime:
        return now + self.ttl
