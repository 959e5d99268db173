"""Repo-wide rule: the GraphQL contract describes itself where clients read it (introspection, GraphiQL, SDL).

Every type, field, argument and enum value carries a description: a front-end developer who has never read
the spec learns from the schema what each thing is, which spec section it comes from and how its times and
dates are written.
"""

from __future__ import annotations

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from resolvers.schema import schema

BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def undescribed() -> list[str]:
    """Every part of the schema without a description, named as a client would look for it."""
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not graphql_type.description:
            missing.append(f"type {name}")
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not argument.description:
                        missing.append(f"{name}.{field_name}({argument_name})")
        if isinstance(graphql_type, GraphQLEnumType):
            missing.extend(
                f"{name}.{value}" for value, value_def in graphql_type.values.items() if not value_def.description
            )
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    assert undescribed() == []
