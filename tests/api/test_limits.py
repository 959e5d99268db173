"""Query bombs are refused before execution: depth, aliases, tokens, batches; production hides the schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from resolvers.limits import GraphQLLimits
from tests.conftest import calls, running_gateway

LIMITS = GraphQLLimits(max_depth=6, max_aliases=5, max_tokens=300, max_operations_per_batch=2)


@pytest.fixture
async def guarded(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        mode="production",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'limits.sqlite3'}",
        registry=region,
        graphql_limits=LIMITS,
        # What these tests use and production refuses unless allowed (Settings.production_refusals).
        allow_random_secrets=True,
        allow_sandbox_payments=True,
        allow_fake_sms=True,
        allow_loopback_public_url=True,
    )
    async with running_gateway(settings) as client:
        yield client


async def post(client: httpx.AsyncClient, query: str) -> dict[str, object]:
    response = await client.post("/graphql", json={"query": query})
    body: dict[str, object] = response.json()
    return body


def codes(body: dict[str, object]) -> list[str]:
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [str(e.get("extensions", {}).get("code")) for e in errors]


async def test_a_deep_query_is_refused(guarded: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    shallow = (
        '{ patient(medicalCardNumber: "001000056254587") { pendingPayments(hospitalId: "253") { hospital { id } } } }'
    )
    assert "errors" not in await post(guarded, shallow)
    deep = "{ a { b { c { d { e { f { g } } } } } } }"
    assert "DEPTH_LIMIT" in codes(await post(guarded, deep))
    # Fragments do not hide depth.
    hidden = "{ ...q } fragment q on Query { a { ...t } } fragment t on A { b { c { d { e { f { g } } } } } }"
    assert "DEPTH_LIMIT" in codes(await post(guarded, hidden))
    sim_admin.delete("/admin/calls")
    # A real patient field beside the deep part: nothing runs, no hospital is asked.
    mixed = (
        '{ patient(medicalCardNumber: "001000056254587") { pendingPayments(hospitalId: "253") { items { id } } } '
        "a { b { c { d { e { f { g } } } } } } }"
    )
    assert "DEPTH_LIMIT" in codes(await post(guarded, mixed))
    # Introspection fields do not count toward depth (issue 12 item 1); production refuses them anyway.
    introspection = codes(
        await post(guarded, "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }")
    )
    assert "DEPTH_LIMIT" not in introspection
    assert calls(sim_admin) == []  # refused before any hospital was asked


async def test_an_alias_bomb_is_refused(guarded: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    query = (
        "{ "
        + " ".join(f'a{i}: patient(medicalCardNumber: "001000056254587") {{ medicalCardNumber }}' for i in range(6))
        + " }"
    )
    assert "ALIAS_LIMIT" in codes(await post(guarded, query))
    assert calls(sim_admin) == []


async def test_a_token_bomb_is_refused(guarded: httpx.AsyncClient) -> None:
    query = "{ hospitals { " + "id " * 400 + "} }"
    body = await post(guarded, query)
    assert body.get("data") is None
    assert "token" in str(body["errors"]).lower()


async def test_a_batch_over_the_limit_is_refused(guarded: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    single = {"query": "{ hospitals { id } }"}
    assert (await guarded.post("/graphql", json=[single, single])).status_code == 200
    refused = await guarded.post("/graphql", json=[single, single, single])
    assert refused.status_code == 400
    assert calls(sim_admin) == []


async def test_production_hides_the_schema(guarded: httpx.AsyncClient) -> None:
    body = await post(guarded, "{ __schema { queryType { name } } }")
    assert body.get("data") is None
    misspelt = await post(guarded, "{ hospitalz { id } }")
    assert "Did you mean" not in str(misspelt["errors"])
    assert (await guarded.get("/graphql", headers={"Accept": "text/html"})).status_code != 200


async def test_a_fan_out_over_too_many_hospitals_is_refused_before_any_call(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cost.sqlite3'}",
        registry=region,
        graphql_limits=GraphQLLimits(max_hospitals_per_request=6),
    )
    field = 'pendingPayments(hospitalId: "253,254,255,256") { hospitalId }'
    query = '{ patient(medicalCardNumber: "001000056254587") { a: ' + field + " b: " + field + " } }"
    async with running_gateway(settings) as client:
        body = await post(client, query)
    assert "FAN_OUT_LIMIT" in codes(body)
    # The second field was refused whole: at most the first field's four hospitals were asked.
    assert len(calls(sim_admin)) <= 4


class _BrokenTransport:
    """Stands for a bug of ours deep in a call: an exception that is no HisError."""

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> object:
        raise RuntimeError("internal detail: /srv/secret/path line 42")

    async def get(self, url: str, params: dict[str, str], *, timeout_s: float) -> object:
        raise RuntimeError("internal detail")

    async def aclose(self) -> None:
        return None


async def test_production_masks_our_own_errors_but_keeps_hospitals_refusals(
    guarded: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    from tests.conftest import inject

    his = guarded._transport.app.state.services.his  # type: ignore[attr-defined]
    his._transports["hospital:253"] = _BrokenTransport()
    inject(
        sim_admin,
        hospitalId="254",
        method="hospital.interface.queryWaitPay",
        kind="code",
        code="60101",
        msg="该卡不允许线上交费",
    )
    body = await post(
        guarded,
        '{ patient(medicalCardNumber: "001000056254587") '
        '{ pendingPayments(hospitalId: "253,254,255") { hospitalId } } }',
    )
    errors = body["errors"]
    assert isinstance(errors, list)
    by_path = {tuple(e["path"]): e for e in errors}
    broken = by_path[("patient", "pendingPayments", 0)]
    assert broken["message"] == "Unexpected error."
    assert "extensions" not in broken or "secret" not in str(broken)
    refused = by_path[("patient", "pendingPayments", 1)]
    assert refused["extensions"]["code"] == "60101"
    assert "该卡不允许线上交费" in refused["message"]
