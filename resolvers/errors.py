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
