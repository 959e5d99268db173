"""The GraphQL schema, assembled from each domain's queries."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from .errors import log_errors
from .hospitals.queries import HospitalQueries
from .mutations import MUTATIONS
from .operators.queries import OperatorQueries
from .patients.queries import PatientQueries
from .scalars import SCALARS

Query = merge_types("Query", (HospitalQueries, PatientQueries, OperatorQueries))


def _mutation_root() -> type | None:
    with_fields = tuple(m for m in MUTATIONS if m.__strawberry_definition__.fields)  # type: ignore[attr-defined]
    return merge_types("Mutation", with_fields) if with_fields else None


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors, execution_context)


# Parsing and validating the same operation text again on every request costs milliseconds; the
# mini-program sends a handful of fixed operations, so both are cached (bounded LRU, shared).
schema = Schema(
    query=Query,
    mutation=_mutation_root(),
    config=StrawberryConfig(scalar_map=SCALARS),
    extensions=[lambda: ParserCache(maxsize=512), lambda: ValidationCache(maxsize=512)],
)


def sdl() -> str:
    """The schema as SDL, as exported to schema.graphql."""
    return schema.as_str() + "\n"
