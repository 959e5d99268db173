"""Authorisation at the one place every hospital call passes: a call that names a patient must name
one of the caller's proven cards (or their holders' ID numbers), whichever field asks.

Checking here, rather than field by field, covers every node and edge of the graph and every
mutation: a field added tomorrow cannot forget the check. A card the caller does not hold is refused
exactly like a card that does not exist (the same error, the same code), so the graph cannot be used
to learn whether someone else's card exists.
"""

from __future__ import annotations

from typing import Any

from his_clients.models.base import HisRequest
from services.identity.principal import InvalidSession, OperatorPrincipal, PatientPrincipal
from services.refusals import RefusalCode, Refused

CARD_KEYS = frozenset({"medicalcardnumber", "medicalcard", "patientmedicalcardnumber"})
ID_NUMBER_KEYS = frozenset({"idcard", "idcardno", "idcardnumber", "patientid", "patientidcard"})

NOT_THE_PATIENT: dict[str, frozenset[str]] = {
    # Chapter 37: `idCard` (and 37.1.1's `medicalCardNumber`, 陪护人就诊卡号) are the caregiver's; the
    # patient is named by the admission number or `patientIdCard` / `patientMedicalCardNumber`.
    "hospital.interface.getCaregiversInfo": frozenset({"idcard", "medicalcardnumber"}),
    "hospital.interface.updateCaregivers": frozenset({"idcard"}),
    "hospital.interface.addCaregivers": frozenset({"idcard"}),
    "hospital.interface.deleteCaregivers": frozenset({"idcard"}),
    # 1.2.3: the contact's ID number; 1.2.4: the ID number being written (the card says whose record it is).
    "hospital.interface.createCardContacts": frozenset({"idcard"}),
    "hospital.interface.updateHisPatientInfo": frozenset({"idcard"}),
}
"""Keys that carry someone other than the patient (a caregiver) in particular methods."""


class NotFound(Refused):
    """The card (or patient) is not one the caller may see: said exactly as for a card that does not exist."""

    def __init__(self) -> None:
        super().__init__(RefusalCode.CARD_NOT_FOUND_20215)


class Unauthenticated(Refused):
    """Not signed in (or not as the kind of caller the field needs): UNAUTHENTICATED on queries and mutations."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(RefusalCode.UNAUTHENTICATED, message)


class SessionInvalid(Refused):
    """A bearer token was sent but is no valid session: an error the app acts on (sign in again), never a null.

    The code is the one of "not signed in" (the app's answer is the same: sign in); ``reason`` tells them apart.
    """

    def __init__(self) -> None:
        super().__init__(RefusalCode.UNAUTHENTICATED, "登录已失效，请重新登录。", reason="INVALID_SESSION")


def refuse_invalid_session(principal: object) -> None:
    """Raise ``SessionInvalid`` when the request came with a token that is no valid session."""
    if isinstance(principal, InvalidSession):
        raise SessionInvalid()


class Forbidden(Refused):
    """Signed in, but this caller may not do this: 附四 50001 (UNAUTHORIZED), as clients have always read it."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(RefusalCode.UNAUTHORIZED, message)


def personal_values(method: str, request: HisRequest) -> tuple[set[str], set[str]]:
    """The patient's card numbers and ID numbers a request carries."""
    cards: set[str] = set()
    id_numbers: set[str] = set()
    others = NOT_THE_PATIENT.get(method, frozenset())
    wire: dict[str, Any] = request.to_wire()
    for key, value in wire.items():
        if not isinstance(value, str) or not value.strip():
            continue
        name = key.strip().lower()
        if name in others:
            continue
        if name in CARD_KEYS:
            cards.add(value.strip())
        elif name in ID_NUMBER_KEYS:
            id_numbers.add(value.strip().upper())
    return cards, id_numbers


class HeldCards:
    """What one patient account has proven: card numbers (e-card and physical) and holders' ID numbers."""

    def __init__(self, cards: frozenset[str], id_numbers: frozenset[str]) -> None:
        self.cards = cards
        self.id_numbers = id_numbers

    def covers(self, cards: set[str], id_numbers: set[str]) -> bool:
        return cards <= self.cards and id_numbers <= self.id_numbers


def check_principal_may_name(principal: object, held: HeldCards | None, method: str, request: HisRequest) -> None:
    """Raise unless the caller may make a call naming these cards and ID numbers."""
    cards, id_numbers = personal_values(method, request)
    refuse_invalid_session(principal)
    if not cards and not id_numbers:
        return  # reference data: anyone may ask
    if principal is None:
        raise Unauthenticated()
    if isinstance(principal, OperatorPrincipal):
        raise NotFound()  # operators see statistics and reconciliation, never a patient's records
    if not isinstance(principal, PatientPrincipal) or held is None or not held.covers(cards, id_numbers):
        raise NotFound()
