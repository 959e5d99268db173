"""Plain leaf fields completed without graphql-core's general path (issue 13 item 2).

Most of a fan-out's response is leaves read straight off an object: an item's ``id``, its ``amount``, an
entry's ``hospitalId``. For each, graphql-core builds a resolve-info object, checks for arguments, calls the
resolver, checks twice for an awaitable, and walks ``complete_value`` through the non-null wrapper to the
scalar's ``coerce_output_value``. For a field Strawberry itself calls *basic* (no resolver, no extension: it
returns the attribute and never reads ``info``), only the attribute and the coercion matter.

``LeafFastExecutionContext`` does just those two for such a field whose type is a scalar or an enum (nullable or
not) and which is asked without arguments: in ``execute_fields`` (a mirror of graphql-core's, which also makes no
Path for such a leaf) and in ``execute_field`` (its other callers: mutations' serial fields). Anything else goes
the general way, and so does anything unusual on the fast path: an exception (raised or returned), a null in a
non-null field, or a coercion that gives nothing. There the general path reads the attribute again (a basic
field's read has no side effects) and makes the error it always makes, at the same path. An awaitable read is
completed as graphql-core completes one, never read twice. The answer is the same either way:
tests/graph/test_leaf_execution.py holds the two equal, and holds the mirror to graphql-core's own source.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from operator import attrgetter
from types import CoroutineType, GeneratorType
from typing import Any, Final

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution.executor import Executor, collect_iterator_awaitables, to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from graphql.type.scalars import serialize_id, serialize_string
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_Plan = tuple[GraphQLField, Callable[[Any], Any], GraphQLLeafType, bool, bool]
"""A basic leaf field: its definition, its read of the source, its scalar or enum, whether it is non-null, and
whether text is its own output (String and ID: graphql-core's coercion returns a ``str`` as it is)."""

_Rows = tuple[tuple[str, Any, _Plan | None], ...]
"""A field set's fields: response name, field details, and the plan of a basic leaf (None: the general path)."""

_TEXT_AS_IS: Final = (serialize_string, serialize_id)

_GENERAL: Final = object()
"""The field takes the general path."""


class _Awaiting:
    """A basic leaf whose read gave an awaitable: completed as graphql-core completes one."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_PLANS: weakref.WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Plan | None]] = weakref.WeakKeyDictionary()


def _plan(schema: GraphQLSchema, parent_type: GraphQLObjectType, field_name: str) -> _Plan | None:
    field = schema.get_field(parent_type, field_name)
    # Strawberry marks the resolver of a field with no resolver and no extension (its "basic" fields).
    if field is None or field.args or not getattr(field.resolve, "_is_default", False):
        return None
    non_null = isinstance(field.type, GraphQLNonNull)
    inner = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not is_leaf_type(inner):
        return None
    resolve = field.resolve
    assert resolve is not None  # marked above
    definition = field.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
    text_as_is = getattr(inner, "coerce_output_value", None) in _TEXT_AS_IS
    if isinstance(definition, StrawberryField) and definition.default_resolver is getattr:
        # What Strawberry's basic resolver does (StrawberryField.get_result), without its two calls around it.
        return (field, attrgetter(definition.python_name), inner, non_null, text_as_is)
    return (field, functools.partial(resolve, info=None), inner, non_null, text_as_is)


_NEVER_AWAITABLE: set[type] = set()
"""Classes the check below found a value of not awaitable, and whose values cannot be: see ``_settled_class``."""
_CLASSES_SEEN: set[type] = set()
"""Classes ``_settled_class`` has answered for (at most ``_MAX_CLASSES``): each is asked once."""
_MAX_CLASSES: Final = 512
_VALUE_TYPES: Final = frozenset({Decimal, date, datetime, time})
"""Classes of C whose attributes are their own (a C class may forward them, as a weak proxy does: not assumed)."""


def is_awaitable(value: Any) -> bool:
    """Strawberry's ``optimized_is_awaitable`` (graphql-core's check, with a fast path for builtins), answered from
    the value's class once a value of that class was found not awaitable and no value of it can be: a fan-out's
    items and amounts (Decimal) are checked once per class, not for every value (graphql-core asks for every
    field, item and list). What it answers is the same (tests/graph/test_leaf_execution.py)."""
    cls = type(value)
    if cls in _NEVER_AWAITABLE:
        return False
    if optimized_is_awaitable(value):
        return True
    if cls not in _CLASSES_SEEN and len(_CLASSES_SEEN) < _MAX_CLASSES:
        _CLASSES_SEEN.add(cls)
        if _settled_class(cls):
            _NEVER_AWAITABLE.add(cls)
    return False


def _settled_class(cls: type) -> bool:
    """Whether no value of ``cls`` can pass graphql-core's check: a known C value class, or a Python class that is
    not a coroutine or generator, has no ``__await__``, and nothing that could answer differently per value
    (``__getattr__``, ``__getattribute__``, a ``__class__`` of its own). A value's own ``__await__`` in its
    ``__dict__`` is not looked for: ``await`` never uses one either."""
    if cls in _VALUE_TYPES:
        return True
    if not cls.__flags__ & _HEAP_TYPE:
        return False  # another class of C: it may forward attributes
    if issubclass(cls, (CoroutineType, GeneratorType)) or hasattr(cls, "__await__") or hasattr(cls, "__getattr__"):
        return False
    if cls.__getattribute__ is not object.__getattribute__:
        return False
    return all("__class__" not in vars(base) for base in cls.__mro__[:-1])


_HEAP_TYPE: Final = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement (or type())


def _item_path(path: Any, index: int | None) -> Any:
    """``path`` itself, or with ``index``, the path of that item of the list at ``path`` (as graphql-core makes it)."""
    return path if index is None else path.add_key(index, None)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    """graphql-core's ``Executor.gather_async_work``, which never reads the executor."""
    return gather_with_cancel(*values)


_ORPHANS: set[asyncio.Future[Any]] = set()
"""Work tracked after its execution was freed, settled in the background all the same."""


def _track(executor: weakref.ref[Executor[Any]], values: Sequence[Any]) -> None:
    """graphql-core's ``Executor.track_async_work``, through a weak reference to the executor. Resolvers track work
    while their execution runs, so it is there; were it gone, the awaitables would still be settled."""
    found = executor()
    if found is not None:
        found.track_async_work(values)
        return
    awaitables = [value for value in values if inspect.isawaitable(value)]
    if awaitables:
        future = asyncio.gather(*awaitables, return_exceptions=True)
        _ORPHANS.add(future)
        future.add_done_callback(_ORPHANS.discard)


class LeafFastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with basic leaf fields completed directly (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core's helpers for resolvers are the executor's bound methods, held by the executor: a cycle, so
        # every execution (its field plans, collected fields, the request's context) was freed only by the cyclic
        # garbage collector. The same helpers, reaching the executor through a weak reference, make none.
        track = functools.partial(_track, weakref.ref(self))
        self.async_helpers = GraphQLResolveInfoHelpers(gather=_gather, track=track)
        manager = self.middleware_manager
        # Strawberry always passes a manager, empty unless an extension resolves fields; a resolving one
        # must see every field, so then nothing takes the fast path.
        self._no_middleware = manager is None or not manager.middlewares
        self._plans = _PLANS.setdefault(self.schema, {})  # each field's plan, worked out once per schema
        # Each field set's fields with their plans, once per execution: a list's items share one field set
        # (graphql-core memoizes collect_subfields per execution). The set is kept with them, so its id stays its.
        self._rows: dict[tuple[str, int], tuple[Any, _Rows]] = {}

    def _plan_of(self, parent_type: GraphQLObjectType, node: Any) -> _Plan | None:
        """The field's plan, or None where the general path must run it (see the module)."""
        if node.arguments or not self._no_middleware:
            return None
        key = (parent_type.name, node.name.value)
        plans = self._plans
        if key in plans:
            return plans[key]
        plan = plans[key] = _plan(self.schema, parent_type, key[1])
        return plan

    def _read_leaf(self, plan: _Plan, source: Any) -> Any:
        """The completed leaf; ``_GENERAL`` where the general path must run it; or the awaitable read, which
        the caller completes (a property may make a new one on each read: it is never read twice)."""
        _field, read, leaf, non_null, text_as_is = plan
        try:
            value = read(source)
            if text_as_is and type(value) is str:  # what String's and ID's coercion return for it: itself
                return value
            if value is None or value is Undefined:
                return _GENERAL if non_null else None
            if isinstance(value, Exception):  # graphql-core raises a returned exception as the field's error
                return _GENERAL
            if self.is_awaitable(value):
                return _Awaiting(value)
            completed = leaf.coerce_output_value(value)
        except Exception:  # the general path raises it again, located at this field
            return _GENERAL
        if completed is None or completed is Undefined:
            return _GENERAL
        return completed

    def _complete_awaiting(
        self, plan: _Plan, parent_type: GraphQLObjectType, field_details_list: Any, path: Any, value: Any, position: Any
    ) -> Any:
        field = plan[0]
        info = self.build_resolve_info(field, to_nodes(field_details_list), parent_type, path)
        return self.complete_awaitable_value(field.type, field_details_list, info, path, value, position)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        plan = self._plan_of(parent_type, field_details_list[0].node)
        if plan is not None:
            completed = self._read_leaf(plan, source)
            if type(completed) is _Awaiting:
                return self._complete_awaiting(
                    plan, parent_type, field_details_list, path, completed.value, position_context
                )
            if completed is not _GENERAL:
                return completed
        return super().execute_field(parent_type, source, field_details_list, path, position_context)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's ``Executor.execute_fields`` (3.3.2), with a basic leaf completed in place: no Path and
        no ``execute_field`` call for it (a field set's plans are looked up once per execution: a list's items
        share one set). Everything else is as graphql-core does it, line for line."""
        return self._execute_rows(
            parent_type, source_value, path, self._rows_of(parent_type, grouped_field_set), position_context
        )

    def _rows_of(self, parent_type: GraphQLObjectType, grouped_field_set: Any) -> _Rows:
        """The field set's fields with their plans, worked out once per execution."""
        key = (parent_type.name, id(grouped_field_set))
        known = self._rows.get(key)
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        rows = tuple(
            (response_name, details, self._plan_of(parent_type, details[0].node))
            for response_name, details in grouped_field_set.items()
        )
        self._rows[key] = (grouped_field_set, rows)
        return rows

    def _execute_rows(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Any,
        rows: _Rows,
        position_context: Any,
        index: int | None = None,
    ) -> Any:
        """``execute_fields``' body, for a field set's rows (``_rows_of``). With ``index``, the object is that item of
        the list at ``path``: its own path is made only if a field needs one (most of a list's items never do)."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        append_awaitable = awaitable_fields.append
        try:
            for response_name, field_details_list, plan in rows:
                if plan is not None:
                    completed = self._read_leaf(plan, source_value)
                    if completed is not _GENERAL:
                        if type(completed) is _Awaiting:
                            field_path = Path(_item_path(path, index), response_name, parent_type.name)
                            completed = self._complete_awaiting(
                                plan, parent_type, field_details_list, field_path, completed.value, position_context
                            )
                            append_awaitable(response_name)
                        results[response_name] = completed
                        continue
                field_path = Path(_item_path(path, index), response_name, parent_type.name)
                result = self.execute_field(parent_type, source_value, field_details_list, field_path, position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        append_awaitable(response_name)
        except Exception:
            if awaitable_fields:
                # Ensure that awaitables created by other fields are settled, as they may also fail.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited_results = await gather_with_cancel(*(results[field] for field in awaitable_fields))
                results.update(zip(awaitable_fields, awaited_results, strict=True))
            return results

        return get_results()

    def complete_iterable_value(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's, except for a list whose items are all futures (a fan-out's entries, resolvers/fanout.py):
        each item is completed by a done callback as soon as it settles, not by a task of its own that awaits it
        (graphql-core wraps each awaitable item in a coroutine and gathers them, a task per item). What each item
        comes to is the same: ``complete_list_item_value`` on what it settled to, or ``handle_field_error`` on its
        error, in the order the items settle; the first error that propagates (a non-null item) cancels the
        items still pending, as ``gather_with_cancel`` does, and is the list's. Anything else (a stream, an abort
        signal, a list that is not all futures) goes graphql-core's way."""
        if (
            type(items) is not list
            or len(items) < 2  # graphql-core awaits a lone item itself, without a task
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)
        if self.abort_signal is None and all(isinstance(item, asyncio.Future) for item in items):
            return self._complete_futures(item_type, field_details_list, info, path, items, position_context)
        object_type = item_type.of_type if type(item_type) is GraphQLNonNull else item_type
        if position_context is None and type(object_type) is GraphQLObjectType:
            grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
            if not new_defer_usages:
                rows = self._rows_of(object_type, grouped_field_set)
                return self._complete_objects(object_type, rows, item_type, field_details_list, info, path, items)
        return super().complete_iterable_value(item_type, field_details_list, info, path, items, position_context)

    def _complete_objects(
        self,
        object_type: GraphQLObjectType,
        rows: _Rows,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: list[Any],
    ) -> Any:
        """graphql-core's ``complete_iterable_value`` for a list of an object type without ``@defer`` below it (no
        stream, no position context), with what ``complete_list_item_value`` does for each object item (see it)
        worked out once for the list: its field set and the set's plans. An item that is awaitable, null, an
        error or (by ``is_type_of``) not at once of the type goes item by item as graphql-core's loop sends it."""
        is_awaitable = self.is_awaitable
        is_type_of = object_type.is_type_of
        completed_results: list[Any] = []
        append_completed = completed_results.append
        awaitable_indices: list[int] = []
        append_awaitable = awaitable_indices.append
        iterator = iter(items)
        try:
            for index, item in enumerate(iterator):
                if is_awaitable(item):
                    append_completed(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, path.add_key(index, None), None
                        )
                    )
                    append_awaitable(index)
                    continue
                if not (  # _object_at_once, inlined: this runs for every item of every list
                    item is None
                    or item is Undefined
                    or isinstance(item, Exception)
                    or (is_type_of is not None and not self._is_type_at_once(object_type, item, info))
                ):
                    # The item's path is made only where something needs it (``_item_path``).
                    awaiting = self._complete_object(
                        object_type, rows, item, completed_results, item_type, field_details_list, path, index
                    )
                else:
                    awaiting = super().complete_list_item_value(
                        item, completed_results, item_type, field_details_list, info, path.add_key(index, None), None
                    )
                if awaiting:
                    append_awaitable(index)
        except Exception:
            # As graphql-core: the awaitables made so far, and those among the items not reached, are settled in
            # the background before they would be orphaned.
            maybe_awaitables = [completed_results[index] for index in awaitable_indices]
            maybe_awaitables.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if maybe_awaitables:
                self.settle_in_background(maybe_awaitables)
            raise

        if not awaitable_indices:
            return completed_results

        async def get_completed_results() -> list[Any]:
            if len(awaitable_indices) == 1:
                index = awaitable_indices[0]
                completed_results[index] = await completed_results[index]
            else:
                awaited_results = await gather_with_cancel(*(completed_results[index] for index in awaitable_indices))
                for index, sub_result in zip(awaitable_indices, awaited_results, strict=True):
                    completed_results[index] = sub_result
            return completed_results

        return get_completed_results()

    def _object_at_once(self, object_type: GraphQLObjectType, item: Any, info: Any) -> bool:
        """Whether ``item`` is, at once, an object of ``object_type``: not null, not an error, and (for a type with
        ``is_type_of``) answered True straight away. Anything else takes graphql-core's general path."""
        return not (
            item is None
            or item is Undefined
            or isinstance(item, Exception)
            or not self._is_type_at_once(object_type, item, info)
        )

    def _complete_object(
        self,
        object_type: GraphQLObjectType,
        rows: _Rows,
        item: Any,
        complete_results: list[Any],
        item_type: Any,
        field_details_list: Any,
        item_path: Any,
        index: int | None = None,
    ) -> bool:
        """What ``complete_list_item_value`` does for an object item (see it): its fields, straight; True when the
        completion appended is awaitable. With ``index``, ``item_path`` is the list's and the item is its
        ``index``-th (its own path made only if needed: ``_item_path``)."""
        try:
            completed_item = self._execute_rows(object_type, item, item_path, rows, None, index)
            if type(completed_item) is not dict and self.is_awaitable(completed_item):
                complete_results.append(
                    self._await_item(completed_item, item_type, field_details_list, _item_path(item_path, index))
                )
                return True
            complete_results.append(completed_item)
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, _item_path(item_path, index))
            complete_results.append(None)
        return False

    async def _await_item(self, completed_item: Any, item_type: Any, field_details_list: Any, item_path: Any) -> Any:
        """An object item's awaitable completion, as ``complete_list_item_value`` awaits it."""
        try:
            return await completed_item
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field_details_list, item_path)
            return None

    async def _complete_futures(
        self,
        item_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        items: list[asyncio.Future[Any]],
        position_context: Any,
    ) -> list[Any]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        results: list[Any] = [None] * len(items)
        pending = len(items)
        completing: set[asyncio.Future[Any]] = set()  # items whose completion is itself awaitable

        def finished(index: int, value: Any) -> None:
            nonlocal pending
            results[index] = value
            pending -= 1
            if not pending and not done.done():
                done.set_result(None)

        def failed(error: BaseException) -> None:
            if not done.done():
                done.set_exception(error)

        def completed_later(index: int, task: asyncio.Future[Any]) -> None:
            completing.discard(task)
            if done.done():
                return
            if task.cancelled():
                failed(asyncio.CancelledError())
            elif (error := task.exception()) is not None:
                failed(error)
            else:
                finished(index, task.result())

        def settled(index: int, item: asyncio.Future[Any]) -> None:
            if done.done():
                return
            item_path = path.add_key(index, None)
            if item.cancelled():  # as graphql-core's task awaiting it would be: the list is cancelled
                failed(asyncio.CancelledError())
                return
            box: list[Any] = []
            try:
                error = item.exception()
                if error is not None:
                    if not isinstance(error, Exception):
                        failed(error)
                        return
                    self.handle_field_error(error, item_type, field_details_list, item_path)
                    finished(index, None)
                elif self.complete_list_item_value(
                    item.result(), box, item_type, field_details_list, info, item_path, position_context
                ):
                    task = asyncio.ensure_future(box[0])  # an awaitable completion: awaited as graphql-core does
                    completing.add(task)
                    task.add_done_callback(functools.partial(completed_later, index))
                else:
                    finished(index, box[0])
            except Exception as propagated:  # a non-null item's error: the list's own
                failed(propagated)

        try:
            # graphql-core's tasks take their first step on the loop's next pass: the items settled by then are
            # completed then, in the list's order, and the others as they settle.
            await asyncio.sleep(0)
            for index, item in enumerate(items):
                if done.done():
                    break
                if item.done():
                    settled(index, item)
                else:
                    item.add_done_callback(functools.partial(settled, index))
            await done
        except BaseException:
            # As gather_with_cancel: whatever is still pending is cancelled and settled before the error goes on.
            # graphql-core's tasks had all begun; a completion task made in this pass has not: it takes its first
            # step before it is cancelled, so what it awaits is awaited (a coroutine is never left unawaited).
            if any(not task.done() for task in completing):
                await asyncio.sleep(0)
            leftovers = [item for item in items if not item.done()] + list(completing)
            for leftover in leftovers:
                leftover.cancel()
            if leftovers:
                await asyncio.gather(*leftovers, return_exceptions=True)
            raise
        return results

    @staticmethod
    def _is_type_at_once(object_type: GraphQLObjectType, item: Any, info: Any) -> bool:
        is_type_of = object_type.is_type_of
        if is_type_of is None:
            return True
        try:
            return is_type_of(item, info) is True
        except Exception:  # the general path asks again and raises it where graphql-core does
            return False

    def complete_list_item_value(
        self,
        item: Any,
        complete_results: list[Any],
        item_type: Any,
        field_details_list: Any,
        info: Any,
        item_path: Any,
        position_context: Any,
    ) -> bool:
        """graphql-core's, with an object item without ``@defer`` below it sent straight to ``execute_fields``: what
        ``complete_value`` -> ``complete_object_value`` -> ``collect_and_execute_subfields`` ->
        ``execute_collected_subfields`` come to for it (no position context, no deferred usage), without their four
        calls per item. A type with ``is_type_of`` (Strawberry's, for a type with interfaces: an ``isinstance``)
        goes so only when it answers True at once; anything else (False, an awaitable, an error) takes the general
        path, which asks it again and makes the error graphql-core makes."""
        object_type = item_type.of_type if type(item_type) is GraphQLNonNull else item_type
        if (
            position_context is not None
            or type(object_type) is not GraphQLObjectType
            or not self._object_at_once(object_type, item, info)
        ):
            return super().complete_list_item_value(
                item, complete_results, item_type, field_details_list, info, item_path, position_context
            )
        grouped_field_set, new_defer_usages, _forbidden = self.collect_subfields(object_type, field_details_list)
        if new_defer_usages:
            return super().complete_list_item_value(
                item, complete_results, item_type, field_details_list, info, item_path, position_context
            )
        rows = self._rows_of(object_type, grouped_field_set)
        return self._complete_object(
            object_type, rows, item, complete_results, item_type, field_details_list, item_path
        )
