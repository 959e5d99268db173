"""Signed, expiring links to the survey page of one visit (``GET /survey/{token}``).

The token names the hospital, the questionnaire type, the visit and what the page shows about it
(department, doctor, visit time); never the patient, since links end up in logs and browser
histories. It is signed (services.signing, a purpose of its own) with the deployment's
``file_link_secret``: set it in production, or links sent before a restart stop opening.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from services.signing import InvalidToken, Signer

_FIELD_LIMIT = 64
"""Department and doctor names are cut to this many characters in a link: it only shows them."""


class InvalidSurveyLink(Exception):
    """The survey token was forged, edited, unreadable or has expired."""


@dataclass(frozen=True, slots=True)
class SurveyInvite:
    """What a survey link stands for: one visit (or stay) to be rated once."""

    hospital_id: str
    questionnaire_type: str
    """"0" outpatient, "1" inpatient (22.2.1's questionnaireType)."""
    visit_key: str
    """registerId (outpatient, and 22.2.1) or inHospitalId (a discharge, 22.1.2)."""
    dept_code: str | None = None
    dept_name: str | None = None
    doctor_code: str | None = None
    doctor_name: str | None = None
    visited_time: str | None = None
    """yyyy-MM-dd HH:mm:ss as the hospital wrote it."""


def _short(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:_FIELD_LIMIT] or None


class SurveyLinks:
    """Makes and reads survey links."""

    def __init__(self, secret: bytes, *, base_url: str, ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        self._signer = Signer(secret, purpose="survey-link", clock=clock)
        self._base_url = base_url.rstrip("/")
        self._ttl_s = ttl_s

    def token(self, invite: SurveyInvite) -> str:
        payload = {
            "h": invite.hospital_id,
            "t": invite.questionnaire_type,
            "v": invite.visit_key,
            "dc": _short(invite.dept_code),
            "dn": _short(invite.dept_name),
            "oc": _short(invite.doctor_code),
            "on": _short(invite.doctor_name),
            "at": _short(invite.visited_time),
        }
        return self._signer.sign({k: v for k, v in payload.items() if v is not None}, ttl_s=self._ttl_s)

    def url(self, invite: SurveyInvite) -> str:
        """The page's full address, for a message's link."""
        return f"{self._base_url}/survey/{self.token(invite)}"

    def read(self, token: str) -> SurveyInvite:
        """The invite a token stands for; raises InvalidSurveyLink."""
        try:
            payload = self._signer.verify(token)
        except InvalidToken as exc:
            raise InvalidSurveyLink(str(exc)) from exc
        try:
            return SurveyInvite(
                hospital_id=str(payload["h"]),
                questionnaire_type=str(payload["t"]),
                visit_key=str(payload["v"]),
                dept_code=payload.get("dc"),
                dept_name=payload.get("dn"),
                doctor_code=payload.get("oc"),
                doctor_name=payload.get("on"),
                visited_time=payload.get("at"),
            )
        except KeyError as exc:
            raise InvalidSurveyLink("incomplete") from exc
