"""The e-health card repository (spec 1.3.x records)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from store.cards import DuplicateCardNumber, HealthCardRepository, generate_card_number
from store.db import Database
from store.models import HealthCard

NATIONAL_CARD_ID = "1F40CDA21B28AA6E491CA4FA89E3D3EBBE0CD9F5C9A58DD91657ADF3A67063B8"


async def _add_zhang_san(cards: HealthCardRepository, number: str = "001000056254587") -> HealthCard:
    return await cards.add(
        medical_card_number=number,
        name="张三",
        gender="1",
        birthdate=date(1979, 7, 2),
        address="山东省济南市高新区",
        id_card_number="370102197907025236",
        phone="13526521254",
        hospital_id="253",
        nation="01",
    )


async def test_add_then_get_returns_every_field(db: Database) -> None:
    async with db.session() as session:
        await _add_zhang_san(HealthCardRepository(session))
    async with db.session() as session:
        card = await HealthCardRepository(session).get("001000056254587")
    assert card is not None
    assert (card.name, card.gender, card.sex, card.birthdate) == ("张三", "1", "男", date(1979, 7, 2))
    assert (card.address, card.id_card_number, card.phone) == (
        "山东省济南市高新区",
        "370102197907025236",
        "13526521254",
    )
    assert (card.hospital_id, card.nation, card.id_document_type) == ("253", "01", "01")
    assert card.qr_code == "001000056254587"
    assert card.created_at.tzinfo is UTC
    assert card.updated_at >= card.created_at
    assert abs(datetime.now(UTC) - card.created_at).total_seconds() < 60


async def test_get_unknown_card_is_none(db: Database) -> None:
    async with db.session() as session:
        assert await HealthCardRepository(session).get("001999999999999") is None


async def test_national_card_id_and_its_qr_code_fit(db: Database) -> None:
    qr_code = f"{NATIONAL_CARD_ID}:1 AAAAAA9F9E9B7AA7F669D507662234156C04D80062DE9F4BD638D2DCF9A23B77:0::"
    async with db.session() as session:
        card = await HealthCardRepository(session).add(
            medical_card_number=NATIONAL_CARD_ID, name="王五", gender="2", qr_code=qr_code
        )
        assert card.sex == "女"
    async with db.session() as session:
        stored = await HealthCardRepository(session).get(NATIONAL_CARD_ID)
    assert stored is not None
    assert stored.qr_code == qr_code


async def test_update_changes_fields_and_touches_updated_at(db: Database) -> None:
    async with db.session() as session:
        created = await _add_zhang_san(HealthCardRepository(session))
    async with db.session() as session:
        updated = await HealthCardRepository(session).update(
            "001000056254587", phone="18906412000", address=None, gender="2"
        )
    assert updated is not None
    async with db.session() as session:
        card = await HealthCardRepository(session).get("001000056254587")
    assert card is not None
    assert (card.phone, card.address, card.gender, card.sex) == ("18906412000", None, "2", "女")
    assert card.name == "张三"
    assert card.created_at == created.created_at
    assert card.updated_at > created.updated_at


async def test_update_unknown_card_is_none(db: Database) -> None:
    async with db.session() as session:
        assert await HealthCardRepository(session).update("001999999999999", name="赵六") is None


async def test_find_by_id_card_returns_every_card_of_the_person_oldest_first(db: Database) -> None:
    async with db.session() as session:
        cards = HealthCardRepository(session)
        await _add_zhang_san(cards, "001000000000010")
        await _add_zhang_san(cards, NATIONAL_CARD_ID)
        await cards.add(
            medical_card_number="001000000000011", name="李四", gender="2", id_card_number="110101199003077777"
        )
    async with db.session() as session:
        found = await HealthCardRepository(session).find_by_id_card("370102197907025236")
        assert [card.medical_card_number for card in found] == ["001000000000010", NATIONAL_CARD_ID]
        assert await HealthCardRepository(session).find_by_id_card("000000000000000000") == []


async def test_card_number_is_unique(db: Database) -> None:
    async with db.session() as session:
        await _add_zhang_san(HealthCardRepository(session))
    with pytest.raises(DuplicateCardNumber) as raised:
        async with db.session() as session:
            await _add_zhang_san(HealthCardRepository(session))
    assert raised.value.medical_card_number == "001000056254587"


async def test_database_enforces_unique_card_number_too(db: Database) -> None:
    """Two writers that both checked before either inserted: the constraint, not the check, decides."""
    async with db.session() as session:
        await _add_zhang_san(HealthCardRepository(session))

    async def insert_same_number() -> None:
        async with db.session() as session:
            session.add(HealthCard(medical_card_number="001000056254587", name="张三", gender="1", qr_code="x"))
            await session.flush()

    with pytest.raises(IntegrityError):
        await insert_same_number()


@pytest.mark.parametrize("gender", ["0", "男", ""])
async def test_gender_must_be_a_spec_code(db: Database, gender: str) -> None:
    async with db.session() as session:
        cards = HealthCardRepository(session)
        with pytest.raises(ValueError, match="gender"):
            await cards.add(medical_card_number="001000000000020", name="张三", gender=gender)
        await cards.add(medical_card_number="001000000000020", name="张三", gender="1")
        with pytest.raises(ValueError, match="gender"):
            await cards.update("001000000000020", gender=gender)


async def test_naive_datetimes_are_refused(db: Database) -> None:
    async def store_naive_timestamp() -> None:
        async with db.session() as session:
            cards = HealthCardRepository(session)
            card = await cards.add(medical_card_number="001000000000030", name="张三", gender="1")
            card.created_at = datetime(2025, 1, 1)  # no tzinfo: which zone would that be?
            await session.flush()

    with pytest.raises(StatementError, match="naive datetime"):
        await store_naive_timestamp()


async def test_generated_card_number_is_fifteen_digits_and_unused(db: Database) -> None:
    async with db.session() as session:
        number = await generate_card_number(session)
        assert len(number) == 15
        assert number.isdigit()
        assert number.startswith("001")

        taken = await generate_card_number(session, rng=random.Random(7))
        await HealthCardRepository(session).add(medical_card_number=taken, name="张三", gender="1")
        assert await generate_card_number(session, rng=random.Random(7)) != taken


async def test_generate_card_number_gives_up_when_every_draw_is_taken(db: Database) -> None:
    async with db.session() as session:
        # A 14-digit prefix leaves one digit; all ten values taken is the only way to exhaust the draws.
        for last in range(10):
            number = f"00000000000000{last}"
            await HealthCardRepository(session).add(medical_card_number=number, name="张三", gender="1")
        with pytest.raises(RuntimeError, match="no free card number"):
            await generate_card_number(session, prefix="00000000000000")


async def test_card_number_prefix_must_be_digits(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(ValueError, match="prefix"):
            await generate_card_number(session, prefix="HZ1")
