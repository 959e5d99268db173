"""Each audit row is written in the same transaction as the action it records (issue 15 item 12).

Through the real app and a real SQLite store: while the audit table cannot be written (renamed away, as a broken
or full audit store would refuse), an operator's action fails as a whole: the parked order keeps its state and
version, the colleague stays enabled, and nothing is left half-done. Once the table is back, the same actions
succeed with exactly one row each.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select, text

from store.accounts import Operator
from store.audit import AuditEntry
from store.orders import OrderRepository
from tests.conftest import run_graphql
from tests.graph.test_operator_console import RESOLVE, console, listed, paid_order, park, services_of

__all__ = ["console"]

DISABLE = """mutation ($u: String!) { disableOperator(username: $u) {
  __typename ... on OperatorAccount { username disabled } } }"""
COLLEAGUE = "leaving.colleague"


async def audit_writable(client: httpx.AsyncClient, writable: bool) -> None:
    """Take the audit table away (writes to it then fail) or put it back."""
    names = ("audit_log_away", "audit_log") if writable else ("audit_log", "audit_log_away")
    async with services_of(client).db.session() as session:
        await session.execute(text(f"ALTER TABLE {names[0]} RENAME TO {names[1]}"))


async def audited(client: httpx.AsyncClient, action: str) -> list[AuditEntry]:
    async with services_of(client).db.session() as session:
        return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())


async def order_state(client: httpx.AsyncClient, out_trade_no: str) -> tuple[str, int]:
    async with services_of(client).db.session() as session:
        order = await OrderRepository(session).get(out_trade_no)
    assert order is not None
    return str(order.state), int(order.version)


async def colleague_disabled(client: httpx.AsyncClient) -> bool:
    async with services_of(client).db.session() as session:
        operator = await session.scalar(select(Operator).where(Operator.username == COLLEAGUE))
    assert operator is not None
    return operator.disabled_at is not None


def failed(body: dict[str, Any], field: str) -> bool:
    return bool(body.get("errors")) and (body.get("data") or {}).get(field) is None


async def test_an_action_whose_audit_row_cannot_be_written_is_not_done(console: httpx.AsyncClient) -> None:
    """issue 15 item 12: resolveParkedOrder and disableOperator write their audit row in the action's own
    transaction: with the audit table unwritable each fails whole (nothing changed, no row), and with it back
    each succeeds with exactly one row."""
    await services_of(console).operators.create(
        username=COLLEAGUE, password="a long pass phrase 1", role="hospital", hospital_id="254"
    )
    number = await paid_order(console)
    await park(console, number)
    [order] = (await listed(console, state="PARKED"))["orders"]
    before = await order_state(console, number)

    await audit_writable(console, False)
    try:
        refused = await run_graphql(
            console, RESOLVE, no=number, outcome="RETRY_NOTIFY", version=order["version"], note="asked again"
        )
        assert failed(refused, "resolveParkedOrder"), refused
        assert await order_state(console, number) == before  # still PARKED, same version
        disabling = await run_graphql(console, DISABLE, u=COLLEAGUE)
        assert failed(disabling, "disableOperator"), disabling
        assert await colleague_disabled(console) is False
    finally:
        await audit_writable(console, True)
    assert await audited(console, "parked-order-resolved") == []
    assert await audited(console, "operator-disabled") == []

    resolved = await run_graphql(
        console, RESOLVE, no=number, outcome="RETRY_NOTIFY", version=order["version"], note="asked again"
    )
    assert resolved["data"]["resolveParkedOrder"]["__typename"] == "ParkedOrderResolved", resolved
    assert (await order_state(console, number))[0] == "PAID"
    [row] = await audited(console, "parked-order-resolved")
    assert row.username == "test.region.all"
    assert number in (row.target or "")
    disabled = await run_graphql(console, DISABLE, u=COLLEAGUE)
    assert disabled["data"]["disableOperator"] == {
        "__typename": "OperatorAccount",
        "username": COLLEAGUE,
        "disabled": True,
    }
    assert await colleague_disabled(console) is True
    [row] = await audited(console, "operator-disabled")
    assert (row.username, row.target) == ("test.region.all", COLLEAGUE)
