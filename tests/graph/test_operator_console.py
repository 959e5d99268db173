"""The operators' console through GraphQL: ledger orders, settling parked orders, the ledger's money summary and
hospital health, with the simulator and faults (issue 15 items 1, 2, 3 and 5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.settings import Settings
from his_clients.registry import Registry
from services.payments.sagas import FLOWS
from services.payments.worker import OutboxWorker
from store.audit import AuditEntry
from store.orders import OrderRepository, OrderState
from store.outbox import OutboxRepository
from tests.conftest import DEMO_CARD, calls, inject, run_graphql, running_gateway, sign_in_operator

HOSPITAL = "253"
BY_TRADE = "hospital.interface.reconciliation.queryByOutTradeNo"
NONREFUNDABLE = "13.1.1 answered 'nonrefundable': not refundable"

ORDERS = """
query ($state: LedgerOrderState, $hospitalId: ID, $first: Int!, $after: String) {
  operator {
    orders(state: $state, hospitalId: $hospitalId, first: $first, after: $after) {
      totalCount endCursor hasNextPage
      orders {
        outTradeNo hospitalId state stateReason version waitsForOperator onlineAmount totalAmount
        patient { medicalCardNumber name }
        events { fromState toState reason at }
        outboxJob { kind state attempts lastError nextTryAt retryWindowEndsAt }
        refunds { outRefundNo hisRefundNo amount state }
      }
    }
  }
}
"""

RESOLVE = """
mutation ($no: String!, $outcome: ParkedOrderOutcome!, $version: Int!, $note: String!) {
  resolveParkedOrder(outTradeNo: $no, outcome: $outcome, note: $note, expectedVersion: $version) {
    __typename
    ... on ParkedOrderResolved {
      fromState
      order { state version stateReason refunds { outRefundNo amount state } outboxJob { kind state } }
      evidence { section answered hospitalHasPayment trades { tradeNo complete } }
    }
    ... on Refusal { code message }
  }
}
"""


@pytest.fixture
async def console(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with the payment worker off: each test runs the worker when it wants the next step."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=5.0,
        run_payment_worker=False,
    )
    async with running_gateway(settings, signed_in=False) as client:
        sign_in_operator(client, role="region")
        yield client


def services_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.services  # type: ignore[attr-defined]


async def paid_order(client: httpx.AsyncClient) -> str:
    """An outpatient bill of the example patient, paid at the sandbox provider: PAID, notify_his queued."""
    services = services_of(client)
    created = await services.payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=DEMO_CARD)
    recorded = await services.payments.record_payment(services.payment_provider.pay(created.order.out_trade_no))
    assert recorded.order.state is OrderState.PAID
    return str(created.order.out_trade_no)


async def park(client: httpx.AsyncClient, out_trade_no: str, reason: str = NONREFUNDABLE) -> None:
    """What the worker does when 13.1.1 answers nonrefundable: the order PARKED, its jobs done."""
    async with services_of(client).db.session() as session:
        orders, outbox = OrderRepository(session), OutboxRepository(session)
        order = await orders.get(out_trade_no, for_update=True)
        assert order is not None
        for job in await outbox.for_order(order.id):
            OutboxRepository.finish(job, at=order.updated_at)
        await orders.transition(order, OrderState.PARKED, reason=reason, at=order.updated_at)


async def hospital_applies(client: httpx.AsyncClient, out_trade_no: str) -> None:
    """The hospital gets the payment by another way (its own 3.1.2 applied): 14.2.2 lists it as complete."""
    services = services_of(client)
    async with services.db.session() as session:
        order = await OrderRepository(session).get(out_trade_no)
    assert order is not None
    await FLOWS[order.flow].notify(services.his, order, deadline=None)


async def run_worker(client: httpx.AsyncClient) -> None:
    services = services_of(client)
    await OutboxWorker(db=services.db, his=services.his, provider=services.payment_provider).run_until_idle()


async def listed(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await run_graphql(client, ORDERS, **{"first": 20, **variables})
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["operator"]["orders"]
    return page


async def resolve(client: httpx.AsyncClient, no: str, outcome: str, version: int) -> dict[str, Any]:
    body = await run_graphql(client, RESOLVE, no=no, outcome=outcome, version=version, note="checked with the HIS")
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["resolveParkedOrder"]
    return result


async def test_orders_list_the_ledger_with_reason_events_job_and_masked_patient(
    console: httpx.AsyncClient,
) -> None:
    """issue 15 item 1: orders(state, hospitalId, first, after) with totalCount and a cursor, newest first; a
    parked order's stateReason (13.1.1 'nonrefundable') and events; an in-flight order's outbox job with its
    retry window; the patient masked; the read audited per patient; operators read one order without paymentOrder."""
    parked = await paid_order(console)
    await park(console, parked)
    in_flight = await paid_order(console)

    page = await listed(console)
    assert page["totalCount"] == 2
    assert [o["outTradeNo"] for o in page["orders"]] == [in_flight, parked]  # newest first
    flying, waiting = page["orders"]
    assert waiting["state"] == "PARKED"
    assert waiting["waitsForOperator"] is True
    assert waiting["stateReason"] == NONREFUNDABLE
    assert [(e["fromState"], e["toState"]) for e in waiting["events"]] == [
        (None, "CREATED"),
        ("CREATED", "PAID"),
        ("PAID", "PARKED"),
    ]
    assert waiting["patient"]["medicalCardNumber"] == "0010*******4587"
    assert DEMO_CARD not in str(page)
    job = flying["outboxJob"]
    assert job["kind"] == "NOTIFY_HIS"
    assert job["state"] == "PENDING"
    assert job["attempts"] == 0
    assert job["nextTryAt"]
    assert job["retryWindowEndsAt"] > job["nextTryAt"]
    assert flying["waitsForOperator"] is False

    only_parked = await listed(console, state="PARKED")
    assert [o["outTradeNo"] for o in only_parked["orders"]] == [parked]
    assert only_parked["totalCount"] == 1

    first = await listed(console, first=1)
    assert first["hasNextPage"] is True
    assert first["totalCount"] == 2
    second = await listed(console, first=1, after=first["endCursor"])
    assert [o["outTradeNo"] for o in second["orders"]] == [parked]
    assert second["hasNextPage"] is False
    assert second["endCursor"] is None

    one = await run_graphql(
        console, "query ($no: String!) { operator { order(outTradeNo: $no) { state } } }", no=parked
    )
    assert one["data"]["operator"]["order"] == {"state": "PARKED"}

    async with services_of(console).db.session() as session:
        reads = list(
            (await session.execute(select(AuditEntry).where(AuditEntry.action == "patient-data-read"))).scalars()
        )
    assert {r.target for r in reads} == {"card 0010*******4587"}
    assert {'{"view": "orders"}', '{"view": "order"}'} <= {r.detail for r in reads}


async def test_refund_of_a_parked_order_goes_through_the_outbox_once(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 2: REFUND when 14.2.2 says the hospital lacks the payment; the refund is the worker's
    provider_refund job, never made twice; the decision, evidence and note are audited; a stale version is refused."""
    no = await paid_order(console)
    await park(console, no)
    [order] = (await listed(console))["orders"]

    stale = await resolve(console, no, "REFUND", order["version"] - 1)
    assert stale["__typename"] == "Refusal"
    assert stale["code"] == "STALE_VERSION"

    done = await resolve(console, no, "REFUND", order["version"])
    assert done["__typename"] == "ParkedOrderResolved", done
    assert done["fromState"] == "PARKED"
    assert done["evidence"] == {"section": "14.2.2", "answered": True, "hospitalHasPayment": False, "trades": []}
    assert done["order"]["state"] == "REFUNDING"
    assert done["order"]["refunds"] == [
        {"outRefundNo": f"{no}-RF", "amount": order["onlineAmount"], "state": "PENDING"}
    ]
    assert done["order"]["outboxJob"] == {"kind": "PROVIDER_REFUND", "state": "PENDING"}
    assert len(calls(sim_admin, method=BY_TRADE)) == 1

    again = await resolve(console, no, "REFUND", done["order"]["version"])
    assert again["code"] == "NOT_ACTIONABLE"  # REFUNDING waits for no one: nothing is refunded twice

    await run_worker(console)
    [after] = (await listed(console))["orders"]
    assert after["state"] == "REFUNDED"
    assert [r["state"] for r in after["refunds"]] == ["SUCCEEDED"]
    assert len(services_of(console).payment_provider.refunds_of(no)) == 1

    async with services_of(console).db.session() as session:
        [row] = (
            await session.execute(select(AuditEntry).where(AuditEntry.action == "parked-order-resolved"))
        ).scalars()
    assert row.hospital_id == HOSPITAL
    assert row.target == f"order {no}"
    assert '"outcome": "REFUND"' in (row.detail or "")
    assert "checked with the HIS" in (row.detail or "")
    assert '"hospitalHasPayment": false' in (row.detail or "")


async def test_mark_notified_needs_the_hospital_to_have_the_payment(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 2: MARK_NOTIFIED is refused until 14.2.2 lists the payment; then REFUND and RETRY_NOTIFY are
    refused and a hospital operator of that hospital may mark it notified."""
    no = await paid_order(console)
    await park(console, no)
    [order] = (await listed(console))["orders"]

    lacking = await resolve(console, no, "MARK_NOTIFIED", order["version"])
    assert lacking["code"] == "HOSPITAL_LACKS_PAYMENT"  # 14.2.2 answered, without the payment

    await hospital_applies(console, no)
    has_it = await resolve(console, no, "REFUND", order["version"])
    assert has_it["code"] == "HOSPITAL_HAS_PAYMENT"  # 14.2.2 lists it as complete

    again = await resolve(console, no, "RETRY_NOTIFY", order["version"])
    assert again["code"] == "HOSPITAL_HAS_PAYMENT"  # never told twice

    sign_in_operator(console, role="hospital", hospital_id=HOSPITAL)
    done = await resolve(console, no, "MARK_NOTIFIED", order["version"])
    assert done["__typename"] == "ParkedOrderResolved", done
    assert done["order"]["state"] == "NOTIFIED"
    assert done["evidence"]["trades"] == [{"tradeNo": no, "complete": True}]


async def test_retry_notify_tells_the_hospital_again(console: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 15 item 2: RETRY_NOTIFY sends a parked order back to PAID with a fresh notify_his job; the worker
    tells the hospital and the order ends NOTIFIED."""
    no = await paid_order(console)
    await park(console, no)
    [order] = (await listed(console))["orders"]
    done = await resolve(console, no, "RETRY_NOTIFY", order["version"])
    assert done["order"]["state"] == "PAID"
    assert done["order"]["outboxJob"] == {"kind": "NOTIFY_HIS", "state": "PENDING"}
    await run_worker(console)
    [after] = (await listed(console))["orders"]
    assert after["state"] == "NOTIFIED"
    assert [(e["fromState"], e["toState"]) for e in after["events"]][-2:] == [("PARKED", "PAID"), ("PAID", "NOTIFIED")]


async def test_no_answer_from_14_2_2_is_no_evidence(console: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 15 item 2: the hospital's 14.2.2 failing is evidence of nothing: neither outcome is carried out."""
    no = await paid_order(console)
    await park(console, no)
    [order] = (await listed(console))["orders"]
    inject(sim_admin, hospitalId=HOSPITAL, method=BY_TRADE, kind="http500")
    for outcome in ("REFUND", "MARK_NOTIFIED"):
        refused = await resolve(console, no, outcome, order["version"])
        assert refused["code"] == "NO_EVIDENCE"  # 14.2.2 gave no usable answer
    [still] = (await listed(console))["orders"]
    assert still["state"] == "PARKED"
    assert still["version"] == order["version"]


SUMMARY = """
query ($groupBy: [LedgerGroupBy!]) {
  operator {
    ledgerSummary(from: "2000-01-01 00:00:00", to: "2100-01-01 00:00:00", groupBy: $groupBy) {
      groups {
        hospitalId state day orderCount paidCount paidAmount refundedCount refundedAmount inFlightCount parkedCount
      }
      total { orderCount paidCount paidAmount refundedCount refundedAmount inFlightCount parkedCount }
    }
  }
}
"""


async def test_ledger_summary_reads_the_ledger_alone(console: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 15 item 3: paid and refunded counts and amounts (two places), in-flight and parked counts, per group
    and in total, while the hospital and the payment provider are both down."""
    refunded = await paid_order(console)
    await park(console, refunded)
    [order] = (await listed(console))["orders"]
    assert (await resolve(console, refunded, "REFUND", order["version"]))["order"]["state"] == "REFUNDING"
    await run_worker(console)
    parked = await paid_order(console)
    await park(console, parked)
    await paid_order(console)  # in flight
    amount = order["onlineAmount"]

    inject(sim_admin, hospitalId="*", method="*", kind="http500")
    services_of(console).payment_provider.unavailable = True
    sim_admin.delete("/admin/calls")
    body = await run_graphql(console, SUMMARY, groupBy=["HOSPITAL", "STATE"])
    assert "errors" not in body, body
    summary = body["data"]["operator"]["ledgerSummary"]
    total = summary["total"]
    assert total["orderCount"] == 3
    assert total["paidCount"] == 3
    assert total["refundedCount"] == 1
    assert total["refundedAmount"] == amount
    assert total["inFlightCount"] == 1
    assert total["parkedCount"] == 1
    assert total["paidAmount"].count(".") == 1
    assert len(total["paidAmount"].split(".")[1]) == 2
    states = {g["state"]: g for g in summary["groups"]}
    assert set(states) == {"PAID", "PARKED", "REFUNDED"}
    assert all(g["hospitalId"] == HOSPITAL and g["day"] is None for g in summary["groups"])
    assert states["REFUNDED"]["refundedAmount"] == amount
    assert states["PARKED"]["parkedCount"] == 1
    assert calls(sim_admin) == []  # no hospital was asked


HEALTH = """
{ operator { hospitalHealth {
    hospitalId name circuit circuitSince degraded degradedBecause inFlight bulkheadLimit workers
    lastError { code method at }
    windows { minutes calls notSent errors errorRate p50Ms p95Ms }
    referenceDataLoadedAt referenceDataAgeSeconds
} } }
"""

STATISTICS = """
query ($hospitals: String!) {
  operator { transactionStatistics(hospitalId: $hospitals, from: "2019-04-01 00:00:00",
                                   to: "2019-04-03 00:00:00") { hospitalId } }
}
"""


async def test_hospital_health_from_the_breakers_and_the_call_ring(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 5: a failing hospital shows its open circuit and since when, its error rate, last error and
    latency over 5 and 15 minutes; a healthy one shows closed; nothing calls a hospital; /readyz stays 200 and
    names the degraded hospital."""
    inject(sim_admin, hospitalId="255", method="*", kind="http500")
    for _ in range(6):
        await run_graphql(console, STATISTICS, hospitals="253,255")
    sim_admin.delete("/admin/calls")

    body = await run_graphql(console, HEALTH)
    assert "errors" not in body, body
    health = {h["hospitalId"]: h for h in body["data"]["operator"]["hospitalHealth"]}
    assert set(health) == {"253", "254", "255", "256", "257"}
    failing, fine = health["255"], health["253"]
    assert failing["circuit"] == "OPEN"
    assert failing["circuitSince"]
    assert failing["degraded"] is True
    assert "circuit open" in failing["degradedBecause"]
    assert failing["lastError"]["code"] == "HTTP_500"
    assert failing["lastError"]["method"] == "hospital.interface.dataStatistics"
    five, fifteen = failing["windows"]
    assert (five["minutes"], fifteen["minutes"]) == (5, 15)
    assert five["calls"] == 5
    assert five["errors"] == 5
    assert five["notSent"] == 1  # the sixth: refused by the open circuit
    assert five["errorRate"] == 1.0
    assert fine["circuit"] == "CLOSED"
    assert fine["degraded"] is False
    assert fine["lastError"] is None
    assert fine["windows"][0]["calls"] == 6
    assert fine["windows"][0]["errorRate"] == 0.0
    assert fine["windows"][0]["p50Ms"] is not None
    assert fine["windows"][0]["p95Ms"] >= fine["windows"][0]["p50Ms"]
    assert fine["bulkheadLimit"] >= 1
    assert fine["inFlight"] == 0
    assert fine["workers"] == 1
    assert health["254"]["windows"][0]["calls"] == 0
    assert calls(sim_admin) == []  # served without calling any hospital

    ready = await console.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert [d["hospitalId"] for d in ready.json()["degradedHospitals"]] == ["255"]
    assert calls(sim_admin) == []


async def test_hospital_health_sees_a_slow_hospital(console: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 15 item 5: a hospital answering slowly (half its timeout or more) is degraded by its p95 latency."""
    inject(sim_admin, hospitalId="254", method="*", kind="latency", latencyMs=1200)
    await asyncio.gather(*(run_graphql(console, STATISTICS, hospitals="254") for _ in range(3)))
    body = await run_graphql(console, HEALTH)
    slow = next(h for h in body["data"]["operator"]["hospitalHealth"] if h["hospitalId"] == "254")
    assert slow["circuit"] == "CLOSED"
    assert slow["windows"][0]["p95Ms"] >= 1000
    assert slow["degraded"] is True
    assert any("p95" in why for why in slow["degradedBecause"])


async def test_an_in_flight_order_past_its_retry_window_waits_for_an_operator(console: httpx.AsyncClient) -> None:
    """issue 15 item 2: a PAID order is not an operator's while its job still retries; once the job's retry window
    has ended it is (waitsForOperator), and a refund ends the job and goes through provider_refund."""
    no = await paid_order(console)
    [order] = (await listed(console))["orders"]
    early = await resolve(console, no, "REFUND", order["version"])
    assert early["code"] == "NOT_ACTIONABLE"

    async with services_of(console).db.session() as session:
        stored = await OrderRepository(session).get(no)
        assert stored is not None
        [job] = await OutboxRepository(session).for_order(stored.id)
        job.started_at -= FLOWS[stored.flow].policy.notify_window  # the window ran out while the hospital was down
    [late] = (await listed(console))["orders"]
    assert late["state"] == "PAID"
    assert late["waitsForOperator"] is True
    done = await resolve(console, no, "REFUND", late["version"])
    assert done["fromState"] == "PAID"
    assert done["order"]["state"] == "REFUNDING"
    assert done["order"]["outboxJob"] == {"kind": "PROVIDER_REFUND", "state": "PENDING"}
    await run_worker(console)
    [after] = (await listed(console))["orders"]
    assert after["state"] == "REFUNDED"
    assert [j for j in after["events"] if j["toState"] == "NOTIFIED"] == []
