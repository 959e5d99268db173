"""Abuse limits, checked before anything runs: depth, aliases, fields, costly fields, tokens, batch size.

The validation rules are classes built once at start-up from the limits in force. Strawberry's
per-request limiter extensions build new rule classes on every request, which defeats the
validation cache (measured at ~2.5 ms per operation); a rule tuple that never changes keeps it.
Tokens are counted by the parser itself (``max_tokens``), so a token bomb is refused before it
becomes a document.

Every rule here is linear in the document: graphql-core's visitor walks each definition once, a
rule records per definition (operation or fragment) what it found and where each fragment spread
sits, and the totals are resolved over the fragment graph with one memoised value per fragment.
A fragment spread a thousand times is never walked a thousand times (issue 10 item 8).

Introspection fields (``__schema``, ``__type`` and all beneath them) do not count toward depth, as
Strawberry's own limiter does, so standard clients load the schema (issue 12 item 1); introspection
is bounded by graphql-core's ``MaxIntrospectionDepthRule`` instead, and is off in production.

These rules are also run on their own before graphql-core's (resolvers/schema.py): a document over
a limit is refused without running the specified rules, whose overlapping-fields check is the
costly one; that check's own complexity budget is lowered there too.

The hospital calls a request may make are bounded where every call passes (his_clients.budget).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    ValidationContext,
    visit,
)
from graphql.language import Visitor


@dataclass(frozen=True)
class GraphQLLimits:
    max_depth: int = 12
    max_aliases: int = 30
    """Aliased fields one operation runs, counting a fragment's aliases once per spread of it."""
    max_fields: int = 500
    """Fields one operation selects, a fragment's counted once per spread of it (the sample operations of
    tests/graph/operations, each a whole domain's screen, select at most 165)."""
    max_tokens: int = 5_000
    max_operations_per_batch: int = 5
    max_hospitals_per_request: int = 100
    """The sum over every multi-hospital field of one request of the hospitals it asks."""
    max_his_calls_per_request: int = 200
    """Calls to hospitals one signed-in HTTP request may make in all (a batch shares one budget; see
    his_clients.budget). The sample operations of tests/graph/operations, each a whole domain's
    screen over the demo's five hospitals, make at most 144."""
    max_his_calls_anonymous: int = 50
    """The same for a request without a session: hospitals' reference data only."""
    persisted_queries: Literal["automatic", "allowlist", "off"] = "automatic"
    """Apollo's automatic persisted queries; ``allowlist`` accepts only the manifest's operations
    (api/persisted_queries.py); ``off`` refuses ``extensions.persistedQuery``."""
    persisted_manifest: str | None = None
    """The allowlist's manifest (Apollo's persisted-query manifest JSON); required in allowlist mode."""


COSTLY_MUTATIONS: Final = frozenset(
    {
        # Sessions: each runs a password check or a call to WeChat.
        "logInWithWeChat",
        "logInForDevelopment",
        "logInOperator",
        # Proving cards: each sends an SMS to a person's phone or checks its code.
        "startCardBinding",
        "confirmCardBinding",
        "createHealthCard",
        # Money: each creates a payment order, pays one, or creates a refund.
        "createOutpatientPayment",
        "createRechargePayment",
        "createDepositPayment",
        "createTodayRegistrationPayment",
        "createAppointmentPayment",
        "createPhysicalExamPayment",
        "createAdmissionPayment",
        "createLabAppointmentPayment",
        "createSelfOrderPayment",
        "createInsurancePayment",
        "createConsultationPayment",
        "createMedicalRecordPayment",
        "payInSandbox",
        "requestCardRefund",
        "cancelPaidBooking",
        # Operators: replaying a recorded shim call may replay a refund.
        "replayInboundCall",
    }
)
"""Mutation fields that may appear at most once per document, and at most once per HTTP batch
(issue 10 item 2): aliases and batches must not multiply SMS codes, password checks or payments.
The one list; tests/security/test_graphql.py holds it against the schema."""


class LimitExceeded(GraphQLError):
    def __init__(self, message: str, code: str, nodes: Any = None) -> None:
        super().__init__(message, nodes, extensions={"code": code})


@dataclass
class _Definition:
    """What one operation or fragment holds on its own, before its spreads are resolved."""

    depth: int = 0
    aliases: int = 0
    fields: int = 0
    spreads: list[tuple[str, int]] = field(default_factory=list)
    """(fragment name, field depth at the spread)."""


class _Shape:
    """Depth and aliases of each definition, resolved over the fragment graph once per fragment."""

    def __init__(self, fragments: dict[str, _Definition], *, alias_cap: int, field_cap: int = 1 << 30) -> None:
        self._fragments = fragments
        self._alias_cap = alias_cap
        self._field_cap = field_cap
        self._depth: dict[str, int] = {}
        self._aliases: dict[str, int] = {}
        self._fields: dict[str, int] = {}
        self.visits = 0
        """Fragments resolved: at most one per fragment definition (a test counts them)."""

    def _resolve(self, root: str) -> None:
        # Iterative post-order over the fragment graph: a chain of thousands of fragments cannot
        # exhaust the interpreter's stack. A cycle (reported by NoFragmentCyclesRule) counts as 0.
        in_progress: set[str] = set()
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            name, children_done = stack.pop()
            if name in self._depth:
                continue
            definition = self._fragments.get(name)
            if definition is None:  # unknown fragment: KnownFragmentNamesRule reports it
                self._depth[name], self._aliases[name], self._fields[name] = 0, 0, 0
                continue
            if not children_done:
                if name in in_progress:
                    continue
                in_progress.add(name)
                stack.append((name, True))
                stack.extend((child, False) for child, _ in definition.spreads if child not in self._depth)
                continue
            self.visits += 1
            in_progress.discard(name)
            self._depth[name], self._aliases[name], self._fields[name] = self._combine(definition)

    def _combine(self, definition: _Definition) -> tuple[int, int, int]:
        depth, aliases, fields = definition.depth, definition.aliases, definition.fields
        for child, at in definition.spreads:
            depth = max(depth, at + self._depth.get(child, 0))
            aliases = min(self._alias_cap, aliases + self._aliases.get(child, 0))
            fields = min(self._field_cap, fields + self._fields.get(child, 0))
        return depth, aliases, fields

    def of(self, definition: _Definition) -> tuple[int, int, int]:
        """(depth, aliases, fields) of an operation, its fragments included."""
        for child, _ in definition.spreads:
            if child not in self._depth:
                self._resolve(child)
        return self._combine(definition)


class _ShapeVisitor(Visitor):
    """Records each definition's own depth, aliases and spreads in one walk of the document."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: list[tuple[OperationDefinitionNode, _Definition]] = []
        self.fragments: dict[str, _Definition] = {}
        self._current = _Definition()
        self._depth = 0
        self._counted: list[bool] = []
        self._introspection = 0

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        self._current, self._depth = _Definition(), 0
        self.operations.append((node, self._current))

    def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
        self._current, self._depth = _Definition(), 0
        self.fragments.setdefault(node.name.value, self._current)

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if self._introspection or node.name.value.startswith("__"):
            self._introspection += 1  # introspection and everything under it is not counted
            self._counted.append(False)
            return
        self._counted.append(True)
        self._depth += 1
        self._current.depth = max(self._current.depth, self._depth)
        self._current.fields += 1
        if node.alias is not None:
            self._current.aliases += 1

    def leave_field(self, node: FieldNode, *_: Any) -> None:
        if self._counted.pop():
            self._depth -= 1
        else:
            self._introspection -= 1

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        if not self._introspection:
            self._current.spreads.append((node.name.value, self._depth))


def document_shape(
    document: DocumentNode, limits: GraphQLLimits
) -> list[tuple[OperationDefinitionNode, int, int, int]]:
    """(operation, depth, aliases, fields) for each operation of a document, in linear time."""
    visitor = _ShapeVisitor()
    visit(document, visitor)
    shape = _Shape(visitor.fragments, alias_cap=limits.max_aliases + 1, field_cap=limits.max_fields + 1)
    return [(node, *shape.of(definition)) for node, definition in visitor.operations]


def costly_fields(documents: Iterable[DocumentNode]) -> Counter[str]:
    """How often each costly mutation field appears in these documents (every operation, every fragment)."""
    found: Counter[str] = Counter()

    class Count(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.name.value in COSTLY_MUTATIONS:
                found[node.name.value] += 1

    for document in documents:
        visit(document, Count())
    return found


def repeated_costly_field(documents: Iterable[DocumentNode]) -> str | None:
    """A costly mutation field that appears more than once in these documents, or None."""
    repeated = sorted(name for name, count in costly_fields(documents).items() if count > 1)
    return repeated[0] if repeated else None


def limit_rules(limits: GraphQLLimits) -> tuple[type[ASTValidationRule], ...]:
    """The depth, alias and costly-field rules for these limits, as classes made once."""

    class ShapeLimit(ASTValidationRule):
        """Depth (introspection not counted), aliases and fields, per operation, linear in the document."""

        def leave_document(self, node: DocumentNode, *_: Any) -> None:
            for operation, depth, aliases, fields in document_shape(node, limits):
                if depth > limits.max_depth:
                    self.report_error(
                        LimitExceeded(f"query depth {depth} exceeds {limits.max_depth}", "DEPTH_LIMIT", operation)
                    )
                if aliases > limits.max_aliases:
                    self.report_error(
                        LimitExceeded(f"more than {limits.max_aliases} aliases", "ALIAS_LIMIT", operation)
                    )
                if fields > limits.max_fields:
                    self.report_error(LimitExceeded(f"more than {limits.max_fields} fields", "FIELD_LIMIT", operation))

    class CostlyFieldOnce(ASTValidationRule):
        """A costly mutation field appears at most once in a document, over all its operations."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._seen: Counter[str] = Counter()

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            name = node.name.value
            if name in COSTLY_MUTATIONS:
                self._seen[name] += 1
                if self._seen[name] == 2:
                    self.report_error(
                        LimitExceeded(f"{name} may appear only once per request", "COSTLY_FIELD_REPEATED", node)
                    )

    return (ShapeLimit, CostlyFieldOnce)
