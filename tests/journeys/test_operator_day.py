"""A regional operator's working day through GraphQL alone, with the faults the demo had (issue 15, done-when).

The real app and the simulated region over loopback: patients pay, hospital 254 is slow, 255 fails every call,
and 253 applies a bill but its replies are lost and its 14.2.2 fails, so the payment worker (driven here, on a clock
the test moves past the bill's retry window) asks 13.1.1, hears "nonrefundable" and parks the order. The operator
then sees what is degraded (255's open circuit and last error, 254's latency, /readyz naming 255), finds and
resolves the parked order, reconciles yesterday and today over several hospitals (255 shows as NOT_CHECKED, never
clean), acknowledges the parked mismatch, and reads this month's statistics, the ledger's summary by hospital,
flow and day, and the audit trail. The rest of the day (why a message failed, a refund call replayed, a colleague
disabled) is in test_operator_day_more.py.

HIS timeouts and the request deadline are wide (the machine running the suite may be loaded): the test asserts
what happens, not how fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.demo import simulated_region
from api.settings import Settings
from services.payments.clock import CHINA_TIME, ManualClock
from services.payments.worker import OutboxWorker
from simulator.server import RunningSimulator
from tests.conftest import DEMO_CARD, inject, running_gateway, sign_in_operator

CLINIC_PAYMENT = "hospital.interface.clinicPayment"
BY_TRADE = "hospital.interface.reconciliation.queryByOutTradeNo"
OPERATOR = "test.region.all"


@pytest.fixture
async def day_gateway(
    simulator: RunningSimulator, tmp_path: Path, sim_admin: httpx.Client
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway without its own payment worker (the test drives it), HIS calls allowed 10 s each."""
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=simulated_region(simulator.base_url, timeout_s=10.0),
        request_deadline_s=30.0,
        run_payment_worker=False,
    )
    try:
        async with running_gateway(settings) as client:
            yield client
    finally:
        sim_admin.post("/admin/reset").raise_for_status()


async def graphql(
    client: httpx.AsyncClient, query: str, operation: str | None = None, **variables: Any
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "operationName": operation, "variables": variables})
    assert response.status_code == 200, response.text[:500]
    body: dict[str, Any] = response.json()
    return body


async def data(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await graphql(client, query, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def pay_bills(client: httpx.AsyncClient, hospital_id: str) -> dict[str, Any]:
    """The patient pays what the hospital quotes now: the order, then the sandbox's payment (as the mini-program)."""
    return await graphql(
        client,
        f"""mutation {{ createOutpatientPayment(hospitalId: "{hospital_id}", medicalCardNumber: "{DEMO_CARD}") {{
              __typename ... on CreatedPayment {{ order {{ outTradeNo totalAmount }} }} }} }}""",
    )


async def sandbox_pay(client: httpx.AsyncClient, out_trade_no: str) -> None:
    await data(client, "mutation ($no: String!) { payInSandbox(outTradeNo: $no) { __typename } }", no=out_trade_no)


async def drive(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """What the payment worker does in the background, at the clock's time."""
    services = client._transport.app.state.services  # type: ignore[attr-defined]
    worker = OutboxWorker(db=services.db, his=services.his, provider=services.payment_provider, clock=clock)
    await worker.run_until_idle()


def reconciliation(day: str, hospitals: str, *, recheck: bool = False) -> str:
    arguments = f'date: "{day}", hospitalId: "{hospitals}", recheck: {str(recheck).lower()}'
    return f"""{{ operator {{ reconciliationCheck({arguments}) {{
        clean notChecked
        hospitals {{
          hospitalId status checkedBy checkedNow notCheckedReason
          mismatches {{ id kind outTradeNo acknowledgement {{ by note }} }}
          lines {{ outTradeNo ledgerState }}
          waiting {{ outTradeNo ledgerState }}
        }}
    }} }} }}"""


def by_hospital(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["hospitalId"]: entry for entry in answer["operator"]["reconciliationCheck"]["hospitals"]}


async def test_an_operators_day_with_a_slow_a_failing_hospital_and_a_parked_payment(
    day_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    gateway = day_gateway
    inject(sim_admin, hospitalId="254", method="*", kind="latency", latencyMs=600)
    inject(sim_admin, hospitalId="255", method="*", kind="http500")
    inject(sim_admin, hospitalId="253", method=CLINIC_PAYMENT, kind="lost_reply")  # applied, but no reply reaches us
    inject(sim_admin, hospitalId="253", method=BY_TRADE, kind="http500")  # and 14.2.2 cannot tell the worker

    # Patients pay: at 253 (its replies get lost), at the slow 254; the failing 255 cannot even quote a bill.
    created_253 = (await pay_bills(gateway, "253"))["data"]["createOutpatientPayment"]
    created_254 = (await pay_bills(gateway, "254"))["data"]["createOutpatientPayment"]
    for _ in range(5):  # five patients try at 255 in the morning: each is turned away, and its circuit opens
        at_255 = await pay_bills(gateway, "255")
        assert (at_255.get("data") or {}).get("createOutpatientPayment", {}).get("__typename") != "CreatedPayment"
    parked_no = created_253["order"]["outTradeNo"]
    paid_no = created_254["order"]["outTradeNo"]
    await sandbox_pay(gateway, parked_no)
    await sandbox_pay(gateway, paid_no)
    clock = ManualClock(datetime.now(UTC))
    await drive(gateway, clock)  # 254 applies its bill; 253's reply is lost, to be tried again
    clock.advance(timedelta(minutes=31))  # past the bill's retry window: 13.1.1 says nonrefundable, so parked
    await drive(gateway, clock)
    sim_admin.delete("/admin/faults")  # 253 recovers; 254 stays slow and 255 keeps failing
    inject(sim_admin, hospitalId="254", method="*", kind="latency", latencyMs=600)
    inject(sim_admin, hospitalId="255", method="*", kind="http500")

    sign_in_operator(gateway, role="region")

    # What is degraded, from the gateway's own records (no hospital called): 255 failing, with its last error and
    # open circuit; 254 answering, slowly; /readyz names the degraded hospitals and stays ready.
    health = await data(
        gateway,
        """{ operator { hospitalHealth {
             hospitalId circuit circuitSince degraded degradedBecause lastError { code method at }
             windows { minutes calls errors p95Ms } } } }""",
    )
    entries = {e["hospitalId"]: e for e in health["operator"]["hospitalHealth"]}
    failing, slow = entries["255"], entries["254"]
    assert (failing["degraded"], failing["circuit"], failing["lastError"]["code"]) == (True, "OPEN", "HTTP_500")
    assert failing["circuitSince"]
    assert failing["degradedBecause"]
    five_minutes = slow["windows"][0]
    assert (five_minutes["minutes"], five_minutes["errors"]) == (5, 0)
    assert five_minutes["calls"] >= 2
    assert five_minutes["p95Ms"] >= 600  # the injected 600 ms shows
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    assert "255" in {d["hospitalId"] for d in ready.json()["degradedHospitals"]}

    # The parked order, with why.
    parked = await data(
        gateway,
        "{ operator { orders(state: PARKED) { orders { outTradeNo state stateReason version waitsForOperator } } } }",
    )
    (order,) = parked["operator"]["orders"]["orders"]
    assert (order["outTradeNo"], order["state"], order["waitsForOperator"]) == (parked_no, "PARKED", True)
    assert "nonrefundable" in order["stateReason"]

    # Reconcile today and yesterday over several hospitals.
    today = datetime.now(CHINA_TIME).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    checked = await data(gateway, reconciliation(today.isoformat(), "253,254,255"))
    day = by_hospital(checked)
    assert checked["operator"]["reconciliationCheck"]["notChecked"] == ["255"]
    assert day["255"]["status"] == "NOT_CHECKED"
    assert day["255"]["notCheckedReason"]
    assert day["254"]["status"] == "CLEAN"
    assert {"outTradeNo": paid_no, "ledgerState": "NOTIFIED"} in day["254"]["lines"]
    assert day["253"]["status"] == "MISMATCHES"
    (mismatch,) = day["253"]["mismatches"]
    assert (mismatch["kind"], mismatch["outTradeNo"]) == ("PARKED", parked_no)

    quiet = by_hospital(await data(gateway, reconciliation(yesterday, "253,254,255")))
    assert (quiet["253"]["status"], quiet["254"]["status"], quiet["255"]["status"]) == ("CLEAN", "CLEAN", "NOT_CHECKED")
    assert quiet["253"]["waiting"] == [{"outTradeNo": parked_no, "ledgerState": "PARKED"}]  # beside the day, not in it

    # Who looked at the mismatch, then the parked order resolved: the hospital's 14.2.2 lists the payment.
    acknowledged = await data(
        gateway,
        """mutation ($id: ID!) { acknowledgeMismatch(id: $id, note: "253 applied it; marking it notified") {
             __typename ... on MismatchAcknowledged { mismatch { acknowledgement { by note } } } } }""",
        id=mismatch["id"],
    )
    assert acknowledged["acknowledgeMismatch"]["mismatch"]["acknowledgement"]["by"] == OPERATOR
    resolved = await data(
        gateway,
        """mutation ($no: String!, $version: Int!) {
             resolveParkedOrder(
               outTradeNo: $no, outcome: MARK_NOTIFIED, note: "14.2.2 lists it", expectedVersion: $version
             ) {
               __typename ... on ParkedOrderResolved { order { state } evidence { hospitalHasPayment } } } }""",
        no=parked_no,
        version=order["version"],
    )
    assert resolved["resolveParkedOrder"]["__typename"] == "ParkedOrderResolved"
    assert resolved["resolveParkedOrder"]["order"]["state"] == "NOTIFIED"
    assert resolved["resolveParkedOrder"]["evidence"]["hospitalHasPayment"] is True

    rechecked = by_hospital(await data(gateway, reconciliation(today.isoformat(), "253", recheck=True)))
    assert (rechecked["253"]["status"], rechecked["253"]["mismatches"]) == ("CLEAN", [])
    still = by_hospital(await data(gateway, reconciliation(yesterday, "255")))
    assert (still["255"]["status"], still["255"]["checkedNow"]) == ("NOT_CHECKED", False)  # stored until rechecked

    # This month's statistics: the hospitals that answered, and 255 named as not answering.
    month = f'from: "{today.replace(day=1).isoformat()}", to: "{today.isoformat()}", hospitalId: "253,254,255"'
    stats = await data(
        gateway,
        f"{{ operator {{ statistics({month}, bucket: DAY) {{ "
        "rows { hospitalId } notAnswered { hospitalId } } } }",
    )
    series = stats["operator"]["statistics"]
    assert {r["hospitalId"] for r in series["rows"]} == {"253", "254"}
    assert [n["hospitalId"] for n in series["notAnswered"]] == ["255"]
    # The month's counts as 30.1.2 gives them, asked once over the month: 255's entry null, with its own error.
    counted = await graphql(
        gateway,
        f"{{ operator {{ statistics({month}, bucket: MONTH) {{ window {{ hospitalId appointments }} }} }} }}",
    )
    window = counted["data"]["operator"]["statistics"]["window"]
    assert [entry["hospitalId"] for entry in window if entry is not None] == ["253", "254"]
    assert all(isinstance(entry["appointments"], int) for entry in window if entry is not None)
    assert window.count(None) == 1
    assert [e["extensions"].get("hospitalId") for e in counted["errors"]] == ["255"]

    # Today's money by hospital, flow and day, read from the ledger alone while 255 is down.
    summary = await data(
        gateway,
        "{ operator { ledgerSummary(groupBy: [HOSPITAL, FLOW, DAY]) { "
        "groups { hospitalId flow day paidCount paidAmount parkedCount inFlightCount } "
        "total { paidCount parkedCount inFlightCount } } } }",
    )
    figures = summary["operator"]["ledgerSummary"]
    paid_groups = [g for g in figures["groups"] if g["paidCount"]]
    assert {g["hospitalId"] for g in paid_groups} == {"253", "254"}
    assert {(g["flow"], g["day"]) for g in paid_groups} == {("BILLS", today.isoformat())}
    assert figures["total"]["paidCount"] == 2
    assert (figures["total"]["parkedCount"], figures["total"]["inFlightCount"]) == (0, 0)

    # The audit trail names the operator's actions.
    trail = await data(gateway, "{ operator { auditLog(first: 50) { entries { operator action target } } } }")
    actions = {(e["operator"], e["action"]) for e in trail["operator"]["auditLog"]["entries"]}
    assert {(OPERATOR, "mismatch-acknowledged"), (OPERATOR, "parked-order-resolved")} <= actions
    assert (OPERATOR, "reconciliation-checked") in actions
