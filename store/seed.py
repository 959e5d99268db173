"""Demo data: the spec's example patient, so the 1.3.1 shim has a card to answer for."""

from __future__ import annotations

from datetime import date
from typing import Final

from store.cards import HealthCardRepository
from store.db import Database

DEMO_CARD_NUMBER: Final = "001000056254587"
"""The card number of the spec's examples (1.3.1 getPatientInfo)."""


async def seed_demo(db: Database) -> None:
    """Insert the spec's example patient (张三) as a platform card unless the card already exists."""
    async with db.session() as session:
        cards = HealthCardRepository(session)
        if await cards.get(DEMO_CARD_NUMBER) is not None:
            return
        await cards.add(
            medical_card_number=DEMO_CARD_NUMBER,
            name="张三",
            gender="1",
            birthdate=date(1979, 7, 2),
            address="山东省济南市高新区",
            id_card_number="370102197907025236",
            phone="13526521254",
        )
