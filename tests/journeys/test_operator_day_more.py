"""The rest of a regional operator's day through GraphQL alone, with its faults injected (issue 15, done-when).

Beside tests/journeys/test_operator_day.py (what is degraded, the parked order, reconciliation, statistics): the
operator sees why a message failed (WeChat unreachable, a patient who follows no official account, and nothing
delivering at all), replays a hospital's refund call from the inbound ledger (254 asked to refund while the
payment provider was down, and was told the state is unknown), and disables a leaving colleague, whose session
stops working at once; the audit trail names each of these.

The real app and the simulated region over loopback; the message worker and the payment worker are driven here.
HIS timeouts and the request deadline are wide (the machine running the suite may be loaded): the test asserts
what happens, not how fast.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from api.shims.validation import platform_entry
from services.messages import MemoryDirectory, OfficialFollower
from services.payments.clock import ManualClock
from store.inbound import InboundCall
from tests.conftest import DEMO_CARD, free_port, inject, sign_in_operator
from tests.journeys.test_operator_day import OPERATOR, data, day_gateway, drive, graphql, pay_bills, sandbox_pay
from tests.messages.support import add_patients, make_worker

__all__ = ["day_gateway"]

LIS_REPORT = "/prefront/sendTipMessage/lisReport"
HIS_REFUND = "/prefront/hospitalizationCosts/hisRefund"
COLLEAGUE = "test.hospital.254"


def services_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.services  # type: ignore[attr-defined]


async def hospital_posts(client: httpx.AsyncClient, path: str, body: dict[str, Any], hospital: str) -> dict[str, Any]:
    """A hospital's call to a shim (loopback, auth none, acting for ``hospital``), without the operator's token."""
    content = json.dumps(body, ensure_ascii=False).encode()
    response = await client.post(
        path,
        content=content,
        headers={"Authorization": "", "X-Hospital-Id": hospital, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text[:300]
    reply: dict[str, Any] = response.json()
    return reply


async def newest_call(client: httpx.AsyncClient, path: str) -> int:
    async with services_of(client).db.session() as session:
        newest = await session.scalar(select(func.max(InboundCall.id)).where(InboundCall.path == path))
    assert newest is not None
    return int(newest)


async def paid_at_254(gateway: httpx.AsyncClient) -> tuple[str, Decimal]:
    """A patient pays 254's bill; the worker tells the (slow) hospital, which applies it."""
    created = (await pay_bills(gateway, "254"))["data"]["createOutpatientPayment"]
    number: str = created["order"]["outTradeNo"]
    await sandbox_pay(gateway, number)
    await drive(gateway, ManualClock(datetime.now(UTC)))
    return number, Decimal(created["order"]["totalAmount"])


async def test_why_a_message_failed_a_refund_call_replayed_and_a_colleague_disabled(
    day_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    gateway = day_gateway
    services = services_of(gateway)
    inject(sim_admin, hospitalId="254", method="*", kind="latency", latencyMs=600)  # 254 slow all day
    paid_no, paid_total = await paid_at_254(gateway)

    # -- Why a message failed. Hospital 253 pushes two lab reports (19.1.4); nothing delivers them, then a
    # worker tries with WeChat unreachable: one waits to be tried again, the other's patient follows no account.
    await add_patients(services.db)  # card-zhang follows the official account; card-wang does not
    push = dict(platform_entry("19.1.4")["request_example"])
    for card, key in (("card-zhang", "lab-zhang"), ("card-wang", "lab-wang")):
        answered = await hospital_posts(
            gateway, LIS_REPORT, {**push, "medicalCardNumber": card, "reportkey": key}, "253"
        )
        assert answered["code"] == "10001", answered
    # 253 did not hear our answer to the first and pushes it again: answered as before, marked a repeat, not queued.
    repeated = {**push, "medicalCardNumber": "card-zhang", "reportkey": "lab-zhang"}
    assert (await hospital_posts(gateway, LIS_REPORT, repeated, "253"))["code"] == "10001"

    sign_in_operator(gateway, role="region")
    delivering = await data(
        gateway,
        "{ operator { messaging { workerRunning officialAccountConfigured pending } "
        'messageDeliveries(hospitalId: "253") { state nextAttemptAt } '
        'inboundCalls(section: "19.1.4") { id isRepeat duplicateOf } } }',
    )
    repeat, second, first_push = delivering["operator"]["inboundCalls"]  # newest first
    assert (repeat["isRepeat"], repeat["duplicateOf"]) == (True, first_push["id"])
    assert (first_push["isRepeat"], second["isRepeat"]) == (False, False)
    messaging = delivering["operator"]["messaging"]
    # Two messages wait and nothing is delivering them: no worker running, no official account configured.
    assert (messaging["workerRunning"], messaging["officialAccountConfigured"], messaging["pending"]) == (
        False,
        False,
        2,
    )
    assert {m["state"] for m in delivering["operator"]["messageDeliveries"]} == {"PENDING"}

    clock = ManualClock(datetime.now(UTC))
    directory = MemoryDirectory({"union-zhang": OfficialFollower("oa-zhang")})
    apis: list[Any] = []
    worker = make_worker(services.db, f"http://127.0.0.1:{free_port()}", clock, directory, apis)  # nothing listens
    try:
        await worker.run_until_idle()
    finally:
        for api in apis:
            await api.aclose()
    failed = await data(
        gateway,
        """{ operator {
             retrying: messageDeliveries(state: RETRY) {
               kind hospitalId medicalCardNumber lastError nextAttemptAt sentAt }
             never: messageDeliveries(state: UNDELIVERABLE) { kind lastError nextAttemptAt sentAt }
             messageCounts { hospitalId kind state count } } }""",
    )
    (retrying,) = failed["operator"]["retrying"]
    assert (retrying["kind"], retrying["hospitalId"], retrying["sentAt"]) == ("lisReport", "253", None)
    assert retrying["lastError"]  # why: WeChat could not be reached
    assert retrying["nextAttemptAt"]  # and when it is tried again
    assert "card-zhang" not in retrying["medicalCardNumber"]  # masked
    (never,) = failed["operator"]["never"]
    assert "openid" in never["lastError"]  # why: the patient follows no official account
    assert (never["nextAttemptAt"], never["sentAt"]) == (None, None)  # never tried again
    counts = {(c["hospitalId"], c["kind"], c["state"]): c["count"] for c in failed["operator"]["messageCounts"]}
    assert counts == {("253", "lisReport", "RETRY"): 1, ("253", "lisReport", "UNDELIVERABLE"): 1}

    # -- A refund call replayed. 254 asks us (13.2.1) to refund part of its paid bill while the payment provider
    # is down: the hospital is told the state is unknown (10002) and nothing is refunded.
    provider = services.payment_provider
    provider.unavailable = True
    refund_no = "254-RF-0001"
    amount = min(paid_total, Decimal("1.00"))
    body = dict(platform_entry("13.2.1")["request_example"])
    body.update(outTradeNo=paid_no, medicalCardNumber=DEMO_CARD, refundNo=refund_no, amount=str(amount))
    del body["unifiedTradeNo"]  # the bill went through no unified settlement
    first = await hospital_posts(gateway, HIS_REFUND, body, "254")
    assert first["code"] == "10002", first
    assert provider.refunds_of(paid_no) == []
    provider.unavailable = False  # the provider is back

    calls = await data(
        gateway,
        """{ operator { inboundCalls(section: "13.2.1", replyCode: "10002") {
             id hospitalId section replyCode body replayOf replayedBy } } }""",
    )
    (call,) = calls["operator"]["inboundCalls"]
    assert (call["hospitalId"], call["replyCode"], call["replayOf"]) == ("254", "10002", None)
    assert "370102197907025236" not in call["body"]  # the recorded body is masked; the sealed copy is replayed
    replayed = await data(
        gateway,
        """mutation ($id: ID!) { replayInboundCall(callId: $id) {
             __typename ... on InboundReplaySuccess { success replyCode } } }""",
        id=call["id"],
    )
    assert replayed["replayInboundCall"] == {
        "__typename": "InboundReplaySuccess",
        "success": True,
        "replyCode": "10001",
    }
    again = await newest_call(gateway, HIS_REFUND)
    shown = await data(
        gateway,
        """{ operator { inboundCalls(section: "13.2.1") { id replyCode replayOf replayedBy } } }""",
    )
    assert shown["operator"]["inboundCalls"][0] == {
        "id": str(again),
        "replyCode": "10001",
        "replayOf": call["id"],
        "replayedBy": OPERATOR,
    }
    (refunded,) = provider.refunds_of(paid_no)
    assert refunded.amount == amount  # refunded once, by the replay
    order = await data(
        gateway,
        """query ($no: String!) { operator { order(outTradeNo: $no) {
             state refunds { outRefundNo hisRefundNo amount state } } } }""",
        no=paid_no,
    )
    (refund,) = order["operator"]["order"]["refunds"]
    assert (refund["hisRefundNo"], refund["state"], refund["outRefundNo"]) == (
        refund_no,
        "SUCCEEDED",
        refunded.out_refund_no,
    )

    # -- A leaving colleague disabled: 254's operator reads the console, is disabled, and their session stops.
    colleague = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway._transport.app),  # type: ignore[attr-defined]
        base_url=str(gateway.base_url),
        timeout=30.0,
    )
    async with colleague:
        sign_in_operator(colleague, role="hospital", hospital_id="254")
        mine = await data(colleague, "{ operator { hospitalHealth { hospitalId } } }")
        assert [e["hospitalId"] for e in mine["operator"]["hospitalHealth"]] == ["254"]
        disabled = await data(
            gateway,
            """mutation ($u: String!) { disableOperator(username: $u) {
                 __typename ... on OperatorAccount { username disabled } } }""",
            u=COLLEAGUE,
        )
        assert disabled["disableOperator"] == {"__typename": "OperatorAccount", "username": COLLEAGUE, "disabled": True}
        after = await graphql(colleague, "{ operator { hospitalHealth { hospitalId } } }")
        assert after["data"] == {"operator": None}
        assert [e["extensions"]["code"] for e in after["errors"]] == ["UNAUTHENTICATED"]
    listed = await data(gateway, "{ operator { operators { username disabled } } }")
    assert {"username": COLLEAGUE, "disabled": True} in listed["operator"]["operators"]

    # -- The audit trail: the replay (from the sealed copy) and the colleague disabled, by this operator.
    trail = await data(gateway, "{ operator { auditLog(first: 50) { entries { operator action target } } } }")
    entries = trail["operator"]["auditLog"]["entries"]
    assert any(
        e["operator"] == OPERATOR and e["action"] == "operator-disabled" and COLLEAGUE in e["target"] for e in entries
    )
    replays = [e for e in entries if e["action"] == "inbound-call-replayed"]
    assert replays
    assert all(e["operator"] == OPERATOR and e["target"] == f"inbound call {call['id']}" for e in replays)
