"""14.1.1-14.1.3: hospitals reconcile against our ledger, after money moved through the real sagas.

A recharge and a today's registration are paid through the sandbox and applied at the simulated hospital;
the registration is then cancelled (20.1.8 answers the hospital's refund voucher) and refunded. The shims
must answer exactly that, in each entry's own reply shape, to the calling hospital only (SQLite and PostgreSQL).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.shims.validation import platform_entry
from services.payments.clock import spec_time
from store.inbound import InboundCall
from tests.api.paid_orders import HOSPITAL, drive, order_of, paid_today_registration, pay, payments_of, services_of
from tests.api.paid_orders import shim_gateway as shim_gateway
from tests.conftest import DEMO_CARD
from tests.store.conftest import database_factory as database_factory
from tests.store.conftest import db as db
from tests.store.conftest import migrated_database as migrated_database

QUERY = "/prefront/reconciliation/query"
BY_REFUND_NO = "/prefront/reconciliation/queryByHospitalRefundNo"
RECORD = "/prefront/reconciliation/paymentRecord"
PATHS = {"14.1.1": QUERY, "14.1.2": BY_REFUND_NO, "14.1.3": RECORD}


@dataclass(frozen=True)
class Ledger:
    recharge: str
    registration: str
    refund_no: str
    his_refund_no: str
    unpaid: str


@pytest.fixture
async def ledger(shim_gateway: httpx.AsyncClient) -> Ledger:
    payments = payments_of(shim_gateway)
    recharge = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=DEMO_CARD, amount=Decimal("50.10")
    )
    await pay(shim_gateway, recharge.order.out_trade_no)
    registration = await paid_today_registration(shim_gateway)
    await payments.request_cancel(registration.out_trade_no)
    await drive(shim_gateway)
    (refund,) = await payments.refunds(registration.out_trade_no)
    assert str(refund.state) == "SUCCEEDED"
    assert refund.his_refund_no
    unpaid = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=DEMO_CARD, amount=Decimal("9")
    )
    assert (await order_of(shim_gateway, recharge.order.out_trade_no)).state == "NOTIFIED"
    return Ledger(
        recharge=recharge.order.out_trade_no,
        registration=registration.out_trade_no,
        refund_no=refund.out_refund_no,
        his_refund_no=refund.his_refund_no,
        unpaid=unpaid.order.out_trade_no,
    )


def window(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "hospitalId": HOSPITAL,
        "startTime": spec_time(now - timedelta(hours=1)),
        "endTime": spec_time(now + timedelta(hours=1)),
        "tradeType": "",
        "businessType": "JZKCZ,DRGH",
        "payType": "WeChatPay",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 200
    reply: dict[str, Any] = response.json()
    return reply


def required_fields(section: str) -> set[str]:
    names = {f["name"] for f in platform_entry(section)["response_fields"] if f["required"]}
    return names - {"success", "msg", "message", "code", "description", "createTime"}


async def test_14_1_1_lists_every_payment_and_refund_of_the_window(
    shim_gateway: httpx.AsyncClient, ledger: Ledger
) -> None:
    reply = await post(shim_gateway, QUERY, window())
    assert (reply["success"], reply["code"], reply["msg"]) == (True, "10001", "成功")
    lines = reply["data"]
    for line in lines:
        assert required_fields("14.1.1") <= set(line), line
    by_number = {line["outTradeNo"]: line for line in lines}
    assert set(by_number) == {ledger.recharge, ledger.registration, ledger.refund_no}  # the unpaid order: no line
    assert by_number[ledger.recharge]["amount"] == 50.1
    assert by_number[ledger.registration]["stateDes"] == "已退款"
    refund = by_number[ledger.refund_no]
    assert (refund["sourceOutTradeNo"], refund["refundOrderNo"]) == (ledger.registration, ledger.his_refund_no)
    assert refund["amount"] == -by_number[ledger.registration]["amount"]
    assert sum(Decimal(str(line["amount"])) for line in lines) == Decimal("50.10")
    assert all(line["payType"] == "WeChatPay" and line["transactionId"] for line in lines)

    refunds = (await post(shim_gateway, QUERY, window(tradeType="REFUND")))["data"]
    assert [line["outTradeNo"] for line in refunds] == [ledger.refund_no]
    pays = (await post(shim_gateway, QUERY, window(tradeType="pay")))["data"]
    assert {line["outTradeNo"] for line in pays} == {ledger.recharge, ledger.registration}
    recharges = (await post(shim_gateway, QUERY, window(businessType="JZKCZ")))["data"]
    assert [line["outTradeNo"] for line in recharges] == [ledger.recharge]
    assert (await post(shim_gateway, QUERY, window(payType="AliPay")))["data"] == []
    # With outTradeNo every other condition is void ...
    one = (await post(shim_gateway, QUERY, window(outTradeNo=ledger.registration, businessType="ZJZF")))["data"]
    assert [line["outTradeNo"] for line in one] == [ledger.registration]
    # ... but never the caller's scope: 254 (also on loopback) sees none of 253's money.
    assert (await post(shim_gateway, QUERY, window(hospitalId="254")))["data"] == []
    assert (await post(shim_gateway, QUERY, window(hospitalId="254", outTradeNo=ledger.recharge)))["data"] == []

    async with services_of(shim_gateway).db.session() as session:
        recorded = (await session.execute(select(InboundCall).where(InboundCall.path == QUERY))).scalars().first()
    assert recorded is not None
    assert recorded.reply_code == "10001"
    assert recorded.reply["data"]["count"] == 3  # the ledger keeps the numbers, not the payers' names
    assert set(recorded.reply["data"]["outTradeNos"]) == set(by_number)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"startTime": None}, "20001"),
        ({"endTime": None}, "20001"),
        ({"businessType": None}, "20001"),
        ({"businessType": ""}, "20001"),
        ({"startTime": "2025-13-01 08:00:00"}, "20003"),
        ({"endTime": "2025/11/26 08:00:00"}, "20003"),
        ({"startTime": "2025-11-01 00:00:00", "endTime": "2025-11-08 00:00:01"}, "20004"),  # over 7 days
        ({"startTime": "2025-11-08 00:00:00", "endTime": "2025-11-01 00:00:00"}, "20004"),  # reversed
        ({"tradeType": "BOTH"}, "20004"),
        ({"startTime": "0001-01-01 00:00:00", "endTime": "0001-01-02 00:00:00"}, "20004"),
        ({"startTime": 20251101}, "20002"),
    ],
)
async def test_14_1_1_refusals(shim_gateway: httpx.AsyncClient, changes: dict[str, Any], code: str) -> None:
    reply = await post(shim_gateway, QUERY, window(**changes))
    assert (reply["success"], reply["code"], reply["data"]) == (False, code, None), reply


async def test_14_1_2_answers_in_its_own_shape(shim_gateway: httpx.AsyncClient, ledger: Ledger) -> None:
    body = {"hospitalId": HOSPITAL, "hospitalRefundNo": ledger.his_refund_no}
    reply = await post(shim_gateway, BY_REFUND_NO, body)
    assert set(reply) == {"success", "message", "data"}
    assert reply["success"] is True
    (record,) = reply["data"]
    assert required_fields("14.1.2") <= set(record), record
    assert record["refundSuccess"] is True
    assert (record["outTradeNo"], record["sourceOutTradeNo"]) == (ledger.refund_no, ledger.registration)
    assert record["refundOrderNo"] == ledger.his_refund_no
    assert record["amount"] == -23.0
    assert record["orderLog"][0]["description"] == "生成退款单"
    assert record["orderLog"][-1]["description"] == "退款成功"
    assert all(set(entry) == {"description", "createTime"} for entry in record["orderLog"])
    # Our own refund number finds it too; another hospital and an unknown number find nothing.
    ours = await post(shim_gateway, BY_REFUND_NO, {"hospitalId": HOSPITAL, "hospitalRefundNo": ledger.refund_no})
    assert [r["outTradeNo"] for r in ours["data"]] == [ledger.refund_no]
    for other in ({"hospitalId": "254", "hospitalRefundNo": ledger.his_refund_no}, {**body, "hospitalRefundNo": "x1"}):
        assert await post(shim_gateway, BY_REFUND_NO, other) == {"success": True, "message": None, "data": []}

    missing = await post(shim_gateway, BY_REFUND_NO, {"hospitalId": HOSPITAL})
    assert set(missing) == {"success", "message", "code", "data"}
    assert (missing["success"], missing["code"], missing["data"]) == (False, "20001", None)
    assert "hospitalRefundNo" in missing["message"]
    wrong_type = await post(shim_gateway, BY_REFUND_NO, {"hospitalId": HOSPITAL, "hospitalRefundNo": {"no": 1}})
    assert wrong_type["code"] == "20002"
    not_ours = await post(shim_gateway, BY_REFUND_NO, {"hospitalId": "no-such", "hospitalRefundNo": "1"})
    assert (not_ours["success"], not_ours["code"]) == (False, "50001")


async def test_14_1_3_answers_one_payment_or_refund(shim_gateway: httpx.AsyncClient, ledger: Ledger) -> None:
    async def record(number: str, hospital: str = HOSPITAL) -> dict[str, Any]:
        return await post(shim_gateway, RECORD, {"hospitalId": hospital, "outTradeNo": number})

    paid = await record(ledger.recharge)
    assert (paid["success"], paid["code"], paid["msg"]) == (True, "10001", "成功")
    assert required_fields("14.1.3") <= set(paid["data"])
    assert (paid["data"]["state"], paid["data"]["amount"]) == ("SUCCESS", 50.1)
    assert paid["data"]["transactionId"]
    refunded = (await record(ledger.refund_no))["data"]
    assert (refunded["outTradeNo"], refunded["state"], refunded["amount"]) == (
        ledger.refund_no,
        "REFUND_SUCCESS",
        -23.0,
    )
    assert (await record(ledger.registration))["data"]["state"] == "REFUND"
    unpaid = (await record(ledger.unpaid))["data"]
    assert (unpaid["state"], unpaid["payTime"]) == ("NOTPAY", None)
    for unknown in (await record("JZKCZ-nothing"), await record(ledger.recharge, hospital="254")):
        assert (unknown["success"], unknown["code"], unknown["data"]) == (False, "10002", None)
    missing = await post(shim_gateway, RECORD, {"hospitalId": HOSPITAL})
    assert (missing["success"], missing["code"]) == (False, "20001")


@pytest.mark.parametrize("section", sorted(PATHS))
async def test_the_spec_examples_as_written_get_the_entry_shape(shim_gateway: httpx.AsyncClient, section: str) -> None:
    """The examples name numbers we never issued: 14.1.1 and 14.1.2 answer an empty list, 14.1.3 10002."""
    body = copy.deepcopy(platform_entry(section)["request_example"])
    reply = await post(shim_gateway, PATHS[section], body)
    example = platform_entry(section)["response_example"]
    if section == "14.1.3":
        assert (reply["success"], reply["code"], reply["data"]) == (False, "10002", None)
    else:
        assert set(reply) == set(example)
        assert (reply["success"], reply["data"]) == (True, [])
