"""QuickMaskErrors (resolvers/schema.py) masks as Strawberry's MaskErrors does, without its Protocol check."""

from __future__ import annotations

import hashlib
import inspect

import strawberry
from strawberry.extensions.mask_errors import MaskErrors, _ResultWithErrors

from resolvers.schema import QuickMaskErrors

STRAWBERRYS_TEST_SHA256 = "597e666116155e41a198f519ff7df14afa316b6549e99011a711f18dd2c7db54"
"""Strawberry's MaskErrors._process_result and the Protocol it tests against, as QuickMaskErrors restates them."""


@strawberry.type
class Query:
    @strawberry.field
    def fine(self) -> str:
        return "fine"

    @strawberry.field
    def broken(self) -> str | None:
        raise RuntimeError("internal detail: db at 10.0.0.7")


def run(query: str) -> strawberry.types.ExecutionResult:
    schema = strawberry.Schema(query=Query, extensions=[lambda: QuickMaskErrors(error_message="Unexpected error.")])
    return schema.execute_sync(query)


def test_errors_are_masked_and_a_clean_result_is_left_alone() -> None:
    masked = run("{ fine broken }")
    assert masked.data == {"fine": "fine", "broken": None}
    assert [error.message for error in masked.errors or []] == ["Unexpected error."]
    clean = run("{ fine }")
    assert clean.errors is None
    assert clean.data == {"fine": "fine"}


def test_the_restated_check_is_strawberrys_own() -> None:
    """Another Strawberry (a new lock) fails here until QuickMaskErrors is compared with it again."""
    source = inspect.getsource(MaskErrors._process_result) + inspect.getsource(_ResultWithErrors)
    assert hashlib.sha256(source.encode()).hexdigest() == STRAWBERRYS_TEST_SHA256
