"""How GraphQL errors are logged: hospitals' failures are expected, so briefly; our own bugs in full."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from his_clients.errors import HisError

log = logging.getLogger("hisgraph.graphql")


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    for error in errors:
        original = error.original_error
        if isinstance(original, HisError):
            log.warning("hospital failed: %s", original.code, extra=original.extensions)
        elif original is None or isinstance(original, ValueError):
            log.info("refused: %s", error.message)
        else:
            StrawberryLogger.error(error, execution_context)


def is_expected(error: GraphQLError) -> bool:
    """Errors whose message is meant for the caller: a hospital's own refusal (its code and message),
    our refusals that carry a code (limits, access, unknown hospitals), and GraphQL's own
    validation errors. Anything else is a bug of ours and is masked in production."""
    original = error.original_error
    if original is None:
        return True
    return isinstance(original, HisError) or isinstance(getattr(original, "extensions", None), dict)


def should_mask(error: GraphQLError) -> bool:
    return not is_expected(error)
