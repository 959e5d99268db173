"""Signed, expiring tokens: HMAC-SHA256 over a compact JSON payload (session tokens, links)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from his_clients import jsonio


class InvalidToken(Exception):
    """Forged, edited, unreadable or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs payloads for ``purpose``; a token signed for one purpose never verifies for another."""

    def __init__(self, secret: bytes, *, purpose: str, clock: Callable[[], float] = time.time) -> None:
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()
        self._clock = clock

    def sign(self, payload: dict[str, Any], *, ttl_s: int) -> str:
        body = _b64(json.dumps({**payload, "exp": int(self._clock()) + ttl_s}, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str) -> dict[str, Any]:
        body, _, mac = token.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidToken("bad signature")
        try:
            payload = jsonio.loads(_unb64(body))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidToken("unreadable") from exc
        if not isinstance(payload, dict) or self.expired(int(payload.get("exp", 0))):
            raise InvalidToken("expired")
        return payload

    def expired(self, exp: int) -> bool:
        """Whether a payload's ``exp`` (seconds since the epoch) has passed."""
        return exp < self._clock()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
