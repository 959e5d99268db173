"""25.2.1 / 25.2.2: the hospital reads what a patient paid online after an online consultation, and marks it served.

Orders are made through the real PaymentService (25.1.6 prices at the simulated hospital), paid in the sandbox
and synced by 25.1.1; the shims answer from them and note 25.2.2's word on them (SQLite and PostgreSQL).
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.shims.validation import platform_entry
from services.payments.clock import spec_time
from store.inbound import InboundCall
from tests.api.paid_orders import (
    CONSULTATION_CHARGES,
    HOSPITAL,
    drive,
    money,
    order_of,
    paid_consultation,
    payments_of,
    services_of,
)
from tests.api.paid_orders import shim_gateway as shim_gateway
from tests.conftest import DEMO_CARD, DEMO_ID_NUMBER, inject
from tests.store.conftest import database_factory as database_factory
from tests.store.conftest import db as db
from tests.store.conftest import migrated_database as migrated_database

QUERY = "/prefront/internetHospital/queryPatientInterHospitalOrder"
UPDATE = "/prefront/internetHospital/updatePatientInterHospitalOrderStatus"
SYNC = "hospital.inerface.internetHospital.save"


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200
    reply: dict[str, Any] = response.json()
    return reply


async def query(client: httpx.AsyncClient, charge_type: str | int, **changes: Any) -> dict[str, Any]:
    body = {"hospitalId": HOSPITAL, "medicalCardNumber": DEMO_CARD, "chargeType": charge_type, **changes}
    return await post(client, QUERY, body)


def keys(value: dict[str, Any]) -> set[str]:
    return {key.strip() for key in value}


async def test_25_2_1_answers_the_paid_charges_of_one_type_in_the_spec_shape(shim_gateway: httpx.AsyncClient) -> None:
    order = await paid_consultation(shim_gateway)
    assert order.state == "NOTIFIED"
    assert order.total_amount == Decimal("1120.00")  # 25.1.6 prices everything at 280: 280 + 280 + 2 x 280
    example = copy.deepcopy(platform_entry("25.2.1")["request_example"])
    reply = await post(shim_gateway, QUERY, {**example, "medicalCardNumber": DEMO_CARD, "hospitalId": HOSPITAL})
    expected = platform_entry("25.2.1")["response_example"]
    assert keys(reply) == keys(expected)
    assert (reply["success"], reply["code"], reply["msg"]) == (True, "10001", "成功")
    data = reply["data"]
    assert keys(expected["data"]) <= keys(data)
    for charge in data["charges"]:
        assert keys(expected["data"]["charges"][0]) <= keys(charge)
    assert (data["hospitalId"], data["medicalCardNumber"], data["patName"], data["general"]) == (
        HOSPITAL,
        DEMO_CARD,
        "李洋",
        "女",
    )
    assert (data["idCard"], data["phone"], data["birthday"]) == (DEMO_ID_NUMBER, "19812341234", "1979-07-02")
    assert [c["chargeId"] for c in data["charges"]] == ["12", "20"]  # the exams (chargeType 1) only
    assert data["total"] == "560.00"
    first = data["charges"][0]
    assert first["tradeNo"] == order.out_trade_no
    assert order.paid_at is not None
    assert first["tradeTime"] == spec_time(order.paid_at)
    assert (first["price"], first["quantity"], first["chargeType"]) == ("280.00", "1", "1")
    assert (first["diagnoseCode"], first["billDocName"], first["billDocHospital"]) == (
        "I10.X02",
        "孙宏伟",
        "演示人民医院",
    )
    assert data["charges"][1]["memo"] == "空腹"

    drugs = (await query(shim_gateway, "3"))["data"]
    (drug,) = drugs["charges"]
    assert (drug["chargeId"], drug["quantity"], drug["groupId"], drug["dose"], drug["usageName"]) == (
        "13",
        "2",
        "452658",
        "160mg",
        "口服",
    )
    assert drugs["total"] == "560.00"
    assert sum(money(c["price"]) * int(c["quantity"]) for c in drugs["charges"]) == money(drugs["total"])

    labs = await query(shim_gateway, 2)  # a number is taken for chargeType; nothing of type 2 was prescribed
    assert (labs["success"], labs["code"], labs["data"]) == (False, "10002", None)

    async with services_of(shim_gateway).db.session() as session:
        recorded = (await session.execute(select(InboundCall).where(InboundCall.path == QUERY))).scalars().first()
    assert recorded is not None
    assert recorded.reply["data"] == {"charges": 2, "tradeNos": [order.out_trade_no], "total": "560.00"}


async def test_25_2_1_lists_only_money_that_stays_paid(
    shim_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    exam = CONSULTATION_CHARGES[:1]
    waiting = await paid_consultation(shim_gateway, charges=exam, notify=False)  # PAID, 25.1.1 not yet run
    assert waiting.state == "PAID"
    unpaid = await payments_of(shim_gateway).create_consultation_order(
        hospital_id=HOSPITAL,
        medical_card_number=DEMO_CARD,
        patient_name="李洋",
        gender="女",
        phone="19812341234",
        id_card=DEMO_ID_NUMBER,
        birthday="1979-07-02",
        diagnose_code="I10.X02",
        diagnose_name="高血压",
        bill_doc_hospital="演示人民医院",
        bill_doc_name="孙宏伟",
        bill_doc_code="402968515",
        charges=list(exam),
    )
    listed = (await query(shim_gateway, "1"))["data"]
    assert [c["tradeNo"] for c in listed["charges"]] == [waiting.out_trade_no]  # not the unpaid one

    # 25.1.1 refuses; 13.1.1 says refundable; the money goes back: nothing of that order is offered any more.
    inject(sim_admin, hospitalId=HOSPITAL, method=SYNC, kind="code", code="20004", times=1)
    await drive(shim_gateway)
    assert (await order_of(shim_gateway, waiting.out_trade_no)).state == "REFUNDED"
    assert (await query(shim_gateway, "1"))["code"] == "10002"
    assert unpaid.order.state == "CREATED"
    # Another hospital (254, also on loopback) sees nothing of 253's orders.
    await paid_consultation(shim_gateway, charges=exam)
    assert (await query(shim_gateway, "1", hospitalId="254"))["code"] == "10002"


async def test_25_2_2_marks_a_charge_served_and_25_2_1_stops_offering_it(shim_gateway: httpx.AsyncClient) -> None:
    order = await paid_consultation(shim_gateway)
    example = copy.deepcopy(platform_entry("25.2.2")["request_example"])
    body = {**example, "hospitalId": HOSPITAL, "medicalCardNumber": DEMO_CARD, "tradeNo": order.out_trade_no}
    body["chargeId"] = " 12"  # the example's own leading space
    reply = await post(shim_gateway, UPDATE, body)
    assert reply == platform_entry("25.2.2")["response_example"] == {"success": True, "msg": "成功", "code": "10001"}
    note = (await order_of(shim_gateway, order.out_trade_no)).quote["hospital_status"]["charge:1:12"]
    assert (note["section"], note["state"], note["charge_id"], note["charge_type"]) == ("25.2.2", "1", "12", "1")
    assert [c["chargeId"] for c in (await query(shim_gateway, "1"))["data"]["charges"]] == ["20"]
    assert await post(shim_gateway, UPDATE, body) == reply  # the same word twice: the same answer

    assert (await post(shim_gateway, UPDATE, {**body, "status": 2}))["success"] is True  # 取消登记: offered again
    assert [c["chargeId"] for c in (await query(shim_gateway, "1"))["data"]["charges"]] == ["12", "20"]
    drug = {**body, "chargeId": "13", "chargeType": "3", "status": "1"}
    assert (await post(shim_gateway, UPDATE, drug))["success"] is True
    assert (await query(shim_gateway, "3"))["code"] == "10002"  # every drug handed out
    current = await order_of(shim_gateway, order.out_trade_no)
    assert current.state == "NOTIFIED"  # no state change, no money moved
    assert await payments_of(shim_gateway).refunds(order.out_trade_no) == []
    assert {k: v["state"] for k, v in current.quote["hospital_status"].items()} == {
        "charge:1:12": "2",
        "charge:3:13": "1",
    }

    async with services_of(shim_gateway).db.session() as session:
        recorded = list((await session.execute(select(InboundCall).where(InboundCall.path == UPDATE))).scalars())
    assert [call.reply_code for call in recorded] == ["10001"] * 4


async def test_25_2_2_refusals(shim_gateway: httpx.AsyncClient) -> None:
    order = await paid_consultation(shim_gateway)
    body = {
        "hospitalId": HOSPITAL,
        "medicalCardNumber": DEMO_CARD,
        "tradeNo": order.out_trade_no,
        "chargeId": "12",
        "chargeType": "1",
        "status": "1",
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"chargeId": "99"}, "60104"),
        ({"chargeType": "3"}, "60104"),  # 12 is an exam, not a prescription
        ({"tradeNo": "JCZF-nothing"}, "10002"),
        ({"medicalCardNumber": "001000099999999"}, "10002"),  # not the card the order is for
        ({"hospitalId": "254"}, "10002"),  # not the caller's order
        ({"status": "3"}, "20004"),
        ({"chargeType": "4"}, "20004"),
        ({"status": [1]}, "20002"),
        ({"hospitalId": "no-such"}, "50001"),
    ]
    for name in ("medicalCardNumber", "tradeNo", "chargeId", "chargeType", "status"):
        cases.append(({name: None}, "20001"))
    for changes, code in cases:
        sent = {k: v for k, v in {**body, **changes}.items() if v is not None}
        reply = await post(shim_gateway, UPDATE, sent)
        assert (reply["success"], reply["code"]) == (False, code), (changes, reply)
    assert "hospital_status" not in (await order_of(shim_gateway, order.out_trade_no)).quote


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"medicalCardNumber": None}, "20001"),
        ({"chargeType": None}, "20001"),
        ({"chargeType": "5"}, "20004"),
        ({"medicalCardNumber": 11009009}, "20002"),
    ],
)
async def test_25_2_1_refusals(shim_gateway: httpx.AsyncClient, changes: dict[str, Any], code: str) -> None:
    body = {**platform_entry("25.2.1")["request_example"], **changes}
    reply = await post(shim_gateway, QUERY, {k: v for k, v in body.items() if v is not None})
    assert (reply["success"], reply["code"], reply["data"]) == (False, code, None), reply


async def test_the_spec_examples_as_written_name_nothing_of_ours(shim_gateway: httpx.AsyncClient) -> None:
    for section, path in (("25.2.1", QUERY), ("25.2.2", UPDATE)):
        reply = await post(shim_gateway, path, copy.deepcopy(platform_entry(section)["request_example"]))
        assert (reply["success"], reply["code"]) == (False, "10002"), (section, reply)
