"""The contract's naming rules, held on the SDL the clients read (issue 12 items 3, 4 and 8).

Each rule below is decided once, in docs/glossary.md; this test keeps the schema to it, so a new field that
reintroduces a spec wire name (`idCard`, `deptCode`), a noun-first mutation, a second refusal type or a free
string for a day fails here, before any client is written against it.
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)

from resolvers.schema import schema

SDL_TYPES = schema._schema.type_map

VERBS = frozenset(
    {
        "acknowledge", "add", "book", "cancel", "change", "check", "confirm", "create", "delete", "disable",
        "log", "pay", "replay", "request", "reset", "resolve", "run", "sign", "start", "sync", "triage", "unbind",
        "update", "recheck",
    }
)  # fmt: skip
"""The first word of every mutation: what it does, then to what (bookExamAppointment, never examAppointmentBook)."""

WIRE_NAMES = {
    "idCard": "idCardNumber",
    "telNo": "phone",
    "deptCode": "departmentId",
    "amPm": "halfDay",
    "regClassId": "clinicTypeId",
    "gender": "sex",
    "startTime": "from",
    "endTime": "to",
    "startDate": "from",
    "endDate": "to",
    "beginDate": "from",
    "position": "waitingAhead",
}
"""The spec's wire names and the graph's name for each: the wire name stays in his_clients/models and the shims."""


def _named(graphql_type: object) -> GraphQLNamedType:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    assert isinstance(graphql_type, GraphQLNamedType)
    return graphql_type


def _user_types() -> dict[str, GraphQLNamedType]:
    return {name: t for name, t in SDL_TYPES.items() if not name.startswith("__")}


def _every_field_and_argument() -> list[tuple[str, str, object]]:
    """(where, name, type) for every field, input field and argument of the schema."""
    found: list[tuple[str, str, object]] = []
    for type_name, graphql_type in _user_types().items():
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                found.append((f"{type_name}.{field_name}", field_name, field.type))
                for argument_name, argument in getattr(field, "args", {}).items():
                    found.append((f"{type_name}.{field_name}({argument_name})", argument_name, argument.type))
    return found


def test_mutations_are_verb_first() -> None:
    mutation = SDL_TYPES["Mutation"]
    assert isinstance(mutation, GraphQLObjectType)
    noun_first = [name for name in mutation.fields if re.match(r"[a-z]+", name).group(0) not in VERBS]  # type: ignore[union-attr]
    assert noun_first == []


def test_the_spec_wire_names_stay_out_of_the_graph() -> None:
    wire = [f"{where} (use {WIRE_NAMES[name]})" for where, name, _ in _every_field_and_argument() if name in WIRE_NAMES]
    assert wire == []


def test_one_hospital_is_an_id_and_the_spec_list_a_string() -> None:
    wrong = []
    for where, name, graphql_type in _every_field_and_argument():
        if name != "hospitalId":
            continue
        if _named(graphql_type).name not in {"ID", "String"}:
            wrong.append(f"{where}: {graphql_type}")
    assert wrong == []


def test_per_hospital_entries_share_one_interface_and_one_naming_style() -> None:
    entry = SDL_TYPES["HospitalEntry"]
    assert isinstance(entry, GraphQLInterfaceType)
    wrong = []
    for name, graphql_type in _user_types().items():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        implements = entry in graphql_type.interfaces
        if name.endswith("AtHospital") and not implements:
            wrong.append(f"{name} does not implement HospitalEntry")
        if {"hospitalId", "hospital"} <= set(graphql_type.fields) and not implements:
            wrong.append(f"{name} has hospitalId and hospital but does not implement HospitalEntry")
    assert wrong == []


def test_one_refusal_type_in_every_result_union() -> None:
    refusal = SDL_TYPES["Refusal"]
    other_refusals = [name for name in _user_types() if name.endswith("Refusal") and name != "Refusal"]
    assert other_refusals == []
    assert isinstance(SDL_TYPES["RefusalCode"], GraphQLEnumType)
    mutation = SDL_TYPES["Mutation"]
    assert isinstance(mutation, GraphQLObjectType)
    wrong = []
    for name, field in mutation.fields.items():
        result = _named(field.type)
        if isinstance(result, GraphQLUnionType) and refusal not in result.types:
            wrong.append(f"{name}: {result.name} has no Refusal")
    assert wrong == []


def test_no_two_unions_are_the_same() -> None:
    seen: dict[frozenset[str], str] = {}
    twins = []
    for name, graphql_type in _user_types().items():
        if isinstance(graphql_type, GraphQLUnionType):
            members = frozenset(t.name for t in graphql_type.types)
            if members in seen:
                twins.append(f"{name} = {seen[members]}")
            seen[members] = name
    assert twins == []


def test_one_type_per_value_concept() -> None:
    """Sex is the Sex enum, a day a Date, an instant a DateTime: never a free String."""
    wrong = []
    for where, name, graphql_type in _every_field_and_argument():
        named = _named(graphql_type)
        if name == "sex" and named.name != "Sex":
            wrong.append(f"{where}: {named.name}, not Sex")
        if not isinstance(named, GraphQLScalarType):
            continue  # a list of things per day (byDate) is no value
        if (name in {"birthDate", "date", "from", "to"} or name.endswith("Date")) and named.name not in {
            "Date",
            "DateTime",
        }:
            wrong.append(f"{where}: {named.name}, not Date")
        if re.fullmatch(r"[a-z]+[A-Z]?[a-z]*At", name) and named.name != "DateTime":
            wrong.append(f"{where}: {named.name}, not DateTime")
    assert wrong == []
