"""The demo seed: the spec's example patient, inserted once."""

from __future__ import annotations

from datetime import date

from store.cards import HealthCardRepository
from store.db import Database
from store.seed import DEMO_CARD_NUMBER, seed_demo


async def test_seed_demo_inserts_the_spec_example_once(db: Database) -> None:
    await seed_demo(db)
    await seed_demo(db)
    async with db.session() as session:
        card = await HealthCardRepository(session).get(DEMO_CARD_NUMBER)
        assert card is not None
        assert (card.name, card.sex, card.gender, card.birthdate) == ("张三", "男", "1", date(1979, 7, 2))
        assert (card.address, card.id_card_number, card.phone) == (
            "山东省济南市高新区",
            "370102197907025236",
            "13526521254",
        )
        assert len(await HealthCardRepository(session).find_by_id_card("370102197907025236")) == 1


async def test_seed_demo_keeps_an_existing_card_as_it_is(db: Database) -> None:
    await seed_demo(db)
    async with db.session() as session:
        await HealthCardRepository(session).update(DEMO_CARD_NUMBER, phone="18906412000")
    await seed_demo(db)
    async with db.session() as session:
        card = await HealthCardRepository(session).get(DEMO_CARD_NUMBER)
        assert card is not None
        assert card.phone == "18906412000"
