"""Writes that move no money, and the per-hospital counts of 30.1.2, answered from the hospital's own data."""

from __future__ import annotations

from decimal import Decimal

from simulator.envelope import MISSING_PARAM, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money

ZERO = Decimal("0")


@handles("hospital.interface.appointment.register")
def register_exam_orders(ctx: CallContext) -> Reply:
    """24.1.8: every order asked is registered; the spec's example lists none, which would test nothing."""
    ctx.patient()
    orders = ctx.body.get("orderList")
    if not isinstance(orders, list) or not orders:
        raise Rejected(MISSING_PARAM, "缺少参数: orderList")
    registered = [str(order.get("orderId", "")).strip() for order in orders if isinstance(order, dict)]
    return ok({"successDetailIdList": [order_id for order_id in registered if order_id]})


@handles("hospital.interface.hospitalStatistics")
def hospital_statistics(ctx: CallContext) -> Reply:
    """30.1.2: one row per hospital asked, counted from its trades in the window (refunds not counted)."""
    start, end = ctx.window()
    rows = []
    for hospital in ctx.hospitals:
        trades = [t for t in hospital.trades if start <= t.time <= end and not t.refund_no]
        outpatient = [t for t in trades if t.category in ("outpatient", "recharge")]
        inpatient = [t for t in trades if t.category == "inpatient"]
        rows.append(
            {
                "hospitalId": hospital.hospital_id,
                "hospitalName": hospital.name,
                "outpatientTotalTrans": str(len(outpatient)),
                "outpatientTotalAmount": money(sum((t.amount for t in outpatient), ZERO)),
                "inpatientTotalTrans": str(len(inpatient)),
                "inpatientTotalAmount": money(sum((t.amount for t in inpatient), ZERO)),
                "regCardTrans": str(len({t.card for t in trades})),
                "appointmentNumber": str(len([t for t in trades if t.category == "registration"])),
            }
        )
    return ok(rows)
