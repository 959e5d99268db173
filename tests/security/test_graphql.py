"""Attacks on the GraphQL endpoint: document bombs, multiplied costly mutations, unbounded hospital
calls, malformed HTTP, suggestions in production, and a failing sibling cancelling a shared call.

Each test names the issue item it proves. Everything goes through the real ASGI app, real HTTP to
the simulated hospitals and a real database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    parse,
)

from api.settings import Settings
from his_clients.budget import HisCallBudgetExceeded, call_budget
from his_clients.client import HisClient
from his_clients.registry import Registry
from resolvers.limits import COSTLY_MUTATIONS, GraphQLLimits, _Shape, _ShapeVisitor, document_shape
from resolvers.schema import schema as default_schema
from tests.conftest import DEMO_CARD, DEMO_ID_NUMBER, calls, inject, running_gateway


def production(region: Registry, tmp_path: Path, **given: Any) -> Settings:
    """Production mode with every start-up risk allowed explicitly (those have tests of their own)."""
    return Settings(
        mode="production",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'production.sqlite3'}",
        registry=region,
        session_secret="s" * 40,
        file_link_secret="f" * 40,
        allow_sandbox_payments=True,
        allow_fake_sms=True,
        allow_loopback_public_url=True,
        **given,
    )


def codes(body: dict[str, Any]) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


# -- issue 10 item 8 and issue 12 item 1: validation is linear; introspection does not count ---------


def fragment_bomb(levels: int, tail: str) -> str:
    """Each fragment spreads the next twice: 2**levels paths to the tail, in about 30 bytes a level."""
    parts = ["{ ...f0 }"]
    parts += [f"fragment f{i} on Query {{ ...f{i + 1} ...f{i + 1} }}" for i in range(levels)]
    parts.append(f"fragment f{levels} on Query {{ {tail} }}")
    return " ".join(parts)


async def test_a_nested_fragment_bomb_is_refused_and_the_gateway_still_answers(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 10 item 8: a 1 KB document of nested fragment spreads is refused, not walked 2**24 times."""
    aliases = fragment_bomb(24, "a: hospitals { id }")
    assert len(aliases.encode()) <= 1024
    response = await gateway.post("/graphql", json={"query": aliases})
    assert response.status_code == 200
    assert "ALIAS_LIMIT" in codes(response.json())
    deep = fragment_bomb(24, "a { b { c { d { e { f { g { h { i { j { k { l { m { n } } } } } } } } } } } } }")
    response = await gateway.post("/graphql", json={"query": deep})
    assert "DEPTH_LIMIT" in codes(response.json())
    assert calls(sim_admin) == []  # refused before any hospital was asked
    assert (await gateway.get("/healthz")).status_code == 200


async def test_a_wide_document_is_refused_by_our_limits_first(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 8: thousands of repeated fields (graphql-core's overlapping-fields check is quadratic in
    them) are refused by the linear field limit alone, before graphql-core's rules run."""
    wide = "{ hospitals { " + "id " * 2400 + "} }"
    body = (await gateway.post("/graphql", json={"query": wide})).json()
    assert codes(body) == ["FIELD_LIMIT"]
    assert (await gateway.get("/healthz")).status_code == 200


def test_each_fragment_is_resolved_once() -> None:
    """issue 10 item 8: the depth and alias totals visit each fragment definition once, however often spread."""
    visitor = _ShapeVisitor()
    from graphql import visit

    visit(parse(fragment_bomb(200, "a: hospitals { id }"), max_tokens=100_000), visitor)
    shape = _Shape(visitor.fragments, alias_cap=31)
    [(_, definition)] = visitor.operations
    depth, aliases, fields = shape.of(definition)
    assert (depth, aliases) == (2, 31)
    assert fields > 500  # 2**200 paths to the tail, counted without walking them
    assert shape.visits == 201  # one per fragment, not 2**200
    # A chain thousands long does not exhaust the interpreter's stack either.
    long_chain = " ".join(
        ["{ ...c0 }"]
        + [f"fragment c{i} on Query {{ ...c{i + 1} }}" for i in range(3000)]
        + ["fragment c3000 on Query { x }"]
    )
    [(_, depth, _, _)] = document_shape(parse(long_chain, max_tokens=100_000), GraphQLLimits())
    assert depth == 1


async def test_introspection_fields_do_not_count_toward_depth(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 1: graphql-core's full introspection query (depth 15 counted naively) passes in dev."""
    from graphql import get_introspection_query

    for query in (get_introspection_query(), get_introspection_query(descriptions=True, input_value_deprecation=True)):
        response = await gateway.post("/graphql", json={"query": query})
        body = response.json()
        assert "errors" not in body, body.get("errors")
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    # Introspection is still bounded: graphql-core's MaxIntrospectionDepthRule refuses the cycle bomb.
    bomb = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"
    body = (await gateway.post("/graphql", json={"query": bomb})).json()
    assert body.get("data") is None
    assert "introspection depth" in str(body["errors"])


async def test_the_gql_client_loads_the_schema(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 1: the standard gql client fetches the schema with its default introspection."""
    gql = pytest.importorskip("gql")
    from gql.transport.httpx import HTTPXAsyncTransport

    app = gateway._transport.app  # type: ignore[attr-defined]
    transport = HTTPXAsyncTransport(url="http://gateway/graphql", transport=httpx.ASGITransport(app=app))
    async with gql.Client(transport=transport, fetch_schema_from_transport=True) as session:
        result = await session.execute(gql.gql("{ hospitals { id } }"))
    assert result["hospitals"][0]["id"] == "253"
    assert session.client.schema is not None
    assert session.client.schema.query_type is not None


# -- issue 10 item 2 (GraphQL part): a costly mutation field at most once per document and per batch -----


def test_the_costly_list_is_the_schemas() -> None:
    """issue 10 item 2: every name in the one list is a Mutation field, unique to Mutation, and every
    mutation that signs in, sends a code, proves a card or moves money is in the list."""
    graphql_schema = default_schema._schema
    mutation = graphql_schema.mutation_type
    assert mutation is not None
    assert set(COSTLY_MUTATIONS) <= set(mutation.fields)
    elsewhere = {
        name
        for type_name, type_ in graphql_schema.type_map.items()
        if isinstance(type_, (GraphQLObjectType, GraphQLInterfaceType)) and type_ is not mutation
        for name in type_.fields
    }
    assert not COSTLY_MUTATIONS & elsewhere
    money_or_identity = {
        name
        for name in mutation.fields
        if any(word in name for word in ("Payment", "Refund", "Login", "login", "CardBinding", "HealthCard", "Pay"))
        and not name.startswith("cancelPayment")
    }
    assert money_or_identity <= COSTLY_MUTATIONS


async def test_aliased_card_binding_sends_no_code(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 10 item 2: 30 aliases of startCardBinding, in one operation, in two operations or across a
    batch of 5, send no SMS and call no hospital: the document (or batch) is refused whole."""
    app = gateway._transport.app  # type: ignore[attr-defined]
    sms = app.state.sms
    field = f'startCardBinding(hospitalId: "253", medicalCardNumber: "{DEMO_CARD}", name: "张三") {{ __typename }}'
    aliased = "mutation { " + " ".join(f"a{i}: {field}" for i in range(30)) + " }"
    two_operations = f"mutation A {{ {field} }} mutation B {{ {field} }}"
    in_fragment = f"mutation {{ ...m a: {field} }} fragment m on Mutation {{ {field} }}"
    sent_before = len(sms.sent)
    for request in ({"query": aliased}, {"query": two_operations, "operationName": "A"}, {"query": in_fragment}):
        body = (await gateway.post("/graphql", json=request)).json()
        assert "COSTLY_FIELD_REPEATED" in codes(body), body
    batch = [{"query": f"mutation {{ {field} }}"}] * 5
    response = await gateway.post("/graphql", json=batch)
    assert response.status_code == 400
    assert codes(response.json()) == ["COSTLY_FIELD_REPEATED"]
    # Operator logins are not multiplied either (each one a password check).
    login = 'logInOperator(username: "admin", password: "x") { __typename }'
    body = (await gateway.post("/graphql", json={"query": f"mutation {{ a: {login} b: {login} }}"})).json()
    assert "COSTLY_FIELD_REPEATED" in codes(body)
    assert len(sms.sent) == sent_before
    assert calls(sim_admin) == []


# -- issue 10 item 3: the budget of hospital calls is charged at every HIS call ---------------------------


async def test_hospital_calls_per_request_are_bounded_across_a_batch(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> None:
    """issue 10 item 3: an anonymous query over every hospital with aliased fields makes at most the
    budget's calls, and a batch shares one budget; the calls over it are errors on their own fields."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'budget.sqlite3'}",
        registry=region,
        graphql_limits=GraphQLLimits(max_his_calls_anonymous=7),
    )
    aliases = " ".join(f'd{i}: todaySchedules(departmentId: "D{i}") {{ __typename }}' for i in range(4))
    query = "{ hospitals { id " + aliases + " } }"
    async with running_gateway(settings, signed_in=False) as client:
        body = (await client.post("/graphql", json={"query": query})).json()
        assert len(calls(sim_admin)) <= 7
        refused = [e for e in body["errors"] if (e.get("extensions") or {}).get("code") == "HIS_CALL_BUDGET"]
        assert refused, body["errors"][:3]
        assert all(e["path"][0] == "hospitals" for e in refused)
        assert [h["id"] for h in body["data"]["hospitals"]] == ["253", "254", "255", "256", "257"]
        sim_admin.delete("/admin/calls")
        other = " ".join(f'e{i}: todaySchedules(departmentId: "E{i}") {{ __typename }}' for i in range(4))
        batch = [{"query": "{ hospitals { id " + other.replace("E", f"B{n}") + " } }"} for n in range(3)]
        response = await client.post("/graphql", json=batch)
        assert response.status_code == 200
        assert len(calls(sim_admin)) <= 7  # the batch shares one budget, not 7 per operation


async def test_calls_outside_a_request_have_no_budget(region: Registry, sim_admin: httpx.Client) -> None:
    """issue 10 item 3: jobs and shims (no budget opened) are unaffected; inside a budget, the call over it
    is refused before it is sent."""
    from his_clients.models.triage import GET_FEVER_CLINIC_WAITING_LIST, GetFeverClinicWaitingListRequest

    method = GET_FEVER_CLINIC_WAITING_LIST

    async with HisClient(region) as his:
        request = GetFeverClinicWaitingListRequest()
        for _ in range(3):
            await his.call(method, "253", request, deadline=None)  # no budget: no limit
        sim_admin.delete("/admin/calls")
        with call_budget(1):
            await his.call(method, "254", request, deadline=None)
            with pytest.raises(HisCallBudgetExceeded):
                await his.call(method, "255", request, deadline=None)
        assert len(calls(sim_admin)) == 1


# -- issue 10 item 9 and issue 12 item 6: /graphql never answers 500 ----------------------------------


MALFORMED = [
    b"[1]",
    b'"str"',
    b"null",
    b"42",
    b"\xff\xfe{}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"query": {"a": 1}}',
    b'{"query": 5}',
    b'{"query": ""}',
    b"{}",
    b'{"query": "{ hospitals { id } }", "variables": "x"}',
    b'{"query": "{ hospitals { id } }", "variables": [1]}',
    b'{"query": "{ hospitals { id } }", "operationName": 7}',
    b'{"query": "{ hospitals { id } }", "extensions": "x"}',
    b"[]",
    b'[{"query": "{ hospitals { id } }"}, 1]',
    b"{not json",
    b'{"query": "{ hospitals { id } }", "operationName": "Missing"}',
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
async def test_malformed_bodies_get_a_graphql_error_not_a_500(gateway: httpx.AsyncClient, body: bytes) -> None:
    """issue 10 item 9: malformed JSON bodies and wrong types are a 4xx JSON GraphQL error with a code."""
    response = await gateway.post("/graphql", content=body, headers={"Content-Type": "Application/JSON"})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    errors = response.json()["errors"]
    assert errors
    assert all(e["message"] and e["extensions"]["code"] for e in errors)


async def test_other_methods_and_oversized_batches_get_graphql_errors(region: Registry, tmp_path: Path) -> None:
    """issue 10 item 9 and issue 12 item 6: GET, HEAD and other methods answer 405 with Allow (HEAD not
    advertised), a batch over the limit answers a JSON GraphQL error; in production too."""
    async with running_gateway(production(region, tmp_path), signed_in=False) as client:
        for method in ("GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"):
            response = await client.request(method, "/graphql", headers={"Accept": "text/html"})
            assert response.status_code == 405, method
            assert response.headers["allow"] == "POST"
            if method != "HEAD":
                assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
        single = {"query": "{ hospitals { id } }"}
        response = await client.post("/graphql", json=[single] * 6)
        assert response.status_code == 400
        assert codes(response.json()) == ["BATCH_LIMIT"]


# -- issue 10 item 14: production suggests nothing ----------------------------------------------------------


async def test_production_suggests_nothing(region: Registry, tmp_path: Path) -> None:
    """issue 10 item 14: no "Did you mean" for fields, arguments, types, enum values or input fields in
    production, in validation or in variable coercion; dev keeps them (they help developers)."""
    misspelt = [
        {"query": "{ hospitalz { id } }"},
        {"query": '{ hospitals(hospitalID: "253") { id } }'},
        {"query": "{ ...f } fragment f on Hospitl { id }"},
        {"query": "query ($x: Strin) { hospitals(hospitalId: $x) { id } }"},
        {
            "query": '{ hospital(hospitalId: "253") { appointmentSession(departmentId: "1", doctorId: "1", '
            'date: "2030-01-01", halfDay: MORNIN) { __typename } } }'
        },
        {
            "query": 'query ($h: HalfDay!) { hospital(hospitalId: "253") { appointmentSession(departmentId: "1", '
            'doctorId: "1", date: "2030-01-01", halfDay: $h) { __typename } } }',
            "variables": {"h": "MORNIN"},
        },
        {"query": "{ hospitals { id { name } } }"},
    ]
    async with running_gateway(production(region, tmp_path), signed_in=False) as client:
        for request in misspelt:
            body = (await client.post("/graphql", json=request)).json()
            assert body["errors"], request
            assert "did you mean" not in str(body).lower(), body
    dev = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'dev.sqlite3'}", registry=region)
    async with running_gateway(dev, signed_in=False) as client:
        body = (await client.post("/graphql", json=misspelt[0])).json()
        assert "Did you mean" in str(body)


# -- issue 12 item 5: a failing sibling never cancels a shared call; a crawl with faults gets no 500 -----------


async def test_a_failing_sibling_does_not_cancel_a_shared_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 5: the stay's non-null deposits fail, so graphql-core cancels the stay's other
    fields, among them its hospital's fever clinics, a call shared with a root field still waiting for
    it: that root field gets its answer, and the request no CancelledError nor HTTP 500."""
    inject(
        sim_admin,
        hospitalId="253",
        method="hospital.interface.getFeverClinicWaitingList",
        kind="latency",
        latencyMs=200,
    )
    inject(
        sim_admin, hospitalId="253", method="hospital.interface.getDepositRecord", kind="code", code="60101", msg="x"
    )
    stays = 'inpatientStays(hospitalId: "253", patientName: "张三")'
    query = (
        f'{{ patient(medicalCardNumber: "{DEMO_CARD}") {{ {stays} {{ stay {{ deposits {{ __typename }} '
        "hospital { feverClinics { __typename } } } } } "
        'hospital(hospitalId: "253") { feverClinics { __typename } } }'
    )
    response = await gateway.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert "CancelledError" not in response.text
    [stay] = body["data"]["patient"]["inpatientStays"]
    assert stay["stay"] is None  # its deposits failed
    assert body["data"]["hospital"]["feverClinics"] is not None  # the shared call was not cancelled


SAMPLE_STRINGS = {
    "hospitalId": ["253", "254", "253,254", "253,255,257"],
    "id": ["253", "1"],
    "medicalCardNumber": [DEMO_CARD],
    "patientName": ["张三"],
    "idCard": [DEMO_ID_NUMBER],
    "idCardNumber": [DEMO_ID_NUMBER],
}


def _value(name: str, type_: Any, rng: random.Random) -> str | None:
    named = get_named_type(type_)
    if name in SAMPLE_STRINGS:
        return '"' + rng.choice(SAMPLE_STRINGS[name]) + '"'
    if isinstance(named, GraphQLEnumType):
        return str(rng.choice(list(named.values)))
    if isinstance(named, GraphQLInputObjectType):
        return None  # inputs are for mutations; the crawl asks queries
    if isinstance(named, GraphQLScalarType):
        if named.name == "Int":
            return str(rng.choice([1, 2, 20]))
        if named.name == "Boolean":
            return rng.choice(["true", "false"])
        if named.name == "Float":
            return "1.5"
        lowered = name.lower()
        today = dt.date(2026, 1, 15) + dt.timedelta(days=rng.randint(-30, 30))
        if "date" in lowered or "day" in lowered or "time" in lowered:
            return f'"{today.isoformat()}"'
        return '"' + rng.choice(["1", "253", "x", "001", ""]) + '"'
    return None


def _selection(type_: Any, rng: random.Random, depth: int) -> str | None:
    named = get_named_type(type_)
    if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        return ""
    if depth <= 0:
        return "{ __typename }"
    if isinstance(named, (GraphQLUnionType, GraphQLInterfaceType)):
        possible = default_schema._schema.get_possible_types(named)
        chosen = rng.sample(list(possible), k=min(2, len(possible)))
        inner = " ".join(f"... on {t.name} {_selection(t, rng, depth) or '{ __typename }'}" for t in chosen)
        return "{ __typename " + inner + " }"
    assert isinstance(named, GraphQLObjectType)
    names = list(named.fields)
    picked = rng.sample(names, k=min(len(names), rng.randint(2, 5)))
    parts = ["__typename"]
    for field_name in picked:
        field = _field(field_name, named.fields[field_name], rng, depth - 1)
        if field is not None:
            parts.append(field)
    return "{ " + " ".join(parts) + " }"


def _field(name: str, field: GraphQLField, rng: random.Random, depth: int) -> str | None:
    arguments = []
    for arg_name, arg in field.args.items():
        required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
        if not required and rng.random() < 0.7:
            continue
        value = _value(arg_name, arg.type, rng)
        if value is None:
            if required:
                return None
            continue
        if isinstance(get_named_type(arg.type), GraphQLScalarType) and isinstance(
            arg.type.of_type if isinstance(arg.type, GraphQLNonNull) else arg.type, GraphQLList
        ):
            value = f"[{value}]"
        arguments.append(f"{arg_name}: {value}")
    selection = _selection(field.type, rng, depth)
    if selection is None:
        return None
    return name + (f"({', '.join(arguments)})" if arguments else "") + (f" {selection}" if selection else "")


@pytest.fixture
async def crawl_gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'crawl.sqlite3'}", registry=region, request_deadline_s=0.8
    )
    async with running_gateway(settings) as client:
        yield client


CRAWL_SEED_IN_CI = 101


async def test_a_randomized_crawl_with_faults_gets_no_500(
    crawl_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 5 and issue 10 item 9: random queries over the schema's query fields (the demo
    card's patient, hospitals, the account, payments), each against hospitals with injected faults,
    never answer 500 nor leak a CancelledError. A bounded number of queries; the seed is printed."""
    # CI crawls a fixed seed, so a red build is reproducible (as Hypothesis's `ci` profile does); elsewhere a new one.
    # Known open fault: seeds 110 and 117 end with graphql-core's "complete_awaitable_list_item_value was never
    # awaited" RuntimeWarning (no 500, no wrong answer) when a field fails beside pending per-hospital lists.
    fixed = CRAWL_SEED_IN_CI if os.environ.get("CI") else None
    seed = int(os.environ.get("HISGRAPH_CRAWL_SEED") or fixed or random.SystemRandom().randrange(1 << 30))
    rng = random.Random(seed)
    query_type = default_schema._schema.query_type
    assert query_type is not None
    faults = ["http500", "invalid_json", "code", "latency", "lost_reply", None]
    for round_ in range(30):
        sim_admin.delete("/admin/faults")
        for hospital in rng.sample(["253", "254", "255", "256", "257"], k=rng.randint(0, 3)):
            kind = rng.choice(faults)
            if kind is not None:
                inject(
                    sim_admin,
                    hospitalId=hospital,
                    method="*",
                    kind=kind,
                    latencyMs=rng.choice([50, 1200]),
                    code="60101",
                    msg="x",
                )
        roots = rng.sample(list(query_type.fields), k=rng.randint(1, 3))
        fields = [f for name in roots if (f := _field(name, query_type.fields[name], rng, depth=4)) is not None]
        if not fields:
            continue
        query = "{ " + " ".join(fields) + " }"
        response = await crawl_gateway.post("/graphql", json={"query": query})
        context = f"seed {seed} round {round_}: {query[:400]}"
        assert response.status_code == 200, f"{context} -> {response.status_code} {response.text[:300]}"
        assert "CancelledError" not in response.text, context
        body = response.json()
        assert "data" in body or "errors" in body, context
    await asyncio.sleep(0)
