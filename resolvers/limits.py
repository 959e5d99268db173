"""Abuse limits, checked before anything runs: query depth, aliases, tokens, batch size, fan-out cost.

The validation rules are classes built once at start-up from the limits in force. Strawberry's
per-request limiter extensions build new rule classes on every request, which defeats the
validation cache (measured at ~2.5 ms per operation); a rule tuple that never changes keeps it.
Tokens are counted by the parser itself (``max_tokens``), so a token bomb is refused before it
becomes a document. The fan-out cost (hospitals asked per request) depends on variables, so it is
charged at execution, before any hospital is called (``FanOutBudget``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)


@dataclass(frozen=True)
class GraphQLLimits:
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_operations_per_batch: int = 5
    max_hospitals_per_request: int = 100
    """The sum over every multi-hospital field of one request of the hospitals it asks."""


class LimitExceeded(GraphQLError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def _depth(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], seen: frozenset[str]
) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:  # cycles are another rule's business
                deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {name}))
    return deepest


def limit_rules(limits: GraphQLLimits) -> tuple[type[ASTValidationRule], ...]:
    """The depth and alias rules for these limits, as classes made once."""

    class DepthLimit(ASTValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            fragments = {
                f.name.value: f for f in self.context.document.definitions if isinstance(f, FragmentDefinitionNode)
            }
            depth = _depth(node.selection_set, fragments, frozenset())
            if depth > limits.max_depth:
                self.report_error(LimitExceeded(f"query depth {depth} exceeds {limits.max_depth}", "DEPTH_LIMIT"))

    class AliasLimit(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.aliases = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias is not None:
                self.aliases += 1
                if self.aliases == limits.max_aliases + 1:
                    self.report_error(LimitExceeded(f"more than {limits.max_aliases} aliases", "ALIAS_LIMIT"))

    return (DepthLimit, AliasLimit)
