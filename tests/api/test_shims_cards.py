"""1.3.2 genCard and 1.3.3 updateCard: the platform issues and updates e-health cards for hospitals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from store.cards import HealthCardRepository
from store.db import Database
from store.inbound import InboundCall
from store.seed import seed_demo

GEN = "/prefront/patient/genCard"
UPDATE = "/prefront/patient/updateCard"


def db_of(client: httpx.AsyncClient) -> Database:
    db: Database = client._transport.app.state.services.db  # type: ignore[attr-defined]
    return db


@pytest.fixture
async def hospital(gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    await seed_demo(db_of(gateway))
    gateway.headers.pop("Authorization", None)
    return gateway


NEW_PATIENT: dict[str, Any] = {
    "hospitalId": "253",
    "name": "李四",
    "gender": "2",
    "birthdate": "1990-03-04",
    "phone": "13800001111",
    "nation": "01",
}


async def test_the_spec_example_gets_the_patients_existing_card(hospital: httpx.AsyncClient) -> None:
    from api.shims.validation import platform_entry

    entry = platform_entry("1.3.2")
    reply = (await hospital.post(GEN, json=entry["request_example"])).json()
    assert reply == entry["response_example"]


async def test_a_new_patient_gets_a_new_card(hospital: httpx.AsyncClient) -> None:
    reply = (await hospital.post(GEN, json=NEW_PATIENT)).json()
    assert reply["success"] is True
    data = reply["data"]
    number = data["medicalCardNumber"]
    assert len(number) == 15
    assert number.startswith("001")
    assert data["qrcode"] == number
    assert data["idcard"] == ""
    async with db_of(hospital).session() as session:
        card = await HealthCardRepository(session).get(number)
        call = (await session.execute(select(InboundCall).where(InboundCall.path == GEN))).scalar_one()
    assert card is not None
    assert (card.name, card.gender, card.hospital_id, card.nation) == ("李四", "2", "253", "01")
    assert call.body["phone"] == "138****1111"
    assert call.reply["medicalCardNumber"] == number


async def test_gender_and_birth_date_come_from_the_id_number(hospital: httpx.AsyncClient) -> None:
    body = {"hospitalId": "253", "name": "王五", "idcard": "37010219850612002X", "phone": "13800002222"}
    reply = (await hospital.post(GEN, json=body)).json()
    assert reply["success"] is True
    async with db_of(hospital).session() as session:
        card = await HealthCardRepository(session).get(reply["data"]["medicalCardNumber"])
    assert card is not None
    assert card.gender == "2"
    assert card.birthdate is not None
    assert card.birthdate.isoformat() == "1985-06-12"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": ""}, "20001"),
        ({"gender": None}, "20001"),  # no ID number: gender is needed
        ({"birthdate": "1990-02-30"}, "20003"),
        ({"nation": "99"}, "20003"),  # not in 附一
        ({"gender": "3"}, "20004"),
        ({"idcard": "370102197907025"}, "20003"),  # 15 digits, but 19-70-71-97-... no real date
    ],
)
async def test_gen_card_refusals(hospital: httpx.AsyncClient, change: dict[str, Any], code: str) -> None:
    body = {**NEW_PATIENT, **change}
    body = {k: v for k, v in body.items() if v is not None}
    reply = (await hospital.post(GEN, json=body)).json()
    assert reply["code"] == code, reply


async def test_update_card_changes_the_card(hospital: httpx.AsyncClient) -> None:
    from api.shims.validation import platform_entry

    body = {**platform_entry("1.3.3")["request_example"], "address": "山东省济南市历下区", "phone": "13900001234"}
    reply = (await hospital.post(UPDATE, json=body)).json()
    assert reply == {"success": True, "msg": "成功", "code": "10001"}
    async with db_of(hospital).session() as session:
        card = await HealthCardRepository(session).get("001000056254587")
    assert card is not None
    assert (card.address, card.phone) == ("山东省济南市历下区", "13900001234")


async def test_update_card_of_another_hospitals_card_is_20215(hospital: httpx.AsyncClient) -> None:
    issued = (await hospital.post(GEN, json=NEW_PATIENT)).json()["data"]["medicalCardNumber"]
    # 254 shares loopback in the demo region: it may act for itself, but this card is 253's.
    body = {"hospitalId": "254", "medicalCardNumber": issued, "name": "李四改"}
    reply = (await hospital.post(UPDATE, json=body)).json()
    assert reply["code"] == "20215"
    unknown = {"hospitalId": "253", "medicalCardNumber": "001999999999999", "name": "x"}
    assert (await hospital.post(UPDATE, json=unknown)).json()["code"] == "20215"
