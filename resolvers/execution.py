"""Plain leaf fields completed without graphql-core's general path (issue 13 item 2).

Most of a fan-out's response is leaves read straight off an object: an item's ``id``, its ``amount``, an
entry's ``hospitalId``. For each, graphql-core builds a resolve-info object, checks for arguments, calls the
resolver, checks twice for an awaitable, and walks ``complete_value`` through the non-null wrapper to the
scalar's ``coerce_output_value``. For a field Strawberry itself calls *basic* (no resolver, no extension: it
returns the attribute and never reads ``info``), only the attribute and the coercion matter.

``LeafFastExecutionContext.execute_field`` does just those two for such a field whose type is a scalar or an
enum (nullable or not) and which is asked without arguments. Anything else goes the general way, and so does
anything unusual on the fast path: an exception (raised or returned), a null in a non-null field, or a coercion that
gives nothing.
There the general path reads the attribute again (a basic field's read has no side effects) and makes the error
it always makes, at the same path. An awaitable read is completed as graphql-core completes one, not read
twice. The answer is the same either way: tests/graph/test_leaf_execution.py holds the two equal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Final
from weakref import WeakKeyDictionary

from graphql import GraphQLField, GraphQLLeafType, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, is_leaf_type
from graphql.execution.executor import to_nodes
from graphql.pyutils import Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

_Plan = tuple[GraphQLField, Callable[[Any], Any], GraphQLLeafType, bool]
"""A basic leaf field: its definition, its read of the source, its scalar or enum, and whether it is non-null."""

_GENERAL: Final = object()
"""The field takes the general path."""

_PLANS: WeakKeyDictionary[GraphQLSchema, dict[tuple[str, str], _Plan | None]] = WeakKeyDictionary()


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
    if isinstance(definition, StrawberryField) and definition.default_resolver is getattr:
        # What Strawberry's basic resolver does (StrawberryField.get_result), without its two calls around it.
        return (field, attrgetter(definition.python_name), inner, non_null)
    return (field, functools.partial(resolve, info=None), inner, non_null)


class LeafFastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, with basic leaf fields completed directly (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # Strawberry always passes a manager, empty unless an extension resolves fields; a resolving one
        # must see every field, so then nothing takes the fast path.
        self._no_middleware = manager is None or not manager.middlewares
        self._plans = _PLANS.setdefault(self.schema, {})  # each field's plan, worked out once per schema

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        node = field_details_list[0].node
        if self._no_middleware and not node.arguments:
            key = (parent_type.name, node.name.value)
            plans = self._plans
            if key in plans:
                plan = plans[key]
            else:
                plan = plans[key] = _plan(self.schema, parent_type, key[1])
            if plan is not None:
                field, read, leaf, non_null = plan
                try:
                    value = read(source)
                    if self.is_awaitable(value):  # completed as graphql-core completes one (never read twice)
                        info = self.build_resolve_info(field, to_nodes(field_details_list), parent_type, path)
                        return self.complete_awaitable_value(
                            field.type, field_details_list, info, path, value, position_context
                        )
                    if value is None or value is Undefined:
                        completed = _GENERAL if non_null else None
                    elif isinstance(value, Exception):  # graphql-core raises a returned exception as the error
                        completed = _GENERAL
                    else:
                        completed = leaf.coerce_output_value(value)
                        if completed is None or completed is Undefined:
                            completed = _GENERAL
                except Exception:  # the general path raises it again, located at this field
                    completed = _GENERAL
                if completed is not _GENERAL:
                    return completed
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
