"""The GraphQL schema, assembled from each domain's queries and mutations.

``build_schema`` is called once per app with the limits in force; the module's ``schema`` (default
limits, development mode) is what ``hisgraph schema`` exports to schema.graphql.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any, Final, cast

import strawberry
from cachetools import LRUCache
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    MaxIntrospectionDepthRule,
    NoSchemaIntrospectionCustomRule,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql import (
    ExecutionResult as GraphQLExecutionResult,
)
from graphql.validation.rules import overlapping_fields_can_be_merged
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from .errors import log_errors, should_mask
from .execution import LeafFastExecutionContext, is_awaitable
from .hospitals.queries import HospitalQueries
from .identity.queries import IdentityQueries
from .limits import GraphQLLimits, limit_rules
from .mutations import MUTATIONS
from .operators.queries import OperatorQueries
from .patients.queries import PatientQueries
from .payments.queries import PaymentQueries
from .scalars import SCALARS


@strawberry.type(
    description=(
        "The entry points of the graph: the region's hospitals (departments, schedules, catalogues), a patient by "
        "medical card number (就诊卡号) and everything about them across hospitals, the signed-in account, and "
        "the operators' statistics and reconciliation views. Times are yyyy-MM-dd HH:mm:ss and days yyyy-MM-dd "
        "unless a field says otherwise."
    )
)
class Query(HospitalQueries, PatientQueries, IdentityQueries, PaymentQueries, OperatorQueries):
    """The Query root: each domain's query fields, merged (as merge_types would, with a description)."""


MUTATION_DESCRIPTION = (
    "Writes: signing in and proving cards, and the writes to a hospital that move no money (triage, examination "
    "appointments, caregiver passes, education signatures, consultation records). A refusal is a typed result "
    "carrying the spec's code, not an error."
)


def _mutation_root() -> type | None:
    # strawberry.type sets __strawberry_definition__ on the class at run time; the type checker sees plain classes.
    with_fields = tuple(m for m in MUTATIONS if m.__strawberry_definition__.fields)  # type: ignore[attr-defined]
    if not with_fields:
        return None
    # merge_types cannot carry a description; this is what it builds, with one.
    return strawberry.type(type("Mutation", with_fields, {}), description=MUTATION_DESCRIPTION)


SUGGESTION: Final = re.compile(r"\s*Did you mean [^?]*\?")
"""graphql-core's suggestion sentences ("Did you mean 'hospitalId'?"), which map the schema."""


# graphql-core's overlapping-fields check (OverlappingFieldsCanBeMerged) stops at a complexity budget
# of 500,000 comparisons, which a 5,000-token document reaches only after a second of CPU. A tenth of
# it refuses such documents in tens of milliseconds and leaves ample room: the sample operations of
# tests/graph/operations use a few hundred.
overlapping_fields_can_be_merged.MAX_COMPLEXITY_BUDGET = 50_000


CACHED_DOCUMENT_CHARS: Final = 8_192
"""Operation texts up to this long are parsed and validated once (shared LRUs of ``CACHED_DOCUMENTS``), longer
ones each time they come. A parsed document holds up to ~70 times its text (a dense 27 KB text parses to 1.9 MB),
so whatever texts clients send, the caches hold at most ~70 MB per worker (issue 13 item 4: 512 cached 27 KB
texts held a gigabyte); the mini-program's and the console's operations are 0.3-4 KB."""
CACHED_DOCUMENTS: Final = 128


def _cacheable(query: str | None) -> bool:
    return query is not None and len(query) <= CACHED_DOCUMENT_CHARS


class BoundedParserCache(ParserCache):
    """Strawberry's ParserCache (a shared LRU) for texts of at most ``CACHED_DOCUMENT_CHARS`` only: a longer one is
    parsed by strawberry itself, every time, and nothing of it is kept."""

    def __init__(self) -> None:
        super().__init__(maxsize=CACHED_DOCUMENTS)

    def on_parse(self) -> Iterator[None]:
        if _cacheable(self.execution_context.query):
            yield from super().on_parse()
        else:
            yield


def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    precheck: tuple[type[ASTValidationRule], ...],
    hide_suggestions: bool,
) -> list[GraphQLError]:
    # Our limits are linear in the document: a document over one of them is refused by them alone,
    # before graphql-core's rules (the costly ones) spend any time on it.
    refused = validate(schema, document, precheck, hide_suggestions=hide_suggestions)
    if refused:
        return refused
    return validate(
        schema,
        document,
        (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
        hide_suggestions=hide_suggestions,
    )


Rules = tuple[type[ASTValidationRule], ...]


class ValidationCache:
    """What validating an operation text found, kept for the last ``CACHED_DOCUMENTS`` texts (shared LRU).

    Keyed by the text, not by its parsed document: a document's hash walks its whole tree (graphql-core's nodes
    hash their fields), on every request; a text's is one pass over a string. The same text parses to the same
    document under one schema's parse options, so it validates the same. The schema hashes by identity."""

    def __init__(self, maxsize: int) -> None:
        self._found: LRUCache[tuple[GraphQLSchema, Rules, Rules, bool, str], list[GraphQLError]] = LRUCache(maxsize)
        self.hits = 0
        self.misses = 0

    def __call__(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        rules: Rules,
        precheck: Rules,
        hide_suggestions: bool,
    ) -> list[GraphQLError]:
        key = (schema, rules, precheck, hide_suggestions, query)
        errors = self._found.get(key)
        if errors is None:
            self.misses += 1
            errors = self._found[key] = _validate(schema, document, rules, precheck, hide_suggestions)
        else:
            self.hits += 1
        return errors


validated = ValidationCache(CACHED_DOCUMENTS)


class CachedValidation(SchemaExtension):
    """Strawberry's ValidationCache, plus graphql-core's ``hide_suggestions`` in production.

    Parsing and validating the same operation text on every request costs milliseconds; the
    mini-program sends a handful of fixed operations, so validation is cached (bounded LRU, shared).
    """

    def __init__(self, *, hide_suggestions: bool, precheck: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__()
        self._hide_suggestions = hide_suggestions
        self._precheck = precheck

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        query = context.query
        schema = context.schema._schema
        rules = context.validation_rules
        if query is not None and _cacheable(query):
            errors = validated(schema, query, context.graphql_document, rules, self._precheck, self._hide_suggestions)
        else:
            errors = _validate(schema, context.graphql_document, rules, self._precheck, self._hide_suggestions)
        context.pre_execution_errors = list(errors)
        yield


def _coerce_error(error: Exception) -> GraphQLError:
    return error if isinstance(error, GraphQLError) else GraphQLError(str(error), original_error=error)


def _close(hooks: list[Generator[None, None, None]], error: BaseException | None) -> None:
    """Ends the observers' hooks, last first, as strawberry's exit stack ends them: ``error`` thrown into each."""
    for hook in reversed(hooks):
        try:
            if error is None:
                next(hook)
            else:
                hook.throw(error)
        except StopIteration:
            pass
        except BaseException as raised:
            if raised is not error:
                raise


MASKED: Final = "Unexpected error."
"""What a client reads, in production, in place of an error that is not meant for it (``should_mask``)."""


class QuickMaskErrors(MaskErrors):
    """Strawberry's MaskErrors, with its test for a result carrying errors made plainly: ``isinstance`` against
    its runtime Protocol of one attribute (``errors``) cost about 11 us on every request; it comes to this."""

    def _process_result(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]


Observer = Callable[[], SchemaExtension]
"""Makes, for one operation, an extension that wraps it whole (``on_operation``): metrics, traces."""

_DIRECT_TYPES: Final = frozenset({"query", "mutation"})
"""Operation types run directly; a subscription (there is none in this schema) goes strawberry's way."""
_OPERATION_HOOKS: Final = ("on_execute", "on_parse", "on_validate", "resolve", "get_results", "on_stream_result")


def _operation_only(observer: Observer) -> bool:
    """Whether the observer's extension only wraps the operation, with a plain generator: what the direct path
    (``Schema._execute_known``) runs."""
    kind = type(observer())
    return inspect.isgeneratorfunction(kind.on_operation) and all(
        getattr(kind, hook, None) is getattr(SchemaExtension, hook, None) for hook in _OPERATION_HOOKS
    )


class Schema(strawberry.Schema):
    """Strawberry's schema with our limits applied to every operation, and our error logging.

    An operation whose text parses and validates (both cached and shared, so the mini-program's and the console's
    operations are each parsed and validated once) runs directly (``_execute_known``): Strawberry's per-operation
    machinery (an extension runner, four hook managers, each extension asked for each hook: ~40 us an operation,
    three times graphql-core's execution of a small query) is left out, and the same steps are done in the same
    order: the observers around the operation, graphql-core's execution with our executor, the errors logged
    (``process_errors``), then masked in production. Anything else (a text that does not parse or validate, a long
    one, an unknown operation name, a subscription, an operation type not allowed here) goes Strawberry's way,
    which reports it as it always has."""

    def __init__(
        self,
        *,
        limits: GraphQLLimits,
        limits_rules: tuple[type[ASTValidationRule], ...],
        production: bool,
        observers: Sequence[Observer] = (),
        **kwargs: Any,
    ) -> None:
        # One tuple for the schema's lifetime: the validation cache is keyed by it.
        rules: tuple[type[ASTValidationRule], ...] = (*specified_rules, MaxIntrospectionDepthRule, *limits_rules)
        if production:
            rules = (*rules, NoSchemaIntrospectionCustomRule)
        self.limits = limits
        self.production = production
        self._rules = rules
        self._precheck = limits_rules
        self._observers = tuple(observers)
        self._parse = BoundedParserCache().cached_parse_document  # the LRU BoundedParserCache reads (shared)
        # In production an unexpected error says only that: no internal message reaches a client.
        self._mask = QuickMaskErrors(should_mask_error=should_mask, error_message=MASKED) if production else None
        mask = self._mask
        kwargs["extensions"] = [
            *self._observers,
            BoundedParserCache,
            lambda: CachedValidation(hide_suggestions=production, precheck=limits_rules),
            *([lambda: QuickMaskErrors(should_mask_error=should_mask, error_message=MASKED)] if mask else []),
        ]
        super().__init__(**kwargs)
        self._direct = (
            all(_operation_only(observer) for observer in self._observers)
            and not self.directives
            and not self.config.enable_experimental_incremental_execution
        )

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        allowed = DEFAULT_ALLOWED_OPERATION_TYPES if allowed_operation_types is None else allowed_operation_types
        document = self._known_document(query, operation_name, allowed)
        if document is None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        context = self._create_execution_context(
            query=query,
            allowed_operation_types=allowed,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
        context.graphql_document = document
        context.pre_execution_errors = []  # validated, as CachedValidation leaves it
        return await self._execute_known(context, operation_extensions)

    def _known_document(
        self, query: str | None, operation_name: str | None, allowed: Iterable[OperationType]
    ) -> DocumentNode | None:
        """The parsed document when the operation can run directly: its text parses (cached), names one operation
        of an allowed type, and validated without errors (cached); else None."""
        if not self._direct or query is None or not _cacheable(query):
            return None
        try:
            document: DocumentNode = self._parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation.value not in _DIRECT_TYPES:
            return None
        if OperationType(operation.operation.value) not in allowed:
            return None
        if validated(self._schema, query, document, self._rules, self._precheck, self.production):
            return None
        return document

    async def _execute_known(
        self, context: ExecutionContext, operation_extensions: dict[str, Any] | None
    ) -> ExecutionResult:
        """Strawberry's ``execute`` for a known document, its extensions' steps done in place (see the class)."""
        try:
            result = await self._observed(context, operation_extensions)
        except Exception as exc:  # an observer's own failure, starting or ending: an error, as strawberry answers it
            result = GraphQLExecutionResult(data=None, errors=[_coerce_error(exc)])
            self._report(context, result)
        return ExecutionResult(data=result.data, errors=result.errors, extensions={})

    async def _observed(
        self, context: ExecutionContext, operation_extensions: dict[str, Any] | None
    ) -> GraphQLExecutionResult:
        """The execution inside the observers' ``on_operation`` hooks, started first to last and ended last first
        (an exception thrown into each), as strawberry's exit stack runs them."""
        hooks: list[Generator[None, None, None]] = []
        try:
            for observer in self._observers:
                extension = observer()
                extension.execution_context = context
                hook = cast(Generator[None, None, None], extension.on_operation())  # a generator: _operation_only
                next(hook)
                hooks.append(hook)
            try:
                outcome = self._get_execute_function()(
                    self._schema,
                    context.graphql_document,
                    root_value=context.root_value,
                    middleware=None,
                    variable_values=context.variables,
                    operation_name=context.operation_name,
                    context_value=context.context,
                    is_awaitable=is_awaitable,  # resolvers/execution.py: per class, once
                    **execution_context_class_kwargs(self.execution_context_class),
                    **self._get_custom_context_kwargs(operation_extensions),
                )
                result: GraphQLExecutionResult = await outcome if inspect.isawaitable(outcome) else outcome
            except Exception as exc:  # graphql-core raising instead of answering: an error, as strawberry answers it
                result = GraphQLExecutionResult(data=None, errors=[_coerce_error(exc)])
            context.result = result
            self._report(context, result)
        except BaseException as exc:
            _close(hooks, exc)
            raise
        _close(hooks, None)
        return result

    def _report(self, context: ExecutionContext, result: GraphQLExecutionResult) -> None:
        """A result's errors logged (``process_errors``), then masked in production, as strawberry orders them. Here
        an error of strawberry's own making (an observer's, graphql-core raising) is masked as well."""
        if result.errors:
            context.pre_execution_errors = result.errors
            self._process_errors(result.errors, context)
            if self._mask is not None:
                self._mask._process_result(result)

    def _create_execution_context(self, *args: Any, **kwargs: Any) -> ExecutionContext:
        context = super()._create_execution_context(*args, **kwargs)
        context.validation_rules = self._rules
        context.parse_options = {"max_tokens": self.limits.max_tokens}
        return context

    def _get_custom_context_kwargs(
        self, operation_extensions: dict[str, Any] | None = None, *, sync: bool = False
    ) -> dict[str, Any]:
        kwargs = super()._get_custom_context_kwargs(operation_extensions, sync=sync)
        if self.production:
            kwargs["hide_suggestions"] = True  # enum values in variables, input fields (graphql-core)
        return kwargs

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors, execution_context)
        if self.production:
            # Belt and braces: whatever path produced it, no suggestion reaches a client in production.
            for error in errors:
                if "Did you mean" in error.message:
                    error.message = SUGGESTION.sub("", error.message)


def build_schema(
    *,
    limits: GraphQLLimits | None = None,
    production: bool = False,
    observers: Sequence[Callable[[], SchemaExtension]] = (),
) -> Schema:
    """The schema for one app. In production: no introspection and no suggestions of any kind.

    ``observers`` wrap every operation first (the gateway's metrics and traces, api/tracing.py).
    """
    limits = limits or GraphQLLimits()
    limits_rules = limit_rules(limits)  # made once: the validation cache is keyed by these classes
    return Schema(
        limits=limits,
        limits_rules=limits_rules,
        production=production,
        observers=observers,
        query=Query,
        mutation=_mutation_root(),
        execution_context_class=LeafFastExecutionContext,
        config=StrawberryConfig(
            scalar_map=SCALARS,
            disable_field_suggestions=production,
            batching_config={"max_operations": limits.max_operations_per_batch},
        ),
        # Parsing and validating the same operation text on every request costs milliseconds; the mini-program
        # sends a handful of fixed operations, so both are cached (bounded LRU, shared): Schema.__init__ sets the
        # extensions (the observers, the caches, error masking in production).
    )


schema = build_schema()


def sdl() -> str:
    """The schema as SDL, as exported to schema.graphql."""
    return schema.as_str() + "\n"
