"""parse(render(reply)) == reply for every reply model of the catalog."""

from __future__ import annotations

import types
from decimal import Decimal
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from his_clients.catalog import ALL_METHODS
from his_clients.models.base import HisReply

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6)


def _reply_models() -> list[type[HisReply]]:
    found: dict[str, type[HisReply]] = {}

    def visit(annotation: Any) -> None:
        key = f"{getattr(annotation, '__module__', '')}.{getattr(annotation, '__qualname__', '')}"
        if isinstance(annotation, type) and issubclass(annotation, HisReply) and key not in found:
            found[key] = annotation
            for f in annotation.model_fields.values():
                visit(f.annotation)
        for arg in get_args(annotation):
            visit(arg)

    for method in ALL_METHODS:
        visit(method.reply)
    return list(found.values())


def _value(annotation: Any) -> st.SearchStrategy[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _value(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = get_args(annotation)
        # Money is a union of two readings of Decimal (his_clients/models/base.py); an optional field adds None.
        inner = _value(next(a for a in args if a is not type(None)))
        return st.none() | inner if type(None) in args else inner
    if origin is list:
        return st.lists(_value(get_args(annotation)[0]), max_size=2)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _wire(annotation)
    strategies: dict[Any, st.SearchStrategy[Any]] = {
        str: TEXT,
        int: st.integers(-(10**6), 10**6),
        bool: st.booleans(),
        Decimal: st.decimals(-(10**6), 10**6, places=2).map(str),
    }
    return strategies[annotation]


def _wire(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    required = {f.alias or n: _value(f.annotation) for n, f in model.model_fields.items() if f.is_required()}
    optional = {f.alias or n: _value(f.annotation) for n, f in model.model_fields.items() if not f.is_required()}
    return st.fixed_dictionaries(required, optional=optional)


MODELS = _reply_models()


def test_the_walk_reaches_nested_models() -> None:
    names = {m.__name__ for m in MODELS}
    assert {"PendingPayment", "PendingPaymentItem", "PhysicalExamResult"} <= names
    assert len(MODELS) > 120


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_parse_render_round_trip(model: type[HisReply], data: st.DataObject) -> None:
    parsed = model.model_validate(data.draw(_wire(model)))
    assert model.model_validate(parsed.to_wire()) == parsed
