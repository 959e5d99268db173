"""operator.reconciliationCheck and acknowledgeMismatch: the daily three-way check through the graph (issue 15 item 4).

Several hospitals (or all) at once, results stored per hospital and day, a hospital that could not be read shown as
NOT_CHECKED until rechecked, what waits from another day kept out of a day's result, and who looked at a mismatch.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select

from services.payments.clock import CHINA_TIME
from store.audit import AuditEntry
from store.orders import OrderRepository, OrderState
from store.outbox import OutboxRepository
from tests.conftest import DEMO_CARD, inject, run_graphql, sign_in_operator

CHECK = """
query ($hospitalId: String, $date: Date!, $recheck: Boolean) {
  operator {
    reconciliationCheck(hospitalId: $hospitalId, date: $date, recheck: $recheck) {
      date clean notChecked
      unattributed { id kind outTradeNo }
      hospitals {
        hospitalId hospital { id } date status clean checkedAt checkedBy checkedNow notCheckedReason hospitalError
        ledgerTotal providerTotal hospitalTotal
        mismatches { id kind outTradeNo ledgerState acknowledgement { by at note } }
        lines { outTradeNo ledgerState ledgerAmount providerAmount hospitalAmount inFlight }
        inFlight { outTradeNo }
        waiting { outTradeNo ledgerState inFlight }
      }
    }
  }
}
"""

ACKNOWLEDGE = """
mutation ($id: ID!, $note: String!) {
  acknowledgeMismatch(id: $id, note: $note) {
    __typename
    ... on MismatchAcknowledged { mismatch { id kind outTradeNo acknowledgement { by at note } } }
    ... on Refusal { code field }
  }
}
"""

DETAIL = "hospital.interface.reconciliation.detail"


def services_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.services  # type: ignore[attr-defined]


def beijing_today() -> datetime:
    return datetime.now(UTC).astimezone(CHINA_TIME)


async def check(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await run_graphql(client, CHECK, **{"hospitalId": None, "recheck": False, **variables})
    assert "errors" not in body, body
    day: dict[str, Any] = body["data"]["operator"]["reconciliationCheck"]
    return day


def by_hospital(day: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["hospitalId"]: entry for entry in day["hospitals"]}


async def paid_recharge(client: httpx.AsyncClient, hospital_id: str = "253") -> str:
    """A recharge paid at the sandbox and applied by the gateway's own worker: NOTIFIED."""
    services = services_of(client)
    created = await services.payments.create_recharge_order(
        hospital_id=hospital_id, medical_card_number=DEMO_CARD, amount=Decimal("12.30")
    )
    number = str(created.order.out_trade_no)
    await services.payments.record_payment(services.payment_provider.pay(number))
    for _ in range(200):
        order = await services.payments.get(number)
        if order is not None and order.state is OrderState.NOTIFIED:
            return number
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} was not applied")


async def parked_payment(client: httpx.AsyncClient) -> str:
    """A bill paid today and parked as the worker parks it when 13.1.1 answers nonrefundable."""
    services = services_of(client)
    created = await services.payments.create_outpatient_order(hospital_id="253", medical_card_number=DEMO_CARD)
    number = str(created.order.out_trade_no)
    async with services.db.session() as session:
        orders, outbox = OrderRepository(session), OutboxRepository(session)
        order = await orders.get(number, for_update=True)
        assert order is not None
        order.paid_at = datetime.now(UTC)
        order.transaction_id = "tx-parked"
        await orders.transition(order, OrderState.PARKED, reason="13.1.1 answered 'nonrefundable'", at=order.paid_at)
        for job in await outbox.for_order(order.id):
            OutboxRepository.finish(job, at=order.paid_at)
    return number


async def test_several_hospitals_are_checked_at_once_and_a_past_day_is_read_from_the_store(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 4: reconciliationCheck takes several hospitals, or none for all; a day's result is stored with
    who checked it and when, and a past day already checked is read back without asking any hospital."""
    number = await paid_recharge(gateway)
    today = beijing_today().date()
    sign_in_operator(gateway, role="region")

    day = by_hospital(await check(gateway, hospitalId="253,254", date=today.isoformat()))
    assert list(day) == ["253", "254"]
    assert all(h["status"] == "CLEAN" and h["clean"] and h["checkedNow"] for h in day.values())
    assert day["253"]["checkedBy"] == "test.region.all"
    assert day["253"]["hospital"] == {"id": "253"}
    assert day["253"]["ledgerTotal"] == day["253"]["providerTotal"] == "12.30"
    assert {
        "outTradeNo": number,
        "ledgerState": "NOTIFIED",
        "ledgerAmount": "12.30",
        "providerAmount": "12.30",
        "hospitalAmount": "12.30",
        "inFlight": False,
    } in day["253"]["lines"]
    assert day["253"]["checkedAt"].endswith("+08:00")

    yesterday = (today - timedelta(days=1)).isoformat()
    first = await check(gateway, date=yesterday)  # no hospitalId: every hospital of the region
    registry = [h.id for h in services_of(gateway).registry.hospitals]
    assert [h["hospitalId"] for h in first["hospitals"]] == registry
    assert first["clean"]
    assert first["notChecked"] == first["unattributed"] == []
    sim_admin.delete("/admin/calls")
    again = await check(gateway, date=yesterday)
    assert [h["checkedNow"] for h in again["hospitals"]] == [False] * len(registry)
    assert [h["checkedAt"] for h in again["hospitals"]] == [h["checkedAt"] for h in first["hospitals"]]
    assert sim_admin.get("/admin/calls", params={"method": DETAIL}).json() == []  # from the store

    async with services_of(gateway).db.session() as session:
        audited = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "reconciliation-checked")))
    assert len(audited) == 2 + len(registry)  # each check run, not each read


async def test_a_hospital_that_could_not_be_read_is_not_checked_until_rechecked(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 4: a hospital whose records could not be read is NOT_CHECKED with the reason, never clean or
    left out; it stays so when read again, and recheck: true checks it again."""
    sign_in_operator(gateway, role="region")
    yesterday = (beijing_today().date() - timedelta(days=1)).isoformat()
    inject(sim_admin, hospitalId="254", method=DETAIL, kind="code", code="10003", msg="数据库忙", times=1)

    day = await check(gateway, hospitalId="253,254", date=yesterday)
    entries = by_hospital(day)
    assert entries["254"]["status"] == "NOT_CHECKED"
    assert not entries["254"]["clean"]
    assert "10003" in entries["254"]["notCheckedReason"]
    assert entries["253"]["status"] == "CLEAN"
    assert day["notChecked"] == ["254"]
    assert not day["clean"]

    stored = by_hospital(await check(gateway, hospitalId="254", date=yesterday))
    assert (stored["254"]["status"], stored["254"]["checkedNow"]) == ("NOT_CHECKED", False)

    rechecked = by_hospital(await check(gateway, hospitalId="254", date=yesterday, recheck=True))
    assert (rechecked["254"]["status"], rechecked["254"]["checkedNow"]) == ("CLEAN", True)
    assert rechecked["254"]["notCheckedReason"] is None


async def test_a_quiet_day_stays_clean_while_todays_parked_order_waits_and_a_mismatch_is_acknowledged(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 4: checking a quiet day lists today's parked order as waiting, not as the day's mismatch
    (it used to call the hospital unclean); on its own day it is a PARKED mismatch, which an operator
    acknowledges (who, when, note; audited) and which keeps its id and acknowledgement when rechecked."""
    parked = await parked_payment(gateway)
    today = beijing_today().date()
    sign_in_operator(gateway, role="region")

    quiet = by_hospital(await check(gateway, hospitalId="253", date=(today - timedelta(days=1)).isoformat()))
    assert quiet["253"]["status"] == "CLEAN"
    assert quiet["253"]["mismatches"] == []
    assert quiet["253"]["waiting"] == [{"outTradeNo": parked, "ledgerState": "PARKED", "inFlight": False}]

    own_day = by_hospital(await check(gateway, hospitalId="253", date=today.isoformat()))
    assert own_day["253"]["status"] == "MISMATCHES"
    (mismatch,) = own_day["253"]["mismatches"]
    assert (mismatch["kind"], mismatch["outTradeNo"], mismatch["acknowledgement"]) == ("PARKED", parked, None)
    assert own_day["253"]["waiting"] == []

    body = await run_graphql(gateway, ACKNOWLEDGE, id=mismatch["id"], note="  ")
    assert body["data"]["acknowledgeMismatch"] == {
        "__typename": "Refusal",
        "code": "MISSING_PARAMETER",
        "field": "note",
    }
    body = await run_graphql(gateway, ACKNOWLEDGE, id=mismatch["id"], note="asked the hospital: resolving it")
    acknowledged = body["data"]["acknowledgeMismatch"]
    assert acknowledged["__typename"] == "MismatchAcknowledged"
    assert acknowledged["mismatch"]["acknowledgement"]["by"] == "test.region.all"
    assert acknowledged["mismatch"]["acknowledgement"]["note"] == "asked the hospital: resolving it"
    assert acknowledged["mismatch"]["acknowledgement"]["at"].endswith("+08:00")
    async with services_of(gateway).db.session() as session:
        (row,) = await session.scalars(select(AuditEntry).where(AuditEntry.action == "mismatch-acknowledged"))
    assert (row.username, row.hospital_id, row.target) == (
        "test.region.all",
        "253",
        f"mismatch {mismatch['id']} {parked}",
    )

    again = by_hospital(await check(gateway, hospitalId="253", date=today.isoformat(), recheck=True))
    (kept,) = again["253"]["mismatches"]
    assert kept["id"] == mismatch["id"]
    assert kept["acknowledgement"]["note"] == "asked the hospital: resolving it"

    # A hospital operator of another hospital cannot see or acknowledge it.
    sign_in_operator(gateway, role="hospital", hospital_id="254")
    body = await run_graphql(gateway, ACKNOWLEDGE, id=mismatch["id"], note="not mine")
    assert body["data"]["acknowledgeMismatch"] == {"__typename": "Refusal", "code": "NOT_FOUND", "field": "id"}
    body = await run_graphql(gateway, ACKNOWLEDGE, id="not-a-number", note="x")
    assert body["data"]["acknowledgeMismatch"]["code"] == "NOT_FOUND"


async def test_a_hospital_operator_checks_only_their_hospital_and_bad_arguments_are_refused(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 4 and 13: a hospital operator's check without hospitalId is their own hospital, with no
    unattributed provider lines; another hospital nulls that field alone; an empty hospitalId and a day after
    today are refused."""
    today = beijing_today().date()
    sign_in_operator(gateway, role="hospital", hospital_id="254")
    own = await check(gateway, date=today.isoformat())
    assert [h["hospitalId"] for h in own["hospitals"]] == ["254"]
    assert own["unattributed"] is None
    assert own["hospitals"][0]["checkedBy"] == "test.hospital.254"

    body = await run_graphql(gateway, CHECK, hospitalId="253", date=today.isoformat(), recheck=False)
    assert body["data"] == {"operator": {"reconciliationCheck": None}}
    assert body["errors"]

    sign_in_operator(gateway, role="region")
    body = await run_graphql(gateway, CHECK, hospitalId=" , ", date=today.isoformat(), recheck=False)
    assert body["errors"][0]["extensions"]["code"] == "20001"
    tomorrow = (today + timedelta(days=1)).isoformat()
    body = await run_graphql(gateway, CHECK, hospitalId="253", date=tomorrow, recheck=False)
    assert body["errors"][0]["extensions"]["code"] == "20004"
    body = await run_graphql(gateway, CHECK, hospitalId="253", date="2025-13-01", recheck=False)
    assert body["errors"]
