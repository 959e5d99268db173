"""operator.reconciliationCheck: the daily three-way check through the graph."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import httpx

from services.payments.clock import CHINA_TIME
from store.orders import OrderState
from tests.conftest import DEMO_CARD, run_graphql, sign_in_operator

CHECK = """
query ($hospital: String!, $date: String!) {
  operator {
    reconciliationCheck(hospitalId: $hospital, date: $date) {
      hospitalId date clean ledgerTotal providerTotal hospitalError providerError
      mismatches { kind outTradeNo outRefundNo ledgerAmount providerAmount hospitalAmount detail }
      inFlight { outTradeNo }
      lines { outTradeNo ledgerState ledgerAmount providerAmount hospitalAmount inFlight }
    }
  }
}
"""


async def test_a_paid_and_notified_recharge_reconciles_and_others_are_refused(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    services = gateway._transport.app.state.services  # type: ignore[attr-defined]
    created = await services.payments.create_recharge_order(
        hospital_id="253", medical_card_number=DEMO_CARD, amount=Decimal("12.30")
    )
    number = created.order.out_trade_no
    await services.payments.record_payment(services.payment_provider.pay(number))
    for _ in range(100):  # the gateway's own outbox worker tells the hospital
        order = await services.payments.get(number)
        if order is not None and order.state is OrderState.NOTIFIED:
            break
        await asyncio.sleep(0.05)
    today = datetime.now(UTC).astimezone(CHINA_TIME).strftime("%Y-%m-%d")

    sign_in_operator(gateway, role="region")
    body = await run_graphql(gateway, CHECK, hospital="253", date=today)
    assert "errors" not in body, body
    check = body["data"]["operator"]["reconciliationCheck"]
    assert check["clean"], check["mismatches"]
    assert check["ledgerTotal"] == check["providerTotal"] == "12.30"
    assert {
        "outTradeNo": number,
        "ledgerState": "NOTIFIED",
        "ledgerAmount": "12.30",
        "providerAmount": "12.30",
        "hospitalAmount": "12.30",
        "inFlight": False,
    } in check["lines"]

    body = await run_graphql(gateway, CHECK, hospital="253", date="2025-13-01")
    assert body["errors"][0]["extensions"]["code"] == "20003"
    sign_in_operator(gateway, role="hospital", hospital_id="254")
    body = await run_graphql(gateway, CHECK, hospital="253", date=today)
    assert body["data"] == {"operator": {"reconciliationCheck": None}}  # that field alone (issue 15 item 13)
    assert body["errors"]
