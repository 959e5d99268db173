"""Attacks on the operators' console: scope, roles, races, bad input and shared health (issue 15 items 1, 2, 3, 5)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio
from sqlalchemy import select

from api.settings import Settings
from his_clients.registry import Registry
from store.audit import AuditEntry
from store.orders import OrderState, Refund
from tests.conftest import DEMO_CARD, calls, inject, run_graphql, running_gateway, sign_in_operator, sign_in_patient
from tests.graph.test_operator_console import (
    BY_TRADE,
    HEALTH,
    HOSPITAL,
    ORDERS,
    RESOLVE,
    STATISTICS,
    listed,
    paid_order,
    park,
    services_of,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def settings_for(region: Registry, path: Path, **more: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=5.0,
        run_payment_worker=False,
        **more,
    )


@pytest.fixture
async def console(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(settings_for(region, tmp_path), signed_in=False) as client:
        sign_in_operator(client, role="region")
        yield client


async def parked(console: httpx.AsyncClient) -> dict[str, Any]:
    no = await paid_order(console)
    await park(console, no)
    [order] = (await listed(console))["orders"]
    assert isinstance(order, dict)
    return order


async def test_a_hospital_operator_sees_only_their_hospital(console: httpx.AsyncClient) -> None:
    """issue 15 items 1, 3, 5: another hospital's operator sees none of 253's orders, money or health; naming
    253 is refused on that field alone (the rest of the dashboard answers)."""
    order = await parked(console)
    sign_in_operator(console, role="hospital", hospital_id="254")
    assert (await listed(console))["totalCount"] == 0
    body = await run_graphql(
        console,
        """query ($no: String!) { operator {
            orders(hospitalId: "253", first: 5) { totalCount }
            order(outTradeNo: $no) { state }
            ledgerSummary(hospitalId: "253") { total { orderCount } }
            mine: ledgerSummary { total { orderCount } }
            hospitalHealth { hospitalId }
        } }""",
        no=order["outTradeNo"],
    )
    view = body["data"]["operator"]
    assert view["orders"] is None
    assert view["ledgerSummary"] is None
    assert view["order"] is None
    assert view["mine"] == {"total": {"orderCount": 0}}
    assert view["hospitalHealth"] == [{"hospitalId": "254"}]
    assert sorted(e["path"][-1] for e in body["errors"]) == ["ledgerSummary", "orders"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"50001"}


async def test_roles_and_scope_of_resolve_parked_order(console: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 15 item 2: a hospital operator may not REFUND (region operators only), nor act on another hospital's
    order (it looks like no order at all); neither asks the hospital nor changes anything."""
    order = await parked(console)
    no, version = order["outTradeNo"], order["version"]
    sim_admin.delete("/admin/calls")

    sign_in_operator(console, role="hospital", hospital_id=HOSPITAL)
    own = await run_graphql(console, RESOLVE, no=no, outcome="REFUND", version=version, note="n")
    assert own["data"]["resolveParkedOrder"]["code"] == "REGION_ONLY"

    sign_in_operator(console, role="hospital", hospital_id="254")
    other = await run_graphql(console, RESOLVE, no=no, outcome="MARK_NOTIFIED", version=version, note="n")
    assert other["data"]["resolveParkedOrder"]["code"] == "NOT_FOUND"
    unknown = await run_graphql(console, RESOLVE, no="ZJZF-NOPE", outcome="RETRY_NOTIFY", version=1, note="n")
    assert unknown["data"]["resolveParkedOrder"]["code"] == "NOT_FOUND"

    assert calls(sim_admin, method=BY_TRADE) == []
    sign_in_operator(console, role="region")
    [still] = (await listed(console))["orders"]
    assert (still["state"], still["version"]) == ("PARKED", version)


async def test_a_patient_reaches_none_of_the_console(console: httpx.AsyncClient) -> None:
    """issue 15 items 1, 2: a patient's session reads no ledger and settles no order."""
    order = await parked(console)
    app = console._transport.app  # type: ignore[attr-defined]
    console.event_hooks["request"] = []
    console.headers["Authorization"] = f"Bearer {await sign_in_patient(app)}"
    read = await run_graphql(console, ORDERS, first=5)
    assert read["data"]["operator"] is None
    act = await run_graphql(
        console, RESOLVE, no=order["outTradeNo"], outcome="REFUND", version=order["version"], note="n"
    )
    assert act["data"] is None or act["data"]["resolveParkedOrder"] is None
    assert act["errors"][0]["extensions"]["code"] == "50001"


async def test_two_racing_refunds_refund_once(console: httpx.AsyncClient) -> None:
    """issue 15 item 2: two operators refunding the same parked order at once: one is carried out, the other is
    refused as stale; one refund row, one audit row."""
    order = await parked(console)
    results = await asyncio.gather(
        *(
            run_graphql(
                console, RESOLVE, no=order["outTradeNo"], outcome="REFUND", version=order["version"], note=str(i)
            )
            for i in range(2)
        )
    )
    outcomes = sorted(r["data"]["resolveParkedOrder"]["__typename"] for r in results)
    assert outcomes == ["ParkedOrderResolved", "Refusal"]
    refused = next(r for r in results if r["data"]["resolveParkedOrder"]["__typename"] == "Refusal")
    assert refused["data"]["resolveParkedOrder"]["code"] in {"STALE_VERSION", "NOT_ACTIONABLE"}
    async with services_of(console).db.session() as session:
        assert len(list((await session.execute(select(Refund))).scalars())) == 1
        audit = select(AuditEntry).where(AuditEntry.action == "parked-order-resolved")
        assert len(list((await session.execute(audit)).scalars())) == 1


@pytest.mark.parametrize(
    ("arguments", "field", "code"),
    [
        ("first: 0", "first", "20004"),
        ('first: 5, after: "x\'1"', "after", "20003"),
        ('first: 5, from: "2026-02-01 00:00:00", to: "2026-01-01 00:00:00"', "from", "20004"),
        ('first: 5, hospitalId: " "', "hospitalId", "20001"),
    ],
)
async def test_bad_arguments_are_refused_with_the_spec_codes(
    console: httpx.AsyncClient, arguments: str, field: str, code: str
) -> None:
    """issue 15 item 1: malformed paging, times, flows and hospital ids are refused with 附四 codes, never a 500."""
    body = await run_graphql(console, f"{{ operator {{ orders({arguments}) {{ totalCount }} }} }}")
    assert body["data"]["operator"]["orders"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["field"] == field


async def test_a_malformed_time_is_refused_before_any_resolver(console: httpx.AsyncClient) -> None:
    """from/to are DateTime and flow a PaidFor: a time that is no time, or a flow that is none, is a validation
    error of the operation, never a 500."""
    for arguments, kind in (('from: "2026-13-01 00:00:00"', "DateTime"), ("flow: NOTHING", "PaidFor")):
        body = await run_graphql(console, f"{{ operator {{ orders(first: 5, {arguments}) {{ totalCount }} }} }}")
        assert body["data"] is None
        [error] = body["errors"]
        assert kind in error["message"]


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    prefix = f"hisgraph-test-{uuid.uuid4().hex}"
    connection = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await connection.ping()
    except (OSError, redis.RedisError) as exc:
        await connection.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    try:
        yield prefix
    finally:
        keys = [key async for key in connection.scan_iter(f"{prefix}:*")]
        if keys:
            await connection.delete(*keys)
        await connection.aclose()


async def test_workers_share_hospital_health_through_redis(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client, redis_prefix: str
) -> None:
    """issue 15 item 5: with Redis configured, a worker that never called the failing hospital still reports its
    open circuit, merged from the worker that did; /readyz of either names it."""
    shared = {"cache_backend": "redis", "redis_url": REDIS_URL, "cache_prefix": redis_prefix}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        running_gateway(settings_for(region, tmp_path / "a", **shared), signed_in=False) as first,
        running_gateway(settings_for(region, tmp_path / "b", **shared), signed_in=False) as second,
    ):
        sign_in_operator(first, role="region")
        sign_in_operator(second, role="region")
        inject(sim_admin, hospitalId="255", method="*", kind="http500")
        for _ in range(5):
            await run_graphql(first, STATISTICS, hospitals="255")
        health: dict[str, Any] = {}
        for _ in range(100):  # the first worker publishes soon after the failures (a poll, not a timing claim)
            body = await run_graphql(second, HEALTH)
            health = {h["hospitalId"]: h for h in body["data"]["operator"]["hospitalHealth"]}
            if health["255"]["circuit"] == "OPEN":
                break
            await asyncio.sleep(0.1)
        assert health["255"]["circuit"] == "OPEN"
        assert health["255"]["workers"] == 2
        assert health["255"]["windows"][0]["errors"] == 5
        assert health["255"]["lastError"]["code"] == "HTTP_500"
        ready = (await second.get("/readyz")).json()
        assert [d["hospitalId"] for d in ready["degradedHospitals"]] == ["255"]


async def test_a_payment_of_another_amount_is_refunded_as_paid_and_never_notified(console: httpx.AsyncClient) -> None:
    """issue 15 item 2: the provider took another amount than the order's (parked on arrival): RETRY_NOTIFY would
    tell the hospital the wrong amount and is refused; REFUND returns what was actually taken, not the order's."""
    services = services_of(console)
    created = await services.payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=DEMO_CARD)
    paid = replace(services.payment_provider.pay(created.order.out_trade_no), amount=Decimal("0.01"))
    assert (await services.payments.record_payment(paid)).order.state is OrderState.PARKED
    [order] = (await listed(console))["orders"]
    assert order["onlineAmount"] != "0.01"
    retry = await run_graphql(
        console, RESOLVE, no=order["outTradeNo"], outcome="RETRY_NOTIFY", version=order["version"], note="n"
    )
    assert retry["data"]["resolveParkedOrder"]["code"] == "NOT_ACTIONABLE"
    refund = await run_graphql(
        console, RESOLVE, no=order["outTradeNo"], outcome="REFUND", version=order["version"], note="n"
    )
    result = refund["data"]["resolveParkedOrder"]
    assert result["__typename"] == "ParkedOrderResolved"
    assert [r["amount"] for r in result["order"]["refunds"]] == ["0.01"]
