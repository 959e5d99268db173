"""Scalars shared by every domain, registered with the schema through ``SCALARS``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NewType

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

from his_clients.models.base import render_money

Money = NewType("Money", Decimal)
"""An amount in yuan. Resolvers return ``Money(Decimal(...))``; GraphQL sees a two-place string."""


def _parse_money(value: object) -> Money:
    """A client's amount. What is not one is GraphQL's validation error (a GraphQLError, as strawberry's own
    scalars raise), not an exception of ours: logged as a refusal and never masked as "Unexpected error."."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise GraphQLError('Money is written as a string such as "23.50"')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise GraphQLError(f'Value cannot represent Money: {str(value)[:40]!r}. Write it as "23.50".')
    return Money(amount)


SCALARS: dict[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description='An amount in yuan (元, RMB) as a decimal string with two places, e.g. "23.50". Never a float.',
        serialize=render_money,  # the wire's own rendering, called directly: once per amount of every reply
        parse_value=_parse_money,
    ),
}
