"""Paid bookings that can be cancelled with a refund: physical exams (28.1.6 / 28.1.7).

The template answered these with the spec's example whatever the state, so a cancelled booking could be
cancelled again and a booking never existed. Here a booking is real: 28.1.6 creates it once per
tradeNo (约定: 业务接口必须符合幂等原则) and records the trade for reconciliation (14.2.2 finds it);
28.1.7 cancels a booking that exists, once, and refuses an unknown or someone else's id.

Bookings live in ``hospital.registrations`` under ``booking:<kind>:<id>`` (with the keys the registration
handlers read: card, date, cancelled), so a reset of the region forgets them with everything else.
The spec's 28.1.7 example cancels booking "2" of 张三's card: that booking exists from the start.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.catalog import entries_by_method
from simulator.data import examples
from simulator.data.model import Hospital, Trade
from simulator.envelope import AMOUNT_MISMATCH, NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext

PHYSICAL = "physical"
EXAMPLE_PHYSICAL_BOOKING = "2"
"""The id the spec's 28.1.7 example cancels."""


def _key(kind: str, booking_id: str) -> str:
    return f"booking:{kind}:{booking_id}"


def _bookings(hospital: Hospital, kind: str) -> dict[str, dict[str, Any]]:
    example = _key(kind, EXAMPLE_PHYSICAL_BOOKING)
    if kind == PHYSICAL and example not in hospital.registrations:
        hospital.registrations[example] = {
            "id": EXAMPLE_PHYSICAL_BOOKING,
            "card": examples.ZHANG_SAN.cards[0],
            "date": "",
            "cancelled": False,
            "trade_no": "",
        }
    return hospital.registrations


def _package_prices() -> dict[str, Decimal]:
    """28.1.1's packages and their acPrice, as the simulator lists them (the spec's example)."""
    listed = entries_by_method().get("hospital.interface.physical.getPackageList")
    rows = (listed.response_example or {}).get("data") if listed is not None else None
    return {str(row["packageId"]): Decimal(str(row["acPrice"])) for row in rows or []}


@handles("hospital.interface.physical.createTjPersonInfo")
def create_physical_booking(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    trade_no = ctx.body.text("tradeNo")

    def apply() -> Reply:
        prices = _package_prices()
        chosen = [str(p.get("id", "")) for p in ctx.body.get("packageIds") or [] if isinstance(p, dict)]
        known = [prices[p] for p in chosen if p in prices]
        paid = ctx.amount("acPrice")
        if known and len(known) == len(chosen) and sum(known, Decimal("0")) != paid:
            raise Rejected(AMOUNT_MISMATCH, f"实际支付金额{paid}与套餐价格不一致")
        booking_id = ctx.hospital.next_id("TJ")
        _bookings(ctx.hospital, PHYSICAL)[_key(PHYSICAL, booking_id)] = {
            "id": booking_id,
            "card": patient.card,
            "date": "",
            "cancelled": False,
            "trade_no": trade_no,
        }
        if trade_no and ctx.body.text("cflag") == "1":
            ctx.hospital.trades.append(
                Trade(
                    trade_no,
                    "",
                    paid,
                    ctx.now,
                    ctx.body.text("payType"),
                    "体检预约",
                    patient.name,
                    patient.card,
                    "other",
                )
            )
        return ok({"id": booking_id}, msg="")

    return ctx.once(trade_no, apply) if trade_no else apply()


@handles("hospital.interface.physical.cancelTjPersonInfo")
def cancel_physical_booking(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    booking_id = ctx.body.text("id")
    booking = _bookings(ctx.hospital, PHYSICAL).get(_key(PHYSICAL, booking_id))
    if booking is None or booking["card"] not in patient.cards:
        raise Rejected(NOT_FOUND, f"体检预约记录不存在: {booking_id}")

    def apply() -> Reply:
        booking["cancelled"] = True
        if booking["trade_no"]:
            paid = next((t for t in ctx.hospital.trades if t.trade_no == booking["trade_no"] and not t.refund_no), None)
            if paid is not None:
                refund_no = ctx.hospital.next_id("TT")
                ctx.hospital.trades.append(
                    Trade(
                        paid.trade_no,
                        refund_no,
                        -paid.amount,
                        ctx.now,
                        paid.pay_type,
                        "体检预约取消",
                        paid.name,
                        paid.card,
                        "other",
                    )
                )
        return ok("取消成功！", msg="")

    return ctx.once(f"cancel:{_key(PHYSICAL, booking_id)}", apply)
