"""Basic leaf fields completed directly (resolvers/execution.py) answer exactly what graphql-core's general path
answers: data, errors, their messages and paths (issue 13 item 2)."""

from __future__ import annotations

import asyncio
import enum
import hashlib
import inspect
import re
import types
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import graphql
import pytest
import strawberry
from graphql.execution.executor import Executor
from graphql.execution.incremental.incremental_executor import IncrementalExecutor
from graphql.pyutils import gather_with_cancel
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from api.demo import SAMPLE_QUERIES
from api.settings import Settings
from his_clients.registry import Registry
from resolvers.execution import LeafFastExecutionContext
from resolvers.scalars import SCALARS
from resolvers.schema import build_schema

from ..conftest import running_gateway

OPERATIONS = Path(__file__).parent / "operations"

MIRRORED_SHA256 = "73322722936f1127d69a1778d2ba14c3f996b5acd27537eea0dd56bdb0461791"
"""graphql-core 3.3.2's code that resolvers/execution.py mirrors or short-cuts (see the last test)."""
MIRRORED_LISTS_SHA256 = "851bf1016d52f13e9bfea0ff71da2fbbee175933d1e3b58946ba91af66fbcaae"
"""graphql-core 3.3.2's completion of a list of awaitables, which resolvers/execution.py does for a list of futures."""


class Colour(enum.Enum):
    RED = "r"
    BLUE = "b"


async def _three() -> int:
    return 3


@strawberry.interface
class Named:
    name: str


@strawberry.type
class NamedThing(Named):
    """ThingView's fields on a type with an interface: Strawberry gives it ``is_type_of`` (an isinstance)."""

    nickname: str | None
    price: Decimal
    colour: Colour
    count: int
    later: int
    broken: str


class Thing(NamedThing):
    """What a resolver hands over: ThingView's fields are read off it by name (and it is a NamedThing)."""

    def __init__(self, name: Any, nickname: Any, price: Any, colour: Any, count: Any) -> None:
        self.name, self.nickname, self.price, self.colour, self.count = name, nickname, price, colour, count

    @property
    def later(self) -> Any:  # type: ignore[override]
        """A new coroutine on each read: read twice, one would never be awaited (pytest fails on that)."""
        return _three()

    @property
    def broken(self) -> str:  # type: ignore[override]
        raise RuntimeError("no such thing")


@strawberry.type
class ThingView:
    """A type of basic leaf fields only: scalars, custom scalars, an enum, nullable and not."""

    name: str
    nickname: str | None
    price: Decimal
    colour: Colour
    count: int
    later: int
    broken: str


def _things() -> list[Thing]:
    good = Thing("甲", None, Decimal("65.10"), Colour.BLUE, 3)
    # One object breaking each rule the fast path checks: a null in a non-null field, a value the scalar
    # cannot coerce, an enum value that is no member, a string for an int, an exception returned as a value
    # (graphql-core raises it as the field's error; Money's coercion alone would have written its text).
    odd = Thing(None, 7, ValueError("not an amount"), "green", "3")
    return [good, odd]


async def _later(value: Any) -> Any:
    """An item that is a coroutine (never left unawaited: pytest fails on one)."""
    await asyncio.sleep(0)
    return value


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():  # a non-null list's error cancels the items still pending
        if isinstance(value, Exception):
            future.set_exception(value)
        else:
            future.set_result(value)


def _settling() -> list[asyncio.Future[Any]]:
    """The objects as a fan-out answers them (resolvers/fanout.py): futures that settle in another order than
    listed, one with an error, one already settled, the last after the others."""
    loop = asyncio.get_running_loop()
    good, odd = _things()
    futures = [loop.create_future() for _ in range(5)]
    futures[4].set_result(good)
    loop.call_soon(_settle, futures[1], odd)
    loop.call_later(0.01, _settle, futures[0], good)
    loop.call_soon(_settle, futures[2], RuntimeError("a hospital failed"))
    loop.call_later(0.03, _settle, futures[3], good)
    return futures


@strawberry.type
class Query:
    @strawberry.field
    def good(self) -> ThingView:
        return Thing("乙", "二", Decimal("0.50"), Colour.RED, 2)  # type: ignore[return-value]

    @strawberry.field
    def strict_things(self) -> list[ThingView]:
        """The same objects as a list of non-null items: an item's error nulls the whole list."""
        return _things()  # type: ignore[return-value]

    @strawberry.field
    def things(self) -> list[ThingView | None]:
        return _things()  # type: ignore[return-value]

    @strawberry.field
    def settling_things(self) -> list[ThingView | None]:
        return _settling()  # type: ignore[return-value]

    @strawberry.field
    def strict_settling_things(self) -> list[ThingView]:
        """Non-null items: the failing one nulls the list, and the items still pending are cancelled."""
        return _settling()  # type: ignore[return-value]

    @strawberry.field
    def named_things(self) -> list[NamedThing | None]:
        return _things()  # type: ignore[return-value]

    @strawberry.field
    def settling_named_things(self) -> list[NamedThing | None]:
        return _settling()  # type: ignore[return-value]

    @strawberry.field
    def mixed_things(self) -> list[ThingView | None]:
        """An object list that is not all objects: a null, an awaitable item, an exception, objects around them."""
        good, odd = _things()
        return [good, None, _later(good), ValueError("no bill"), odd, good]  # type: ignore[list-item]

    @strawberry.field
    def strict_mixed_things(self) -> list[ThingView]:
        """The same as non-null items: the first error nulls the list; the awaitable items not reached are settled."""
        good, odd = _things()
        return [good, _later(good), None, _later(odd), good]  # type: ignore[list-item]

    @strawberry.field
    def strangers(self) -> list[NamedThing | None]:
        """Objects that are no NamedThing: is_type_of says no, and graphql-core's error is each item's."""
        good, odd = _things()
        return [vars(good), good, odd]  # type: ignore[list-item]


class Passing(SchemaExtension):
    """An extension that resolves fields (graphql-core's middleware): it must see every field."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


async def _run(context_class: type, query: str, extensions: list[Any] | None = None) -> dict[str, Any]:
    schema = strawberry.Schema(
        query=Query,
        execution_context_class=context_class,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=extensions or [],
    )
    result = await schema.execute(query)
    return {"data": result.data, "errors": sorted((e.message, str(e.path)) for e in result.errors or [])}


@pytest.mark.parametrize(
    "fields",
    [
        "name",
        "nickname",
        "price",
        "colour",
        "count",
        "later",
        "broken",
        "__typename colour",
        "name nickname price",
        # an awaitable beside a failing sibling: the failure propagates and the awaitable is settled
        "later name",
        "name later",
        "later broken count",
        "a: count b: count c: later",
    ],
)
@pytest.mark.parametrize(
    "root",
    [
        "things",
        "strictThings",
        "settlingThings",
        "strictSettlingThings",
        "namedThings",
        "settlingNamedThings",
        "strangers",
        "mixedThings",
        "strictMixedThings",
    ],
)
async def test_the_fast_path_answers_as_the_general_one(fields: str, root: str) -> None:
    query = "{ " + root + " { " + fields + " } }"
    fast = await _run(LeafFastExecutionContext, query)
    assert fast == await _run(StrawberryGraphQLCoreExecutionContext, query)
    if root in ("things", "settlingThings", "namedThings", "settlingNamedThings", "strangers", "mixedThings"):
        assert fast["data"] is not None  # the good object answered


@pytest.mark.parametrize("extensions", [[], [Passing]], ids=["plain", "with a resolving extension"])
async def test_basic_leaves_skip_the_general_path_unless_an_extension_resolves(
    monkeypatch: pytest.MonkeyPatch, extensions: list[Any]
) -> None:
    general: list[str] = []
    execute_field = StrawberryGraphQLCoreExecutionContext.execute_field

    def counted(self: Any, parent_type: Any, source: Any, fields: Any, *args: Any) -> Any:
        general.append(fields[0].node.name.value)
        return execute_field(self, parent_type, source, fields, *args)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_field", counted)
    result = await _run(LeafFastExecutionContext, "{ good { name nickname price colour count later } }", extensions)
    assert result == {
        "data": {"good": {"name": "乙", "nickname": "二", "price": "0.50", "colour": "RED", "count": 2, "later": 3}},
        "errors": [],
    }
    leaves = ["name", "nickname", "price", "colour", "count", "later"]
    assert general == (["good"] if not extensions else ["good", *leaves])


async def test_an_object_list_is_completed_for_the_whole_list_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A list of objects takes ``_complete_objects`` (its field set and plans worked out once for the list), its
    items never ``complete_list_item_value`` unless one is not at once an object of the type."""
    lists: list[int] = []
    items: list[object] = []
    complete_objects = LeafFastExecutionContext._complete_objects
    complete_list_item_value = StrawberryGraphQLCoreExecutionContext.complete_list_item_value

    def counted_lists(self: Any, *args: Any) -> Any:
        lists.append(len(args[-1]))
        return complete_objects(self, *args)

    def counted_items(self: Any, item: Any, *args: Any) -> Any:
        items.append(item)
        return complete_list_item_value(self, item, *args)

    monkeypatch.setattr(LeafFastExecutionContext, "_complete_objects", counted_lists)
    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "complete_list_item_value", counted_items)
    result = await _run(LeafFastExecutionContext, "{ things { name count } mixedThings { name } }")
    assert result["data"]["things"] == [{"name": "甲", "count": 3}, None]  # the odd one's null name nulls it
    assert lists == [2, 6]
    # graphql-core's own completion for the null and the exception (the awaitable item: its awaitable completion)
    assert [type(item).__name__ for item in items] == ["NoneType", "ValueError"]


def test_the_gateway_executes_with_the_fast_path() -> None:
    assert build_schema().execution_context_class is LeafFastExecutionContext


def test_the_mirrored_code_is_graphql_cores_own() -> None:
    """LeafFastExecutionContext mirrors graphql-core's execute_fields and complete_list_item_value, and takes a
    shortcut through what complete_value, complete_object_value, collect_and_execute_subfields and
    execute_collected_subfields do for an object item. Its completion of a list of futures does what
    complete_iterable_value, complete_awaitable_list_item_value and gather_with_cancel do for one. Another
    graphql-core (a new lock) fails here until the mirror is compared with it again."""
    sources: list[Callable[..., Any]] = [
        Executor.execute_fields,
        Executor.complete_list_item_value,
        Executor.complete_value,
        Executor.complete_object_value,
        Executor.collect_and_execute_subfields,
        IncrementalExecutor.execute_collected_subfields,
    ]
    digest = hashlib.sha256("".join(inspect.getsource(f) for f in sources).encode()).hexdigest()
    assert digest == MIRRORED_SHA256, graphql.__version__
    lists: list[Callable[..., Any]] = [
        Executor.complete_iterable_value,
        Executor.complete_awaitable_list_item_value,
        Executor.with_abort_signal,
        gather_with_cancel,
    ]
    digest = hashlib.sha256("".join(inspect.getsource(f) for f in lists).encode()).hexdigest()
    assert digest == MIRRORED_LISTS_SHA256, graphql.__version__


RANDOM_KEYS = frozenset({"slotId", "pdf", "fileUrl", "thumbnail", "image", "file", "dicomImages"})
"""Fields made fresh on each request (signed slot ids, sealed file links): compared by presence only."""
INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def _comparable(value: Any, key: str = "") -> Any:
    """A response with what differs between two runs of one query (fresh tokens, the simulator's clock) blanked."""
    if isinstance(value, dict):
        return {k: _comparable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_comparable(v, key) for v in value]
    if key in RANDOM_KEYS and value is not None:
        return "<fresh>"
    if isinstance(value, str) and INSTANT.match(value):
        return "<instant>"
    return value


TRANSIENT = frozenset({"HIS_TIMEOUT", "HIS_CONNECT_ERROR", "HIS_CIRCUIT_OPEN", "GATEWAY_BUSY"})
"""Codes a loaded machine can produce on either run (a hospital's 2 s timeout, the request's deadline): what the
hospitals' timeliness decided, not what the execution path did."""


def _transient(answer: dict[str, Any]) -> bool:
    return any((error.get("extensions") or {}).get("code") in TRANSIENT for error in answer.get("errors") or [])


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two answers part, as paths (the first few), so a failure names the field, not two whole dumps."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = [f"{path}.{k}: only on one side" for k in sorted(left.keys() ^ right.keys())]
        for key in left.keys() & right.keys():
            found += _differences(left[key], right[key], f"{path}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [d for i, (a, b) in enumerate(zip(left, right, strict=True)) for d in _differences(a, b, f"{path}[{i}]")]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"[:400]]


async def test_the_gateway_answers_its_sample_operations_alike_on_both_paths(
    region: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's sample queries and tests/graph/operations through the real app: the fast path's answers are the
    general path's (data and errors), with only fresh tokens and the simulated clock's instants blanked. An
    operation that a hospital's timeout or the request's deadline cut on either side is asked again on both (at
    most twice): on a loaded machine that is the hospitals' timing, not the path's doing."""
    operations = [query for _title, query in SAMPLE_QUERIES]
    operations += [path.read_text(encoding="utf-8") for path in sorted(OPERATIONS.glob("*.graphql"))]
    runs = 0

    async def answers(queries: list[str], *, general: bool) -> list[Any]:
        nonlocal runs
        runs += 1
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / str(runs)}.sqlite3", registry=region, request_deadline_s=10.0
        )
        with monkeypatch.context() as patch:
            if general:
                patch.setattr(LeafFastExecutionContext, "execute_fields", Executor.execute_fields)
                patch.setattr(
                    LeafFastExecutionContext, "execute_field", StrawberryGraphQLCoreExecutionContext.execute_field
                )
                patch.setattr(LeafFastExecutionContext, "complete_list_item_value", Executor.complete_list_item_value)
                patch.setattr(LeafFastExecutionContext, "complete_iterable_value", Executor.complete_iterable_value)
            async with running_gateway(settings) as gateway:
                return [_comparable((await gateway.post("/graphql", json={"query": q})).json()) for q in queries]

    fast = await answers(operations, general=False)
    general = await answers(operations, general=True)
    for _again in range(2):
        cut = [
            i
            for i in range(len(operations))
            if fast[i] != general[i] and (_transient(fast[i]) or _transient(general[i]))
        ]
        if not cut:
            break
        fast_again = await answers([operations[i] for i in cut], general=False)
        general_again = await answers([operations[i] for i in cut], general=True)
        for i, fast_answer, general_answer in zip(cut, fast_again, general_again, strict=True):
            fast[i], general[i] = fast_answer, general_answer
    for i, query in enumerate(operations):
        assert fast[i] == general[i], (query[:80], _differences(fast[i], general[i])[:10])
    assert sum("errors" not in answer for answer in fast) >= len(operations) - 1  # answered, not refused alike


class _AwaitableClass:
    def __await__(self) -> Any:
        return iter(())


class _Forwarding:
    """Answers every attribute it is asked for: graphql-core's check finds ``__await__`` on it."""

    def __getattr__(self, name: str) -> Any:
        return lambda: iter(())


class _ClaimsToBeACoroutine:
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return types.CoroutineType


def _coroutine_object() -> Any:
    async def nothing() -> None:
        return None

    return nothing()


@pytest.mark.parametrize("twice", [1, 2, 3])
async def test_the_class_remembering_awaitable_check_answers_as_graphql_core(twice: int) -> None:
    """resolvers/execution.py ``is_awaitable`` remembers classes whose values are never awaitable; for every kind of
    value, asked again and again (after its class was remembered), it answers as graphql-core's own check."""
    import weakref
    from datetime import date

    from graphql.pyutils import is_awaitable as graphql_core_is_awaitable

    from resolvers.execution import is_awaitable

    @strawberry.type
    class Item:
        id: str

    future = asyncio.get_running_loop().create_future()
    coroutines = [_coroutine_object() for _ in range(4)]
    values: list[Any] = [
        Decimal("21.00"), date(2026, 12, 3), Item(id="1"), {"a": 1}, "text", 7, None, object(),
        _AwaitableClass(), _Forwarding(), _ClaimsToBeACoroutine(), future, weakref.proxy(future), *coroutines,
    ]  # fmt: skip
    try:
        for _ in range(twice):
            for value in values:
                assert is_awaitable(value) == graphql_core_is_awaitable(value), repr(value)
        assert is_awaitable(weakref.proxy(Item(id="2"))) is False  # a proxy's class is never remembered
        assert is_awaitable(weakref.proxy(future)) is True
    finally:
        for coroutine in coroutines:
            coroutine.close()
        future.cancel()
