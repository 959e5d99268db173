"""Who is asking: a patient's account or an operator, carried in a signed session token."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from cachetools import LRUCache

from ..signing import InvalidToken, Signer

OperatorRole = Literal["region", "hospital"]


@dataclass(frozen=True, slots=True)
class PatientPrincipal:
    """A patient's WeChat account: reaches only the cards it has proven."""

    account_id: int

    @property
    def subject(self) -> str:
        return f"account:{self.account_id}"


@dataclass(frozen=True, slots=True)
class OperatorPrincipal:
    """A dashboard user: a region operator sees every hospital, a hospital operator only theirs."""

    operator_id: int
    role: OperatorRole
    hospital_id: str | None
    session_id: str | None = None
    """The stored session (table ``operator_sessions``) this request runs under: re-checked on every request,
    so a disabled, deleted or re-passworded operator, an ended or idle session, loses access at once."""
    username: str | None = None
    """Filled from the store when the session is checked."""

    @property
    def subject(self) -> str:
        return f"operator:{self.operator_id}"

    def may_see(self, hospital_id: str) -> bool:
        return self.role == "region" or hospital_id == self.hospital_id


@dataclass(frozen=True, slots=True)
class InvalidSession:
    """A bearer token was sent but is not a valid session (forged, edited, expired, unreadable, non-ASCII).

    Not anonymous: the caller meant to be someone, so every field that depends on who is asking answers an
    error (code ``UNAUTHENTICATED``, reason ``INVALID_SESSION``) instead of a silent null. It names no one: its
    ``subject`` is None (rate limits fall back to the client address; file links made for it open for no one).
    """

    reason: str = "invalid"

    @property
    def subject(self) -> None:
        return None


Principal = PatientPrincipal | OperatorPrincipal | InvalidSession

MAX_TOKEN_LENGTH = 4096
"""Longer bearer tokens are refused unread (ours are about 100 characters)."""

VERIFIED_TOKENS: Final = 4096
"""Tokens whose signature has been checked, kept (LRU, per worker) with what they name and when they expire:
a client sends the same token with every request, and checking it (HMAC, base64, JSON) cost ~10 us each time.
Only a token that verified is kept, so forged ones cannot fill it; at ~150 bytes each it holds about 1 MB."""


class SessionTokens:
    """Issues and reads session tokens (HMAC-signed, expiring). A patient's token needs no look-up; an
    operator's names a stored session that is checked on every request (services/identity/operator_sessions.py)."""

    def __init__(self, secret: bytes, *, ttl_s: int = 7 * 24 * 3600, clock: Callable[[], float] = time.time) -> None:
        self._signer = Signer(secret, purpose="session", clock=clock)
        self.ttl_s = ttl_s
        self._verified: LRUCache[str, tuple[PatientPrincipal | OperatorPrincipal, int]] = LRUCache(VERIFIED_TOKENS)

    def issue(self, principal: Principal, *, ttl_s: int | None = None) -> str:
        if isinstance(principal, InvalidSession):
            raise ValueError("an invalid session cannot be issued")
        if isinstance(principal, PatientPrincipal):
            return self._signer.sign({"k": "p", "a": principal.account_id}, ttl_s=ttl_s or self.ttl_s)
        if not principal.session_id:
            raise ValueError("an operator's token needs a stored session (OperatorSessions.start)")
        return self._signer.sign(
            {
                "k": "o",
                "o": principal.operator_id,
                "r": principal.role,
                "h": principal.hospital_id,
                "s": principal.session_id,
            },
            ttl_s=ttl_s or self.ttl_s,
        )

    def read(self, token: str) -> Principal:
        """The principal a token names, or ``InvalidSession`` when it is forged, edited, expired or malformed.

        Never raises, whatever the token holds (non-ASCII, huge, not a string): only ASCII tokens reach the
        HMAC comparison, which then compares bytes.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return InvalidSession("malformed")
        known = self._verified.get(token)  # the very text of a token that verified before (VERIFIED_TOKENS)
        if known is not None:
            if not self._signer.expired(known[1]):
                return known[0]
            del self._verified[token]
            return InvalidSession("invalid or expired")
        try:
            payload = self._signer.verify(token)
        except (InvalidToken, ValueError, TypeError, OverflowError):
            return InvalidSession("invalid or expired")
        principal = self._principal(payload)
        if not isinstance(principal, InvalidSession):
            self._verified[token] = (principal, int(payload["exp"]))
        return principal

    @staticmethod
    def _principal(payload: dict[str, Any]) -> Principal:
        account = payload.get("a")
        operator = payload.get("o")
        if payload.get("k") == "p" and type(account) is int:
            return PatientPrincipal(account_id=account)
        hospital = payload.get("h")
        session = payload.get("s")
        if (
            payload.get("k") == "o"
            and type(operator) is int
            and payload.get("r") in ("region", "hospital")
            and (hospital is None or isinstance(hospital, str))
            and isinstance(session, str)
            and session
        ):
            # Only a claim: OperatorSessions.check (every request) replaces it with what the store says.
            return OperatorPrincipal(operator_id=operator, role=payload["r"], hospital_id=hospital, session_id=session)
        return InvalidSession("unknown kind")
