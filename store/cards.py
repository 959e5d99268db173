"""The platform's e-health card records (spec 1.3.x): lookups, issuing and updates."""

from __future__ import annotations

import random
import secrets
from datetime import date
from typing import Final, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import GENDER_SEX, HealthCard

PLATFORM_CARD_PREFIX: Final = "001"
"""The prefix of the platform's 15-digit card numbers, as in the spec's example 001000056254587."""
PLATFORM_CARD_LENGTH: Final = 15


class DuplicateCardNumber(Exception):
    """A card with this medical card number already exists."""

    def __init__(self, medical_card_number: str) -> None:
        super().__init__(f"medical card number {medical_card_number} is already taken")
        self.medical_card_number = medical_card_number


class HealthCardChanges(TypedDict, total=False):
    """The fields `HealthCardRepository.update` may change (the card number never changes)."""

    hospital_id: str | None
    name: str
    gender: str
    birthdate: date | None
    address: str | None
    id_card_number: str | None
    id_document_type: str
    phone: str | None
    nation: str | None
    qr_code: str


class HealthCardRepository:
    """Reads and writes `HealthCard` rows inside the caller's session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, medical_card_number: str) -> HealthCard | None:
        """The card with this number, or None."""
        result = await self._session.execute(
            select(HealthCard).where(HealthCard.medical_card_number == medical_card_number)
        )
        return result.scalar_one_or_none()

    async def find_by_id_card(self, id_card_number: str) -> list[HealthCard]:
        """Every card of this ID-card number, oldest first (a person may hold a 15-digit and a national card)."""
        result = await self._session.execute(
            select(HealthCard)
            .where(HealthCard.id_card_number == id_card_number)
            .order_by(HealthCard.created_at, HealthCard.id)
        )
        return list(result.scalars())

    async def add(
        self,
        *,
        medical_card_number: str,
        name: str,
        gender: str,
        birthdate: date | None = None,
        hospital_id: str | None = None,
        address: str | None = None,
        id_card_number: str | None = None,
        id_document_type: str = "01",
        phone: str | None = None,
        nation: str | None = None,
        qr_code: str | None = None,
    ) -> HealthCard:
        """Record a new card and flush it; `qr_code` defaults to the card number (as for platform cards).

        Raises `DuplicateCardNumber` when the number is taken; after a concurrent insert won the race the
        session is unusable and the caller's transaction must roll back (leaving `Database.session()`
        by the exception does that).
        """
        _check_gender(gender)
        if await self.get(medical_card_number) is not None:
            raise DuplicateCardNumber(medical_card_number)
        card = HealthCard(
            medical_card_number=medical_card_number,
            hospital_id=hospital_id,
            name=name,
            gender=gender,
            birthdate=birthdate,
            address=address,
            id_card_number=id_card_number,
            id_document_type=id_document_type,
            phone=phone,
            nation=nation,
            qr_code=medical_card_number if qr_code is None else qr_code,
        )
        self._session.add(card)
        try:
            await self._session.flush()
        except IntegrityError as error:
            raise DuplicateCardNumber(medical_card_number) from error
        return card

    async def update(self, medical_card_number: str, **changes: Unpack[HealthCardChanges]) -> HealthCard | None:
        """Apply `changes` to the card with this number and flush; None when there is no such card."""
        card = await self.get(medical_card_number)
        if card is None:
            return None
        if "gender" in changes:
            _check_gender(changes["gender"])
        for field, value in changes.items():
            setattr(card, field, value)
        await self._session.flush()
        return card


async def generate_card_number(
    session: AsyncSession,
    *,
    prefix: str = PLATFORM_CARD_PREFIX,
    rng: random.Random | None = None,
    max_attempts: int = 8,
) -> str:
    """A new, unused 15-digit platform card number: `prefix` and random digits.

    Random rather than a sequence: a card number is what a hospital sends to get a patient's details
    (1.3.1), so consecutive numbers would let anyone holding one guess the next patient's; and a random
    draw needs no sequence object that SQLite lacks. With 12 random digits a collision is rare; the
    check here makes it harmless, and the unique constraint catches the race between check and insert.
    `rng` is for tests (deterministic draws); by default the draws come from `secrets`.
    """
    digits = PLATFORM_CARD_LENGTH - len(prefix)
    if not prefix.isdigit() or digits < 1:
        raise ValueError(f"card number prefix must be 1-{PLATFORM_CARD_LENGTH - 1} digits, got {prefix!r}")
    repository = HealthCardRepository(session)
    for _ in range(max_attempts):
        draw = rng.randrange(10**digits) if rng is not None else secrets.randbelow(10**digits)
        number = f"{prefix}{draw:0{digits}d}"
        if await repository.get(number) is None:
            return number
    raise RuntimeError(f"no free card number with prefix {prefix} after {max_attempts} draws")


def _check_gender(gender: str) -> None:
    if gender not in GENDER_SEX:
        raise ValueError(f"gender must be '1' (男) or '2' (女), got {gender!r}")
