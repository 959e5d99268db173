"""Who is asking: a patient's account or an operator, carried in a signed session token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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

    @property
    def subject(self) -> str:
        return f"operator:{self.operator_id}"

    def may_see(self, hospital_id: str) -> bool:
        return self.role == "region" or hospital_id == self.hospital_id


Principal = PatientPrincipal | OperatorPrincipal


class SessionTokens:
    """Issues and reads session tokens (HMAC-signed, expiring; nothing to look up per request)."""

    def __init__(self, secret: bytes, *, ttl_s: int = 7 * 24 * 3600) -> None:
        self._signer = Signer(secret, purpose="session")
        self.ttl_s = ttl_s

    def issue(self, principal: Principal) -> str:
        if isinstance(principal, PatientPrincipal):
            return self._signer.sign({"k": "p", "a": principal.account_id}, ttl_s=self.ttl_s)
        return self._signer.sign(
            {"k": "o", "o": principal.operator_id, "r": principal.role, "h": principal.hospital_id}, ttl_s=self.ttl_s
        )

    def read(self, token: str) -> Principal | None:
        """The principal a token names, or None when it is forged, edited or expired."""
        try:
            payload = self._signer.verify(token)
        except InvalidToken:
            return None
        if payload.get("k") == "p" and isinstance(payload.get("a"), int):
            return PatientPrincipal(account_id=payload["a"])
        if payload.get("k") == "o" and isinstance(payload.get("o"), int) and payload.get("r") in ("region", "hospital"):
            return OperatorPrincipal(operator_id=payload["o"], role=payload["r"], hospital_id=payload.get("h"))
        return None
