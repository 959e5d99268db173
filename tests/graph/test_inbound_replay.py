"""replayInboundCall: operators post a recorded shim call again, in-process, as the hospital that made it.

The calls are real (the hospital posts to the running app from loopback), the orders are real (PaymentService,
sandbox, the simulated hospital), and the replay runs the app's own shim: its answer can differ from the first
(the order was paid since), it is recorded as a new call, and a repeat acts no second time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.settings import Settings
from his_clients.registry import Registry
from store.inbound import InboundCall
from tests.api.paid_orders import HOSPITAL, order_of, paid_consultation, pay, payments_of
from tests.conftest import DEMO_CARD, run_graphql, running_gateway, sign_in_operator, sign_in_patient

RECORD = "/prefront/reconciliation/paymentRecord"
REPLAY = """
mutation($id: ID!) {
  replayInboundCall(callId: $id) {
    __typename
    ... on InboundReplaySuccess { success replyCode reply original { id path hospitalId replyCode body } }
    ... on Refusal { code message }
  }
}"""
CALLS = "query($path: String) { operator { inboundCalls(path: $path) { id replyCode reply } } }"


@pytest.fixture
async def gateway_app(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=3.0,
        run_payment_worker=False,
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


async def hospital_posts(client: httpx.AsyncClient, path: str, body: Any, **headers: str) -> str:
    """A hospital's call (loopback, auth none); the ledger id it was recorded under."""
    saved = client.headers.pop("Authorization", None)
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    response = await client.post(path, content=content, headers=headers)
    assert response.status_code == 200
    if saved is not None:
        client.headers["Authorization"] = saved
    db = client._transport.app.state.services.db  # type: ignore[attr-defined]
    async with db.session() as session:
        newest = await session.scalar(select(func.max(InboundCall.id)).where(InboundCall.path == path))
    assert newest is not None
    return str(newest)


async def replay(client: httpx.AsyncClient, call_id: str) -> dict[str, Any]:
    body = await run_graphql(client, REPLAY, id=call_id)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["replayInboundCall"]
    return result


async def test_a_replay_runs_the_shim_again_as_the_hospital(gateway_app: httpx.AsyncClient) -> None:
    created = await payments_of(gateway_app).create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=DEMO_CARD, amount=Decimal("20.00")
    )
    number = created.order.out_trade_no
    call_id = await hospital_posts(gateway_app, RECORD, {"hospitalId": HOSPITAL, "outTradeNo": number})
    await pay(gateway_app, number)  # paid and applied since the hospital asked

    sign_in_operator(gateway_app, role="region")
    replayed = await replay(gateway_app, call_id)
    assert replayed["__typename"] == "InboundReplaySuccess"
    assert (replayed["success"], replayed["replyCode"]) == (True, "10001")
    assert json.loads(replayed["reply"])["data"]["state"] == "SUCCESS"  # the first answer said NOTPAY
    original = replayed["original"]
    assert (original["id"], original["path"], original["hospitalId"]) == (call_id, RECORD, HOSPITAL)
    assert json.loads(original["body"]) == {"hospitalId": HOSPITAL, "outTradeNo": number}
    listed = (await run_graphql(gateway_app, CALLS, path=RECORD))["data"]["operator"]["inboundCalls"]
    assert len(listed) == 2  # the replay is a call of its own
    assert [json.loads(call["reply"])["data"]["state"] for call in listed] == ["SUCCESS", "NOTPAY"]

    # That hospital's operator may replay it; another hospital's operator cannot even see it.
    sign_in_operator(gateway_app, role="hospital", hospital_id=HOSPITAL)
    assert (await replay(gateway_app, call_id))["__typename"] == "InboundReplaySuccess"
    sign_in_operator(gateway_app, role="hospital", hospital_id="254")
    refused = await replay(gateway_app, call_id)
    unknown = await replay(gateway_app, "987654321")
    # Said exactly as for a call that does not exist.
    assert (refused["code"], refused["message"]) == ("NOT_FOUND", f"no recorded call {call_id}")
    assert (unknown["code"], unknown["message"]) == ("NOT_FOUND", "no recorded call 987654321")
    assert (await replay(gateway_app, "not-a-number"))["code"] == "NOT_FOUND"


async def test_a_replayed_write_acts_once_and_the_answer_is_masked(gateway_app: httpx.AsyncClient) -> None:
    order = await paid_consultation(gateway_app)
    update = {
        "hospitalId": HOSPITAL,
        "medicalCardNumber": DEMO_CARD,
        "tradeNo": order.out_trade_no,
        "chargeId": "12",
        "chargeType": "1",
        "status": "1",
    }
    update_id = await hospital_posts(
        gateway_app, "/prefront/internetHospital/updatePatientInterHospitalOrderStatus", update
    )
    noted = (await order_of(gateway_app, order.out_trade_no)).quote["hospital_status"]
    sign_in_operator(gateway_app, role="region")
    again = await replay(gateway_app, update_id)
    assert (again["success"], again["replyCode"]) == (True, "10001")
    assert (await order_of(gateway_app, order.out_trade_no)).quote["hospital_status"] == noted  # nothing new

    query = {"hospitalId": HOSPITAL, "medicalCardNumber": DEMO_CARD, "chargeType": "3"}
    query_id = await hospital_posts(gateway_app, "/prefront/internetHospital/queryPatientInterHospitalOrder", query)
    answer = json.loads((await replay(gateway_app, query_id))["reply"])
    assert answer["data"]["charges"][0]["tradeNo"] == order.out_trade_no
    # The hospital gets the patient's details; an operator reading a replay sees them masked.
    assert (answer["data"]["patName"], answer["data"]["idCard"], answer["data"]["phone"]) == (
        "李*",
        "370102********5236",
        "198****1234",
    )


async def test_calls_that_cannot_be_replayed_say_why(gateway_app: httpx.AsyncClient) -> None:
    new_patient = {
        "hospitalId": HOSPITAL,
        "name": "李四",
        "gender": "2",
        "birthdate": "1990-03-04",
        "phone": "13800001111",
    }
    masked = await hospital_posts(gateway_app, "/prefront/patient/genCard", new_patient)
    # Loopback may act for several demo hospitals: naming none of them is refused before one is known.
    nobody = await hospital_posts(gateway_app, RECORD, {"hospitalId": "no-such", "outTradeNo": "JZKCZ-1"})
    unreadable = await hospital_posts(gateway_app, RECORD, b"{not json", **{"X-Hospital-Id": HOSPITAL})

    sign_in_operator(gateway_app, role="region")
    masked_reply = await replay(gateway_app, masked)
    assert masked_reply["code"] == "MASKED_BODY"
    assert "masked" in masked_reply["message"]
    assert (await replay(gateway_app, nobody))["code"] == "NO_HOSPITAL"
    assert (await replay(gateway_app, unreadable))["code"] == "BODY_NOT_RECORDED"
    calls = (await run_graphql(gateway_app, CALLS, path="/prefront/patient/genCard"))["data"]["operator"]
    assert len(calls["inboundCalls"]) == 1  # nothing was posted again

    sign_in_operator(gateway_app, role="hospital", hospital_id=HOSPITAL)
    assert (await replay(gateway_app, nobody))["code"] == "NOT_FOUND"  # no hospital: region operators' only


async def test_only_operators_may_replay(gateway_app: httpx.AsyncClient) -> None:
    call_id = await hospital_posts(gateway_app, RECORD, {"hospitalId": HOSPITAL, "outTradeNo": "JZKCZ-1"})
    anonymous = await run_graphql(gateway_app, REPLAY, id=call_id)
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"]["code"] == "50001"
    app = gateway_app._transport.app  # type: ignore[attr-defined]
    gateway_app.headers["Authorization"] = f"Bearer {await sign_in_patient(app)}"
    patient = await run_graphql(gateway_app, REPLAY, id=call_id)
    assert patient["errors"][0]["extensions"]["code"] == "50001"
