"""14.1.x amounts are two-decimal JSON numbers on the wire: ``50.10``, not ``50.1`` nor ``"50.10"``
(issue 11 item 12). Read as raw bytes: a parsed float cannot tell the difference."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from api.shims.envelope import JsonEnvelope
from store.inbound import InboundCall
from tests.api.paid_orders import HOSPITAL, services_of
from tests.api.paid_orders import shim_gateway as shim_gateway
from tests.api.test_shims_reconciliation import BY_REFUND_NO, QUERY, RECORD, Ledger, window
from tests.api.test_shims_reconciliation import ledger as ledger
from tests.store.conftest import database_factory as database_factory
from tests.store.conftest import db as db
from tests.store.conftest import migrated_database as migrated_database

AMOUNT = re.compile(rb'"amount":([^,}\]]*)')
TWO_PLACES = re.compile(rb"-?\d+\.\d{2}")


async def raw_amounts(client: httpx.AsyncClient, path: str, body: dict[str, object]) -> list[bytes]:
    response = await client.post(path, json=body)
    assert response.status_code == 200
    amounts = AMOUNT.findall(response.content)
    assert amounts, response.content[:300]
    return amounts


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("23.5"), b"23.50"), (Decimal("-0.01"), b"-0.01"), (Decimal(9), b"9.00"), (Decimal("0.0125"), b"0.0125")],
)
def test_the_envelope_writes_a_decimal_as_a_two_place_number(value: Decimal, text: bytes) -> None:
    """issue 11 item 12: a Decimal is number text with (at least) two places; everything else as json.dumps."""
    body = JsonEnvelope({"success": True, "msg": "成功", "data": [{"amount": value, "n": 1, "f": None}]}).body
    assert body == b'{"success":true,"msg":"\xe6\x88\x90\xe5\x8a\x9f","data":[{"amount":' + text + b',"n":1,"f":null}]}'


async def test_14_1_1_amounts_have_two_decimal_places(shim_gateway: httpx.AsyncClient, ledger: Ledger) -> None:
    """issue 11 item 12: 14.1.1 writes the 50.10 recharge as ``50.10`` and every line's amount with two places."""
    amounts = await raw_amounts(shim_gateway, QUERY, window())
    assert b"50.10" in amounts
    assert all(TWO_PLACES.fullmatch(amount) for amount in amounts), amounts


async def test_14_1_2_and_14_1_3_amounts_have_two_decimal_places(
    shim_gateway: httpx.AsyncClient, ledger: Ledger
) -> None:
    """issue 11 item 12: the refund by the hospital's refund number (14.1.2, negative) and the payment record
    (14.1.3) answer two-place numbers; the inbound ledger keeps the 14.1.3 reply, amount exact."""
    refund = await raw_amounts(
        shim_gateway, BY_REFUND_NO, {"hospitalId": HOSPITAL, "hospitalRefundNo": ledger.his_refund_no}
    )
    assert len(refund) == 1
    assert TWO_PLACES.fullmatch(refund[0])
    assert refund[0].startswith(b"-")
    assert await raw_amounts(shim_gateway, RECORD, {"hospitalId": HOSPITAL, "outTradeNo": ledger.recharge}) == [
        b"50.10"
    ]
    async with services_of(shim_gateway).db.session() as session:
        recorded = (await session.execute(select(InboundCall).where(InboundCall.path == RECORD))).scalars().one()
    assert recorded.reply["data"]["amount"] == "50.10"
