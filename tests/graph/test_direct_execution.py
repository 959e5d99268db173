"""A known operation runs directly (resolvers/schema.py ``Schema._execute_known``), without Strawberry's
per-operation machinery: it must answer exactly what Strawberry's way answers, log and mask the same errors, and
wrap every operation in the observers (metrics, traces) as before (issue 13 item 2)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from api.demo import SAMPLE_QUERIES
from api.settings import Settings
from his_clients.registry import Registry
from resolvers.schema import Schema, build_schema
from tests.conftest import running_gateway
from tests.graph.test_leaf_execution import OPERATIONS, _comparable, _differences, _transient
from tests.security.test_refusals import SECRET, bug, production, services_of

CARD = "001000056254587"

EDGES = [
    "{ __typename }",
    "query Named { __typename }",
    "query A { __typename } query B { hospitals { hospitalId } }",  # several operations, none chosen
    "{ nosuchField }",  # validation
    "{ __typename ",  # syntax
    "query ($h: String!) { __typename }",  # a variable not given
    f'{{ patient(medicalCardNumber: "{CARD}") {{ pendingPayments(hospitalId: "253,nosuch") {{ hospitalId }} }} }}',
    f'{{ patient(medicalCardNumber: "{CARD}") {{ pendingPayments(hospitalId: "") {{ hospitalId }} }} }}',
    'mutation { unbindCard(medicalCardNumber: "1") { __typename } }',
    "subscription { __typename }",
]
"""Beside the sample operations: what is refused before execution, during it, and by the schema's own rules."""


async def _answers(
    settings_of: Callable[[], Settings],
    queries: list[tuple[str, str | None]],
    monkeypatch: pytest.MonkeyPatch,
    *,
    direct: bool,
) -> list[Any]:
    with monkeypatch.context() as patch:
        if not direct:
            patch.setattr(Schema, "_known_document", lambda *_: None)
        async with running_gateway(settings_of()) as gateway:
            found = []
            for query, name in queries:
                # twice: the first parses and validates the text, the second finds both cached
                for _ in range(2):
                    response = await gateway.post("/graphql", json={"query": query, "operationName": name})
                found.append((response.status_code, _comparable(response.json())))
            return found


@pytest.mark.parametrize("mode", ["dev", "production"])
async def test_known_operations_answer_as_strawberry_answers(
    mode: str, region: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's sample queries, tests/graph/operations and the edge cases above, each asked twice, through the
    real app in dev and production modes: the same statuses, data and errors with the direct path as without it.
    An answer a hospital's timeout cut on either side is asked again on both (on a loaded machine that is the
    hospitals' timing, not the path's doing)."""
    queries: list[tuple[str, str | None]] = [(query, None) for _title, query in SAMPLE_QUERIES]
    queries += [(path.read_text(encoding="utf-8"), None) for path in sorted(OPERATIONS.glob("*.graphql"))]
    queries += [(query, None) for query in EDGES]
    queries += [("query A { __typename } query B { hospitals { hospitalId } }", "B"), ("{ __typename }", "Nope")]
    runs = 0

    def settings_of() -> Settings:
        nonlocal runs
        runs += 1
        where = tmp_path / str(runs)
        where.mkdir()
        if mode == "production":
            return production(region, where).model_copy(update={"request_deadline_s": 10.0})
        return Settings(
            database_url=f"sqlite+aiosqlite:///{where / 'dev.sqlite3'}", registry=region, request_deadline_s=10.0
        )

    direct = await _answers(settings_of, queries, monkeypatch, direct=True)
    strawberry_way = await _answers(settings_of, queries, monkeypatch, direct=False)
    for _again in range(2):
        cut = [
            i
            for i in range(len(queries))
            if direct[i] != strawberry_way[i] and (_transient(direct[i][1]) or _transient(strawberry_way[i][1]))
        ]
        if not cut:
            break
        again = [queries[i] for i in cut]
        for i, one, other in zip(
            cut,
            await _answers(settings_of, again, monkeypatch, direct=True),
            await _answers(settings_of, again, monkeypatch, direct=False),
            strict=True,
        ):
            direct[i], strawberry_way[i] = one, other
    for i, (query, name) in enumerate(queries):
        assert direct[i] == strawberry_way[i], (query[:80], name, _differences(direct[i], strawberry_way[i])[:10])
    assert sum(status == 200 and "errors" not in answer for status, answer in direct) >= len(SAMPLE_QUERIES) - 1


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The text of each operation run directly, in order."""
    texts: list[str | None] = []
    known = Schema._execute_known

    async def counted(self: Schema, context: Any, extensions: Any) -> Any:
        texts.append(context.query)
        return await known(self, context, extensions)

    monkeypatch.setattr(Schema, "_execute_known", counted)
    return texts


async def test_a_known_operation_skips_strawberrys_machinery(
    region: Registry, tmp_path: Path, ran: list[str | None]
) -> None:
    """Asked again, a valid operation runs directly; an invalid one never does, and is refused as before."""
    async with running_gateway(production(region, tmp_path)) as gateway:
        for _ in range(3):
            ok = await gateway.post("/graphql", json={"query": "query Ok { __typename }"})
            invalid = await gateway.post("/graphql", json={"query": "query Bad { nosuchField }"})
            assert ok.json() == {"data": {"__typename": "Query"}}
            assert invalid.json()["errors"][0]["message"].startswith("Cannot query field 'nosuchField'")
            assert "Did you mean" not in invalid.text
    assert ran == ["query Ok { __typename }"] * 3  # the first too: parsed and validated on the way in


async def test_a_bug_is_masked_and_logged_on_the_direct_path(
    region: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    ran: list[str | None],
) -> None:
    """issue 12 item 3, on a known operation: "Unexpected error." for the client, the bug logged with its
    traceback as an error, never as a refusal."""
    query = '{ paymentOrder(outTradeNo: "OP253-1") { outTradeNo } }'
    async with running_gateway(production(region, tmp_path)) as gateway:
        await gateway.post("/graphql", json={"query": query})  # known from now on
        monkeypatch.setattr(services_of(gateway).payments, "get", bug)
        with caplog.at_level(logging.INFO):
            body = (await gateway.post("/graphql", json={"query": query})).json()
    assert ran == [query, query]
    [error] = body["errors"]
    assert error["message"] == "Unexpected error."
    assert SECRET not in str(body)
    [logged] = [r for r in caplog.records if SECRET in r.getMessage()]
    assert logged.levelno == logging.ERROR
    assert not [r for r in caplog.records if r.name == "hisgraph.graphql" and "refused" in r.getMessage()]


SEEN: list[tuple[str, Any]] = []


class Observer(SchemaExtension):
    """An operation-only observer, as api/tracing.py's: what it sees before and after each operation."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        SEEN.append(("before", context.query))
        try:
            yield
        except BaseException as exc:
            SEEN.append(("raised", type(exc).__name__))
            raise
        result = context.result
        SEEN.append(("after", [e.message for e in (result.errors or [])] if result is not None else None))


class Resolving(Observer):
    """An observer that also resolves fields: the direct path cannot run it, so Strawberry's way runs."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


async def test_observers_wrap_each_known_operation() -> None:
    schema = build_schema(production=True, observers=[Observer])
    assert schema._direct
    SEEN.clear()
    for _ in range(2):
        result = await schema.execute("query Seen { __typename }")
        assert result.data == {"__typename": "Query"}
        assert not result.errors
    assert SEEN == [("before", "query Seen { __typename }"), ("after", [])] * 2


async def test_observers_see_an_operation_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancelled operation (its client gone) is thrown into the observers, which record it, and goes on up."""
    schema = build_schema(production=True, observers=[Observer])
    await schema.execute("{ __typename }")

    def cancelled(*_: Any, **__: Any) -> Any:
        raise asyncio.CancelledError

    monkeypatch.setattr(schema, "_get_execute_function", lambda: cancelled)
    SEEN.clear()
    with pytest.raises(asyncio.CancelledError):
        await schema.execute("{ __typename }")
    assert SEEN == [("before", "{ __typename }"), ("raised", "CancelledError")]


async def test_an_execution_that_raises_is_answered_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """graphql-core raising instead of answering (a bug): an error result, its message masked in production."""
    schema = build_schema(production=True, observers=[Observer])
    await schema.execute("{ __typename }")

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(schema, "_get_execute_function", lambda: broken)
    SEEN.clear()
    result = await schema.execute("{ __typename }")
    assert result.data is None
    assert [e.message for e in result.errors or []] == ["Unexpected error."]
    assert SEEN == [("before", "{ __typename }"), ("after", ["Unexpected error."])]


def test_an_observer_that_resolves_turns_the_direct_path_off() -> None:
    assert not build_schema(observers=[Resolving])._direct
    assert build_schema(observers=[Observer])._direct


async def test_an_observer_that_resolves_still_sees_every_operation() -> None:
    schema = build_schema(production=True, observers=[Resolving])
    SEEN.clear()
    for _ in range(2):
        assert (await schema.execute("{ __typename }")).data == {"__typename": "Query"}
    assert SEEN == [("before", "{ __typename }"), ("after", [])] * 2


def test_a_syntax_error_is_not_cached_as_a_document() -> None:
    """A text that does not parse is refused each time by Strawberry's way, and nothing of it is kept."""
    schema = build_schema(production=True)
    with pytest.raises(GraphQLError):
        schema._parse("{ __typename ", max_tokens=schema.limits.max_tokens)
    assert schema._known_document("{ __typename ", None, set()) is None


class FailsToStart(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        raise RuntimeError("the observer's own bug")
        yield  # a generator, as operation-only observers are


async def test_an_observer_that_fails_to_start_ends_those_started() -> None:
    """As strawberry's exit stack does: the observers already started see the failure thrown into them, and the
    failure is an error of the answer (strawberry's way answers it so), masked in production."""
    schema = build_schema(production=True, observers=[Observer, FailsToStart])
    assert schema._direct
    SEEN.clear()
    result = await schema.execute("{ __typename }")
    assert result.data is None
    assert [e.message for e in result.errors or []] == ["Unexpected error."]
    assert SEEN == [("before", "{ __typename }"), ("raised", "RuntimeError")]
    development = build_schema(observers=[FailsToStart])
    assert [e.message for e in (await development.execute("{ __typename }")).errors or []] == ["the observer's own bug"]
