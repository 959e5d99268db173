"""Patients' cards: the platform's own e-health card records (spec 1.3.x) and card-number rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from store.cards import HealthCardRepository
from store.db import Database

PLATFORM_CARD = re.compile(r"^\d{15}$")
NATIONAL_CARD = re.compile(r"^[0-9A-Za-z]{64}$")


def is_valid_card_number(medical_card_number: str) -> bool:
    """A 15-digit platform card, or a 64-character national e-health card id (section 1.1)."""
    return bool(PLATFORM_CARD.match(medical_card_number) or NATIONAL_CARD.match(medical_card_number))


def sex_of(gender: str) -> str:
    """The spec writes sex in Chinese (男/女) and gender as a code (1/2)."""
    return {"1": "男", "2": "女"}.get(gender, "")


@dataclass(frozen=True, slots=True)
class PatientInfo:
    """What 1.3.1 getPatientInfo tells a hospital about a card holder."""

    medical_card_number: str
    name: str
    gender: str
    sex: str
    phone: str | None
    address: str | None
    birthdate: date | None
    id_card_number: str | None


async def get_patient_info(db: Database, medical_card_number: str) -> PatientInfo | None:
    """The platform's record of a card, or None when we never issued or saw it."""
    async with db.session() as session:
        card = await HealthCardRepository(session).get(medical_card_number)
        if card is None:
            return None
        return PatientInfo(
            medical_card_number=card.medical_card_number,
            name=card.name,
            gender=card.gender,
            sex=card.sex or sex_of(card.gender),
            phone=card.phone,
            address=card.address,
            birthdate=card.birthdate,
            id_card_number=card.id_card_number,
        )


def card_number_from_qr(content: str, *, index: int = 0) -> str:
    """The card number a scanned QR code carries.

    A national e-health card's QR content is colon-separated and its 64-character ID sits at a position
    the provincial platform may change (section 1.1: configurable, default 0); a platform card's QR is
    the 15-digit number itself.
    """
    text = content.strip()
    if ":" not in text:
        return text
    parts = text.split(":")
    return parts[index].strip() if -len(parts) <= index < len(parts) else ""
