"""What a hospital tells us about one of our orders after it was made (20.2.1 and 25.2.2), recorded on the order.

- 20.2.1 更新挂号状态: a today's registration (20.1.7) was missed (3 已过号), cancelled at the hospital
  (4 已取消) or seen (5 已就诊). The order is found by the todayRegisterId we sent in 20.1.7.
- 25.2.2 修改检验检查登记状态/药品取药状态: one charge of an online-consultation order (25.1.1) was
  registered or its drugs handed out (1), or that was undone (2 取消登记/已退药).

Neither moves money nor changes the order's state (store.orders.ALLOWED_TRANSITIONS): a registration the
hospital cancelled is refunded through 20.2.2, which the hospital calls on its own. What the hospital said
is kept on the order (services.payments.hospital_status: the latest word per item, the registration or
each charge), written in ONE transaction with the call's row in the inbound ledger. The same word twice changes
nothing but is still a call in the ledger; a different word replaces the latest (the ledger keeps them all).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from services.payments.hospital_status import (
    CHARGE_STATUSES,
    REGISTER_STATES,
    REGISTRATION_ITEM,
    charge_item,
    note_hospital_status,
)
from services.payments.quotes import ConsultationQuote
from services.payments.sagas.consultation import ConsultationFlow
from services.payments.sagas.registration_today import TodayRegistrationFlow
from store.db import Database
from store.inbound import InboundLedger
from store.orders import Order, OrderRepository

from .ledger import ShimCall, mask_json

FindOrder = Callable[[AsyncSession], Awaitable[Order | None]]
NoteOf = Callable[[Order], tuple[str, dict[str, Any]] | None]


class Recorded(StrEnum):
    """How a hospital's word about an order ended."""

    CHANGED = "changed"
    UNCHANGED = "unchanged"
    """The order already stood so: nothing changed but the ledger row."""
    NO_ORDER = "no_order"
    """No such order of this hospital (or not paid, or not the card named)."""
    NO_CHARGE = "no_charge"
    """The order has no such charge (25.2.2)."""


async def _record(
    db: Database, call: ShimCall, reply: dict[str, Any], find: FindOrder, note_of: NoteOf
) -> tuple[Recorded, str | None]:
    """Find the order, note the word, record the call: one transaction, retried once on a concurrent write."""
    for attempt in range(2):
        try:
            async with db.session() as session:
                order = await find(session)
                if order is None:
                    return Recorded.NO_ORDER, None
                noted = note_of(order)
                if noted is None:
                    return Recorded.NO_CHARGE, order.out_trade_no
                item, note = noted
                changed = note_hospital_status(order, item, note)
                if changed:
                    order.updated_at = call.received_at
                await InboundLedger(session).add(
                    section=call.section,
                    path=call.path,
                    hospital_id=call.hospital_id,
                    body=mask_json(call.body),
                    reply_code=str(reply.get("code", "")),
                    reply=mask_json({**reply, "outTradeNo": order.out_trade_no}),
                    received_at=call.received_at,
                )
                return (Recorded.CHANGED if changed else Recorded.UNCHANGED), order.out_trade_no
        except StaleDataError:
            # The worker wrote the order meanwhile (its version moved): read it again.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def record_registration_state(
    db: Database, call: ShimCall, *, today_register_id: str, register_state: str, reply: dict[str, Any]
) -> tuple[Recorded, str | None]:
    """20.2.1: note the registration's state on the today's-registration order with this todayRegisterId.

    Returns the outcome and the order's outTradeNo (None when there is no such order of the caller's).
    """
    assert call.hospital_id is not None
    assert register_state in REGISTER_STATES

    async def find(session: AsyncSession) -> Order | None:
        query = (
            select(Order.out_trade_no)
            .where(
                Order.hospital_id == call.hospital_id,
                Order.flow == TodayRegistrationFlow.name,
                Order.quote["today_register_id"].as_string() == today_register_id,
            )
            .limit(1)
        )
        out_trade_no = (await session.execute(query)).scalar_one_or_none()
        if out_trade_no is None:
            return None
        return await OrderRepository(session).get(out_trade_no, for_update=True)

    def note_of(order: Order) -> tuple[str, dict[str, Any]] | None:
        return REGISTRATION_ITEM, {
            "section": call.section,
            "state": register_state,
            "description": REGISTER_STATES[register_state],
            "at": call.received_at.isoformat(),
        }

    return await _record(db, call, reply, find, note_of)


async def record_charge_status(
    db: Database,
    call: ShimCall,
    *,
    medical_card_number: str,
    trade_no: str,
    charge_id: str,
    charge_type: str,
    status: str,
    reply: dict[str, Any],
) -> tuple[Recorded, str | None]:
    """25.2.2: note one charge's registration / dispensing status on the paid consultation order ``trade_no``.

    The order must be the caller's, paid, and for the card named; the charge must be one of its charges.
    """
    assert call.hospital_id is not None
    assert status in CHARGE_STATUSES

    async def find(session: AsyncSession) -> Order | None:
        order = await OrderRepository(session).get(trade_no, for_update=True)
        if (
            order is None
            or order.hospital_id != call.hospital_id
            or order.flow != ConsultationFlow.name
            or order.medical_card_number != medical_card_number
            or order.paid_at is None
        ):
            return None
        return order

    def note_of(order: Order) -> tuple[str, dict[str, Any]] | None:
        charges = ConsultationQuote.of(order).charges
        wanted = (charge_type.strip(), charge_id.strip())
        if not any((str(c.charge_type), c.charge_id.strip()) == wanted for c in charges):
            return None
        return charge_item(charge_type, charge_id), {
            "section": call.section,
            "state": status,
            "description": CHARGE_STATUSES[status],
            "at": call.received_at.isoformat(),
            "charge_id": charge_id.strip(),
            "charge_type": charge_type.strip(),
        }

    return await _record(db, call, reply, find, note_of)
