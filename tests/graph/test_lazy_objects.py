"""Graph objects converted field by field when first read (resolvers/lazy.py): the same values as converting them
all at once, each converted once, none that is not read, and to GraphQL the type they stand for."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import strawberry

from his_clients.models.outpatient import PendingPayment
from resolvers.lazy import lazy_maker
from resolvers.patients.types import PendingPaymentItem, PendingPaymentsAtHospital, PrescriptionKind

REPLY = PendingPayment.model_validate(
    {
        "hospitalId": "253",
        "amount": "65.10",
        "isMedicalPat": "1",
        "discountAmount": "0.00",
        "detail": [
            {
                "id": "001",
                "item": " 阿莫西林胶囊 ",
                "itemAmount": "65.1",
                "price": "21.7",
                "quantity": 3,
                "unit": "盒",
                "doctor": "李医生",
                "presCode": "P001",
                "createTime": "2026-12-03 08:01:02",
                "preferentialAmount": "0",
                "presType": "1",
            }
        ],
    }
)


def test_every_field_reads_as_the_reply_converted() -> None:
    entry = PendingPaymentsAtHospital.from_reply("253", REPLY)
    assert isinstance(entry, PendingPaymentsAtHospital)
    assert (entry.hospital_id, entry.total_amount, entry.discount_amount) == ("253", Decimal("65.10"), Decimal(0))
    assert entry.medical_insurance_patient is True
    [item] = entry.items
    assert isinstance(item, PendingPaymentItem)
    assert dataclasses.asdict(item) == {
        "id": "001",
        "name": "阿莫西林胶囊",
        "amount": Decimal("65.1"),
        "unit_price": Decimal("21.7"),
        "quantity": "3",
        "unit": "盒",
        "doctor": "李医生",
        "created_at": dt.datetime(2026, 12, 3, 8, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        "prescription_number": "P001",
        "preferential_amount": Decimal("0"),
        "prescription_type": PrescriptionKind.CHINESE_MEDICINE,
    }
    assert item == PendingPaymentsAtHospital.from_reply("253", REPLY).items[0]  # dataclass equality holds


@strawberry.type
class Pair:
    left: str
    right: str

    @strawberry.field
    def both(self) -> str:
        return self.left + self.right


def test_a_field_is_converted_once_when_first_read_and_never_if_not_read() -> None:
    converted: list[str] = []

    def upper(source: dict[str, str]) -> str:
        converted.append("left")
        return source["left"].upper()

    def right(source: dict[str, str]) -> str:
        converted.append("right")
        return source["right"]

    make = lazy_maker(Pair, {"left": upper, "right": right})
    pair = make({"left": "a", "right": "b"})
    assert isinstance(pair, Pair)
    assert converted == []
    assert [pair.left, pair.left] == ["A", "A"]
    assert converted == ["left"]


def test_through_graphql_the_object_is_the_type_it_stands_for() -> None:
    make = lazy_maker(Pair, {"left": lambda source: source[0], "right": lambda source: source[1]})

    @strawberry.type
    class Query:
        @strawberry.field
        def pairs(self) -> list[Pair]:
            return [make(("a", "b")), make(("c", "d"))]

    result = strawberry.Schema(query=Query).execute_sync("{ pairs { left both __typename } }")
    assert result.errors is None
    assert result.data == {
        "pairs": [{"left": "a", "both": "ab", "__typename": "Pair"}, {"left": "c", "both": "cd", "__typename": "Pair"}]
    }


@pytest.mark.parametrize(
    ("converters", "said"),
    [({"left": str}, "['right'] missing"), ({"left": str, "right": str, "both": str}, "['both'] not fields")],
)
def test_converters_must_name_exactly_the_fields(converters: dict[str, Any], said: str) -> None:
    with pytest.raises(TypeError, match=said.replace("[", r"\[").replace("]", r"\]")):
        lazy_maker(Pair, converters)
