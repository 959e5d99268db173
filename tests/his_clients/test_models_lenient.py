"""Replies are read leniently: numbers as text, blanks, stray spaces and casing in keys."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from his_clients.models.inpatient import QUERY_INPATIENT_INFO
from his_clients.models.inpatient_records import INVALID_IN_PATS_INFO
from his_clients.models.outpatient import QUERY_WAIT_PAY, PendingPayment
from his_clients.models.registration_today import TODAY_REGISTER_COUNTS

ITEM = {
    "id": 1113,
    "item": "维生素B2",
    "itemAmount": 2.5,
    "price": "2.50",
    "quantity": 1,
    "unit": "瓶",
    "doctor": "李时珍",
    "createTime": "2019-01-01 10:22:03",
    "preferentialAmount": "0",
}


def test_numbers_and_text_are_interchangeable() -> None:
    bill = QUERY_WAIT_PAY.parse_reply({"amount": 23.5, "discountAmount": "0", "detail": [ITEM]})
    assert bill.amount == Decimal("23.5")
    assert bill.detail[0].id == "1113"
    assert bill.detail[0].item_amount == Decimal("2.50")
    assert bill.to_wire()["amount"] == "23.50"


def test_a_blank_amount_is_absent() -> None:
    receipt = QUERY_WAIT_PAY.parse_reply({"amount": "1", "discountAmount": "0", "detail": [], "hospitalId": ""})
    assert receipt.hospital_id == ""  # text keeps its blank
    with pytest.raises(ValidationError):
        QUERY_WAIT_PAY.parse_reply({"amount": "", "discountAmount": "0", "detail": []})  # required


def test_stray_spaces_and_case_in_keys() -> None:
    bill = PendingPayment.model_validate({" amount ": "3", "DiscountAmount": "0", "detail ": ITEM})
    assert bill.amount == Decimal(3)
    assert len(bill.detail) == 1  # a single object where a list was due


def test_idcard_spelt_either_way() -> None:
    entries = json.loads((Path(__file__).resolve().parents[2] / "spec" / "interfaces.json").read_text())
    (entry,) = [e for e in entries if e["section"] == "10.1.1"]
    reply = {k: v for k, v in entry["response_example"]["data"].items() if k != "idCard"}
    info = QUERY_INPATIENT_INFO.parse_reply({**reply, "idcard": "370102197907025236"})
    assert info.id_card == "370102197907025236"
    assert QUERY_INPATIENT_INFO.parse_reply({**reply, "idCard": "x", "idcard": None}).id_card == "x"


def test_table_and_example_names_both_read() -> None:
    assert INVALID_IN_PATS_INFO.parse_reply({"refundNo": "R1"}).refund_no == "R1"
    assert INVALID_IN_PATS_INFO.parse_reply({"refoundNo": "R2"}).refund_no == "R2"


def test_scalar_data() -> None:
    assert TODAY_REGISTER_COUNTS.parse_reply("2") == 2


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("23.5", Decimal("23.5")),
        (" 23.50 ", Decimal("23.50")),
        ("1,234.50", Decimal("1234.50")),
        ("¥23", Decimal("23")),
        ("23元", Decimal("23")),
        (" ¥ 23.00 元 ", Decimal("23.00")),
        (23, Decimal("23")),
        (2.5, Decimal("2.5")),
    ],
)
def test_amounts_as_hospitals_write_them(written: object, read: Decimal) -> None:
    """The plain-digits fast path and the lenient reading give the same amounts (issue 13 item 2)."""
    bill = QUERY_WAIT_PAY.parse_reply({"amount": "1", "discountAmount": written, "detail": []})
    assert bill.discount_amount == read
    assert str(bill.discount_amount) == str(read)
