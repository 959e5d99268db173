"""The catalog-driven shims (issue 6, first batch): cards 1.3.2/1.3.3, the message pushes and 23.2.2.

For every path served: the spec's own request example gets the entry's reply shape, a required field
removed gets 20001, a malformed date 20003, and a push sent twice queues one message.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.shims.messages import PUSHES
from api.shims.validation import platform_entry, rules_for
from store.db import Database
from store.inbound import InboundCall
from store.messages import OutboundMessage
from store.seed import seed_demo

OUR_HOSPITAL = "253"
"""The demo region's hospital the examples act for (loopback may act for several, so the body names one)."""

PUSH_SECTIONS = ["11.2.1", *(p.section for p in PUSHES)]
SERVED = ["1.3.2", "1.3.3", "23.2.2", *PUSH_SECTIONS]


def path_of(section: str) -> str:
    http_path = platform_entry(section)["http_path"]
    assert isinstance(http_path, str)
    return "/" + http_path


def example(section: str) -> dict[str, Any]:
    """The spec's request example, acting for our demo hospital (the examples use 1, 0370_0001 or "")."""
    body: dict[str, Any] = copy.deepcopy(platform_entry(section)["request_example"])
    body["hospitalId"] = OUR_HOSPITAL
    if section == "23.2.2":
        # The spec's example sends its card number as idCard (001000056254587 has no real birth date);
        # test_the_23_2_2_example_as_written_is_refused shows what that gets.
        body["idCard"] = "370102197907025236"
    return body


def db_of(client: httpx.AsyncClient) -> Database:
    db: Database = client._transport.app.state.services.db  # type: ignore[attr-defined]
    return db


async def count(client: httpx.AsyncClient, model: type[Any], **where: Any) -> int:
    async with db_of(client).session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


@pytest.fixture
async def hospital(gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    """A hospital's HIS calling the shims from loopback (auth none), with the spec's example card on file."""
    await seed_demo(db_of(gateway))
    gateway.headers.pop("Authorization", None)
    return gateway


@pytest.mark.parametrize("section", SERVED)
async def test_the_spec_example_gets_the_spec_reply(hospital: httpx.AsyncClient, section: str) -> None:
    entry = platform_entry(section)
    response = await hospital.post(path_of(section), json=example(section))
    assert response.status_code == 200
    reply = response.json()
    assert reply["success"] is True, reply
    assert str(reply["code"]) == "10001"
    assert set(entry["response_example"]) <= set(reply)
    for field in entry["response_fields"]:
        if field["required"] and field["name"] not in {"success", "msg", "code"}:
            holder = reply.get("data") if isinstance(reply.get("data"), dict) else reply
            assert field["name"] in holder, (section, field["name"])


def first_required(section: str) -> str:
    required = [r.name for r in rules_for(section).fields if r.required]
    return next((name for name in required if name != "hospitalId"), required[0])


@pytest.mark.parametrize("section", SERVED)
async def test_a_required_field_missing_is_20001(hospital: httpx.AsyncClient, section: str) -> None:
    body = example(section)
    missing = first_required(section)
    body.pop(missing)
    reply = (await hospital.post(path_of(section), json=body)).json()
    assert reply["success"] is False
    assert reply["code"] == "20001"
    assert missing in reply["msg"]
    assert set(reply) == {"success", "msg", "code", "data"}


def date_field(section: str) -> str | None:
    return next((r.name for r in rules_for(section).fields if r.fmt in {"datetime", "date"}), None)


DATED = [s for s in SERVED if date_field(s) is not None]


@pytest.mark.parametrize("section", DATED)
async def test_a_malformed_date_is_20003(hospital: httpx.AsyncClient, section: str) -> None:
    body = example(section)
    field = date_field(section)
    assert field is not None
    key = next(k for k in body if k.lower() == field.lower() or (field, k) == ("revisitTime", "revisitDate"))
    body[key] = "2018-13-45 25:61:00"
    reply = (await hospital.post(path_of(section), json=body)).json()
    assert reply["code"] == "20003", reply
    assert field in reply["msg"]


async def test_a_malformed_date_inside_a_list_is_20003(hospital: httpx.AsyncClient) -> None:
    body = example("11.2.1")
    body["patientList"][0]["hospitalizationTime"] = "2020/01/01"
    reply = (await hospital.post(path_of("11.2.1"), json=body)).json()
    assert reply["code"] == "20003"
    assert "patientList[0].hospitalizationTime" in reply["msg"]


@pytest.mark.parametrize("section", PUSH_SECTIONS)
async def test_the_same_push_twice_queues_one_message(hospital: httpx.AsyncClient, section: str) -> None:
    first = await hospital.post(path_of(section), json=example(section))
    second = await hospital.post(path_of(section), json=example(section))
    assert second.json() == first.json()
    assert await count(hospital, OutboundMessage) == 1
    assert await count(hospital, InboundCall, path=path_of(section)) == 2
    async with db_of(hospital).session() as session:
        calls = list((await session.execute(select(InboundCall).order_by(InboundCall.id))).scalars())
    assert calls[1].duplicate_of == calls[0].id
    assert calls[0].dedupe_key is not None
    assert calls[1].dedupe_key is None


async def test_a_queued_message_holds_the_push_and_the_ledger_masks_it(hospital: httpx.AsyncClient) -> None:
    await hospital.post(path_of("19.1.4"), json=example("19.1.4"))
    async with db_of(hospital).session() as session:
        message = (await session.execute(select(OutboundMessage))).scalar_one()
        call = (await session.execute(select(InboundCall))).scalar_one()
    assert message.kind == "lisReport"
    assert message.state == "pending"
    assert message.hospital_id == OUR_HOSPITAL
    assert message.medical_card_number == "001000056254587"
    assert message.payload["reportkey"] == "201812170555"
    assert message.payload["idCard"] == "370102197907025236"  # stored as sent: delivery needs it
    assert message.dedupe_key == "19.1.4:253:201812170555"
    assert message.inbound_call_id == call.id
    assert call.body["idCard"] == "370102********5236"
    assert call.body["userName"] == "张*"
    assert call.reply_code == "10001"


async def test_a_different_report_is_another_message(hospital: httpx.AsyncClient) -> None:
    await hospital.post(path_of("19.1.3"), json=example("19.1.3"))
    other = {**example("19.1.3"), "reportkey": "749580213"}
    await hospital.post(path_of("19.1.3"), json=other)
    assert await count(hospital, OutboundMessage) == 2


async def test_a_refused_push_is_recorded_and_queues_nothing(hospital: httpx.AsyncClient) -> None:
    body = {**example("19.1.3"), "time": "yesterday"}
    reply = (await hospital.post(path_of("19.1.3"), json=body)).json()
    assert reply["code"] == "20003"
    assert await count(hospital, OutboundMessage) == 0
    async with db_of(hospital).session() as session:
        call = (await session.execute(select(InboundCall))).scalar_one()
    assert call.reply_code == "20003"
    assert call.dedupe_key is None
    # The corrected retry acts.
    assert (await hospital.post(path_of("19.1.3"), json=example("19.1.3"))).json()["success"] is True
    assert await count(hospital, OutboundMessage) == 1


async def test_another_hospitals_id_is_50001(hospital: httpx.AsyncClient) -> None:
    body = {**example("19.1.3"), "hospitalId": "999"}
    reply = (await hospital.post(path_of("19.1.3"), json=body)).json()
    assert reply["code"] == "50001"
    assert await count(hospital, OutboundMessage) == 0


async def test_deposit_reminders_queue_one_message_per_patient(hospital: httpx.AsyncClient) -> None:
    body = example("11.2.1")
    other = {**body["patientList"][0], "idCard": "370102197907025236", "patInHosCode": "9"}
    body["patientList"].append(other)
    reply = (await hospital.post(path_of("11.2.1"), json=body)).json()
    assert reply == {"success": True, "msg": "", "code": "10001"}
    assert await count(hospital, OutboundMessage) == 2
    # A later call listing one of them again with the same figures queues nothing for that one.
    again = example("11.2.1")
    again["sendWay"] = "TWO"
    again["patientList"][0]["arrears"] = "-10.5"
    await hospital.post(path_of("11.2.1"), json=again)
    assert await count(hospital, OutboundMessage) == 3


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"sendWay": "TWO", "totalCosts": ""}, "20001"),  # required when sendWay is TWO
        ({"prepayLeft": "-1"}, "20004"),
        ({"prepayLeft": "1.234"}, "20003"),
        ({"idCard": "", "medicalCardNumber": ""}, "20001"),  # at least one of the two
        ({"idCard": "370102197913025236"}, "20003"),  # no 13th month
        ({"idCard": "3701021979070252"}, "20003"),  # 16 characters
    ],
)
async def test_deposit_reminder_refusals(hospital: httpx.AsyncClient, change: dict[str, str], code: str) -> None:
    body = example("11.2.1")
    if "sendWay" in change:
        body["sendWay"] = change.pop("sendWay")
    body["patientList"][0].update(change)
    reply = (await hospital.post(path_of("11.2.1"), json=body)).json()
    assert reply["code"] == code, reply


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"medicalCardNumber": 1000056254587}, "20002"),
        ({"isPositive": "2"}, "20004"),
        ({"isPositive": 1}, "20000+"),
        ({"time": "2018-12-17"}, "10001"),  # 19.1.4's own example sends a date alone
    ],
)
async def test_report_push_types_and_ranges(hospital: httpx.AsyncClient, change: dict[str, Any], code: str) -> None:
    reply = (await hospital.post(path_of("19.1.3"), json={**example("19.1.3"), **change})).json()
    if code == "20000+":
        assert reply["success"] is True  # a small flag as a JSON number is taken
    else:
        assert reply["code"] == code, reply


async def test_both_spellings_of_a_field_are_accepted(hospital: httpx.AsyncClient) -> None:
    body = example("19.1.8")
    body["revisitTime"] = body.pop("revisitDate")
    assert (await hospital.post(path_of("19.1.8"), json=body)).json()["success"] is True
    body = example("41.2.1")
    body["auditDoctor"] = body.pop("doctorName")
    body[" PatientName "] = body.pop("patientName")
    assert (await hospital.post(path_of("41.2.1"), json=body)).json()["success"] is True


async def test_the_23_2_2_example_as_written_is_refused(hospital: httpx.AsyncClient) -> None:
    """The spec's example puts a card number in idCard; an ID number needs a real birth date (20003)."""
    body = {**platform_entry("23.2.2")["request_example"], "hospitalId": OUR_HOSPITAL}
    reply = (await hospital.post(path_of("23.2.2"), json=body)).json()
    assert reply["code"] == "20003"
    assert "idCard" in reply["msg"]


async def test_sloppy_paths_and_content_types(hospital: httpx.AsyncClient) -> None:
    import json

    response = await hospital.post(
        "http://gateway//prefront/sendTipMessage/lisReport/",
        content=json.dumps(example("19.1.4")).encode(),
        headers={"Content-Type": "application/Json"},
    )
    assert response.status_code == 200
    assert response.json()["success"] is True


INBOUND_QUERY = """
query($hospitalId: String) {
  operator { inboundCalls(hospitalId: $hospitalId) { section path hospitalId replyCode dedupeKey duplicateOf body } }
}
"""


async def test_operators_list_the_calls(hospital: httpx.AsyncClient) -> None:
    from tests.conftest import run_graphql, sign_in_operator

    await hospital.post(path_of("19.1.3"), json=example("19.1.3"))
    await hospital.post(path_of("19.1.3"), json=example("19.1.3"))
    sign_in_operator(hospital)
    calls = (await run_graphql(hospital, INBOUND_QUERY))["data"]["operator"]["inboundCalls"]
    assert [c["section"] for c in calls] == ["19.1.3", "19.1.3"]
    assert calls[0]["duplicateOf"] is not None
    assert calls[1]["duplicateOf"] is None
    assert "370102********5236" in calls[1]["body"]
    sign_in_operator(hospital, role="hospital", hospital_id="254")
    assert (await run_graphql(hospital, INBOUND_QUERY))["data"]["operator"]["inboundCalls"] == []
    refused = await run_graphql(hospital, INBOUND_QUERY, hospitalId="253")
    assert refused["errors"]


def test_every_shim_route_is_the_catalog_path_of_its_section() -> None:
    """The paths are written out in the code; they must be exactly the spec's."""
    from api.app import create_app
    from api.settings import Settings
    from api.shims.platform import route_path
    from his_clients.registry import Hospital, Registry
    from tests.spec_catalog import ENTRIES

    app = create_app(Settings(registry=Registry(hospitals=(Hospital(id="1", name="x", base_url="http://h/his"),))))
    served = {getattr(route, "path", "") for route in app.router.routes}
    platform = [e for e in ENTRIES if e["direction"] == "platform"]
    catalog_paths = {route_path(e["section"]) for e in platform}
    from api.openapi import DOCS_PATH, OPENAPI_PATH  # the shims' own documentation, not a shim

    prefront = {path for path in served if path.startswith("/prefront/") and "services" not in path}
    prefront -= {OPENAPI_PATH, DOCS_PATH}
    assert prefront <= catalog_paths
    from api.shims.messages import PUSHES

    assert [f"/{push.path}" for push in PUSHES] == [route_path(push.section) for push in PUSHES]
