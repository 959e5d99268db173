"""20.2.1 updateRecordsState: the hospital's word about a today's registration, noted on our paid order.

The registration is made for real (20.1.7 at the simulated hospital after a sandbox payment); the shim notes
the state on that order, in the ledger, and the patient's graph shows it. It never moves money (SQLite and
PostgreSQL).
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.shims.validation import platform_entry
from store.inbound import InboundCall
from tests.api.paid_orders import HOSPITAL, order_of, paid_today_registration, payments_of, services_of
from tests.api.paid_orders import shim_gateway as shim_gateway
from tests.conftest import calls, run_graphql, sign_in_patient
from tests.store.conftest import database_factory as database_factory
from tests.store.conftest import db as db
from tests.store.conftest import migrated_database as migrated_database

UPDATE = "/prefront/todayRegister/updateRecordsState"
ORDER = """
query($no: String!) {
  paymentOrder(outTradeNo: $no) { state hospitalStatus { section state description chargeId chargeType at } }
}"""


async def post(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(UPDATE, json=body)
    assert response.status_code == 200
    reply: dict[str, Any] = response.json()
    return reply


async def test_the_state_is_noted_on_the_order_once_and_moves_no_money(
    shim_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    order = await paid_today_registration(shim_gateway)
    body = {"hospitalId": HOSPITAL, "todayRegisterId": order.quote["today_register_id"], "registerState": "5"}
    reply = await post(shim_gateway, body)
    assert reply == platform_entry("20.2.1")["response_example"] == {"success": True, "msg": "成功", "code": "10001"}
    noted = await order_of(shim_gateway, order.out_trade_no)
    first = noted.quote["hospital_status"]["registration"]
    assert (first["section"], first["state"], first["description"]) == ("20.2.1", "5", "已就诊")
    assert noted.state == "NOTIFIED"

    assert await post(shim_gateway, body) == reply  # the same word again: the same answer, nothing changes
    assert (await order_of(shim_gateway, order.out_trade_no)).quote["hospital_status"]["registration"] == first

    # 4 已取消 (cancelled at the hospital): noted; the refund is 20.2.2's to ask, never this call's.
    sim_admin.delete("/admin/calls").raise_for_status()
    assert (await post(shim_gateway, {**body, "registerState": 4}))["success"] is True
    cancelled = await order_of(shim_gateway, order.out_trade_no)
    assert cancelled.quote["hospital_status"]["registration"]["state"] == "4"
    assert cancelled.state == "NOTIFIED"
    assert await payments_of(shim_gateway).refunds(order.out_trade_no) == []
    assert calls(sim_admin) == []  # nobody was asked anything

    async with services_of(shim_gateway).db.session() as session:
        recorded = list((await session.execute(select(InboundCall).where(InboundCall.path == UPDATE))).scalars())
    assert [(call.reply_code, call.reply["outTradeNo"]) for call in recorded] == [("10001", order.out_trade_no)] * 3
    assert recorded[0].body == body  # nothing personal in it: kept as sent

    # The patient sees it on the order.
    app = shim_gateway._transport.app  # type: ignore[attr-defined]
    shim_gateway.headers["Authorization"] = f"Bearer {await sign_in_patient(app)}"
    graph = await run_graphql(shim_gateway, ORDER, no=order.out_trade_no)
    assert "errors" not in graph, graph
    (status,) = graph["data"]["paymentOrder"]["hospitalStatus"]
    assert (status["section"], status["state"], status["description"]) == ("20.2.1", "4", "已取消")
    assert (status["chargeId"], status["chargeType"]) == (None, None)


async def test_an_unknown_or_someone_elses_registration_is_10002(shim_gateway: httpx.AsyncClient) -> None:
    order = await paid_today_registration(shim_gateway)
    example = copy.deepcopy(platform_entry("20.2.1")["request_example"])
    assert await post(shim_gateway, example) == {
        "success": False,
        "msg": "未查询到数据: 没有此当日挂号记录",
        "code": "10002",
        "data": None,
    }
    # 254 shares loopback in the demo region, so it may call; 253's registration is not its own.
    theirs = {"hospitalId": "254", "todayRegisterId": order.quote["today_register_id"], "registerState": "3"}
    assert (await post(shim_gateway, theirs))["code"] == "10002"
    assert "hospital_status" not in (await order_of(shim_gateway, order.out_trade_no)).quote


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"todayRegisterId": None}, "20001"),
        ({"registerState": None}, "20001"),
        ({"registerState": ""}, "20001"),
        ({"registerState": "6"}, "20004"),
        ({"registerState": "1"}, "20004"),
        ({"registerState": True}, "20002"),
        ({"todayRegisterId": ["d6deb603"]}, "20002"),
        ({"hospitalId": "999"}, "50001"),
    ],
)
async def test_refusals(shim_gateway: httpx.AsyncClient, changes: dict[str, Any], code: str) -> None:
    body = {**platform_entry("20.2.1")["request_example"], **changes}
    reply = await post(shim_gateway, {k: v for k, v in body.items() if v is not None})
    assert (reply["success"], reply["code"]) == (False, code), reply
