"""Online medical insurance (chapter 5): the hospital's insurance orders, kept in ``Hospital.mi_orders``.

One order per set of pending bills (3.1.1 detail ids) of a card, keyed by its hisTradeId:

    5.1.1 createOrder  -> "0" pre-settled (预结算)      the same open order again for the same bills
    5.1.2 settle       -> "1" settled (医保结算)         idempotent on hisTradeId
    5.1.4 paySuccess   -> "paid": the bills are paid     once per outTradeNo (the self-pay part must match)
    5.1.3 cancelOrder  -> "cancelled" unless paid        ("0" for a paid order: that is a refund, not a cancel)
    5.1.5 queryUnfinishedOrders: the card's latest open ("0" or "1") order, else 10002
    5.1.6 queryOrderState: ``nonrefundable`` exactly when paySuccess applied this outTradeNo, else ``refundable``

The insurer pays a fixed share of each order (INSURED_SHARE), split between the pooled fund (统筹) and the
personal account (医保余额). The orders the spec's request examples name (EXAMPLE_ORDERS) are 张三's, made
long ago, on bills of their own, so that every example request succeeds without touching his pending bills.
Faults are injected as for every method (simulator.faults). Chapter 6's methods (6.2.x, deprecated) stay
answered from their examples (handlers/templated.py).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

from simulator.data.model import Hospital, Patient, Trade
from simulator.envelope import AMOUNT_MISMATCH, NO_PENDING_BILL, NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money, stamp

CENT: Final = Decimal("0.01")
INSURED_SHARE: Final = Decimal("0.6")
"""The part of an order the insurer settles (5.1.2 medAmount); the rest is the patient's self-pay part."""
PERSONAL_ACCOUNT_SHARE: Final = Decimal("0.4")
"""Of the insurer's part, what the personal account (医保余额) pays; the pooled fund (统筹) pays the rest."""
PRE_SETTLED, SETTLED, PAID, CANCELLED = "0", "1", "paid", "cancelled"
OPEN_STATES: Final = (PRE_SETTLED, SETTLED)
EXAMPLE_CARD: Final = "001000056254587"
EXAMPLE_ORDERS: Final = (  # hisTradeId, state, tradeAmount, medAmount (5.1.2, 5.1.3, 5.1.4, 5.1.6 examples)
    ("2532123412", PRE_SETTLED, Decimal("2.52"), Decimal("1.51")),
    ("221231253", PRE_SETTLED, Decimal("2.52"), Decimal("1.51")),
    ("144333", SETTLED, Decimal("150.00"), Decimal("30.00")),  # 5.1.4 pays 120, 30 of it from the card
    ("1212211", SETTLED, Decimal("2.52"), Decimal("1.51")),
)
EXAMPLES_MADE_AT: Final = datetime(2020, 1, 1, 0, 0, 0)


def _orders(hospital: Hospital) -> dict[str, dict[str, Any]]:
    """The hospital's insurance orders, the examples' included (made on first use after a reset)."""
    if EXAMPLE_ORDERS[0][0] not in hospital.mi_orders:
        for his_trade_id, state, trade, insured in EXAMPLE_ORDERS:
            hospital.mi_orders[his_trade_id] = {
                "his_trade_id": his_trade_id,
                "card": EXAMPLE_CARD,
                "detail_ids": [f"EX{his_trade_id}"],
                "trade": trade,
                "preferential": Decimal("0"),
                "med": insured,
                "state": state,
                "created": EXAMPLES_MADE_AT,
                "settled": EXAMPLES_MADE_AT if state == SETTLED else None,
                "out_trade_no": None,
            }
    return hospital.mi_orders


def _detail_ids(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def _open_orders(hospital: Hospital, patient: Patient) -> list[dict[str, Any]]:
    orders = [o for o in _orders(hospital).values() if o["card"] in patient.cards and o["state"] in OPEN_STATES]
    return sorted(orders, key=lambda o: (o["created"], o["his_trade_id"]))


def _pay_list(order: dict[str, Any]) -> list[dict[str, str]]:
    insured: Decimal = order["med"]
    personal = (insured * PERSONAL_ACCOUNT_SHARE).quantize(CENT, rounding=ROUND_DOWN)
    return [
        {"payTypeName": "医保余额", "payAmount": money(personal)},
        {"payTypeName": "医保统筹", "payAmount": money(insured - personal)},
    ]


def _self_pay(order: dict[str, Any]) -> Decimal:
    due: Decimal = order["trade"] - order["preferential"] - order["med"]
    return due


def _order(ctx: CallContext, his_trade_id: str) -> dict[str, Any]:
    order = _orders(ctx.hospital).get(his_trade_id)
    if order is None:
        raise Rejected(NOT_FOUND, f"医保订单不存在: {his_trade_id}")
    return order


@handles("hospital.interface.medicalInsurance.createOrder")
def create_order(ctx: CallContext) -> Reply:
    """5.1.1: a pre-settled order for these pending bills (the open one already made for them, if any)."""
    patient = ctx.patient()
    hospital = ctx.hospital
    wanted = _detail_ids(ctx.body.text("detailIds"))
    pending = {item.item_id: item for item in patient.pending}
    if not wanted or any(item_id not in pending for item_id in wanted):
        raise Rejected(NO_PENDING_BILL)
    order = next((o for o in _open_orders(hospital, patient) if set(o["detail_ids"]) == set(wanted)), None)
    if order is None:
        held = {item_id for o in _open_orders(hospital, patient) for item_id in o["detail_ids"]}
        if held & set(wanted):
            raise Rejected(NO_PENDING_BILL, "费用已在其他医保订单中，请先撤销该订单")
        trade = sum((pending[item_id].amount for item_id in wanted), Decimal("0"))
        order = {
            "his_trade_id": hospital.next_id("YB"),
            "card": ctx.card_number,
            "detail_ids": wanted,
            "trade": trade,
            "preferential": Decimal("0"),
            "med": (trade * INSURED_SHARE).quantize(CENT, rounding=ROUND_DOWN),
            "state": PRE_SETTLED,
            "created": ctx.now,
            "settled": None,
            "out_trade_no": None,
        }
        hospital.mi_orders[order["his_trade_id"]] = order
    return ok(
        {
            "hospitalId": hospital.hospital_id,
            "hisTradeId": order["his_trade_id"],
            "tradeAmount": money(order["trade"]),
            "preferentialAmount": money(order["preferential"]),
            "preMedAmount": money(order["med"]),
            "tradeCreateTime": stamp(order["created"]),
            "medPayList": _pay_list(order),
        }
    )


def _settlement(hospital: Hospital, order: dict[str, Any]) -> Reply:
    return ok(
        {
            "hospitalId": hospital.hospital_id,
            "hisTradeId": order["his_trade_id"],
            "tradeAmount": money(order["trade"]),
            "preferentialAmount": money(order["preferential"]),
            "medAmount": money(order["med"]),
            "medSettleTime": stamp(order["settled"]),
            "medPayList": _pay_list(order),
        }
    )


@handles("hospital.interface.medicalInsurance.settle")
def settle(ctx: CallContext) -> Reply:
    """5.1.2: the insurer settles its part; settling a settled (or paid) order answers the same settlement."""
    order = _order(ctx, ctx.body.text("hisTradeId"))
    if order["state"] == CANCELLED:
        raise Rejected(NO_PENDING_BILL, "订单已撤销")
    if order["state"] == PRE_SETTLED:
        order["state"] = SETTLED
        order["settled"] = ctx.now
        ctx.hospital.applied[f"settle:{order['his_trade_id']}"] += 1
    return _settlement(ctx.hospital, order)


@handles("hospital.interface.medicalInsurance.cancelOrder")
def cancel_order(ctx: CallContext) -> Reply:
    """5.1.3 (not a refund): an unpaid order is cancelled, its settlement undone; a paid one answers "0"."""
    ids = _detail_ids(ctx.body.text("hisTradeIds") or ctx.body.text("hisTradeId"))
    orders = [_order(ctx, his_trade_id) for his_trade_id in ids]
    if not orders:
        raise Rejected(NOT_FOUND, "医保订单不存在")
    cancelled = True
    for order in orders:
        if order["state"] == PAID:
            cancelled = False
        elif order["state"] != CANCELLED:
            order["state"] = CANCELLED
            ctx.hospital.applied[f"cancel:{order['his_trade_id']}"] += 1
    return ok("1" if cancelled else "0")


@handles("hospital.interface.medicalInsurance.paySuccess")
def pay_success(ctx: CallContext) -> Reply:
    """5.1.4: the self-pay part arrived; the order's bills are paid, once per outTradeNo."""
    patient = ctx.patient()
    out_trade_no = ctx.body.text("outTradeNo")

    def apply() -> Reply:
        order = _orders(ctx.hospital).get(ctx.body.text("hisTradeId"))
        if order is None or order["card"] not in patient.cards:
            raise Rejected(NO_PENDING_BILL, "医保订单不存在")
        if order["state"] != SETTLED:
            reason = {PRE_SETTLED: "未完成医保结算", CANCELLED: "订单已撤销", PAID: "订单已支付"}[order["state"]]
            raise Rejected(NO_PENDING_BILL, reason)
        amount, from_balance = ctx.amount("amount"), ctx.amount("balancePayment")
        if amount != _self_pay(order):
            raise Rejected(AMOUNT_MISMATCH, f"自费金额{money(_self_pay(order))}与支付金额{money(amount)}不一致")
        if from_balance > amount or from_balance > patient.balance:
            raise Rejected(AMOUNT_MISMATCH, "就诊卡余额不足")
        patient.balance -= from_balance
        patient.pending = [item for item in patient.pending if item.item_id not in order["detail_ids"]]
        order["state"] = PAID
        order["out_trade_no"] = out_trade_no
        online = amount - from_balance
        pay_type = ctx.body.text("payType")
        ctx.hospital.trades.append(
            Trade(out_trade_no, "", online, ctx.now, pay_type, "线上医保", patient.name, patient.card, "outpatient")
        )
        return ok("1")

    return ctx.once(out_trade_no, apply)


@handles("hospital.interface.medicalInsurance.queryUnfinishedOrders")
def unfinished_orders(ctx: CallContext) -> Reply:
    """5.1.5: the card's latest order still pre-settled or settled but not paid (amounts as pre-settled)."""
    patient = ctx.patient()
    orders = _open_orders(ctx.hospital, patient)
    if not orders:
        raise Rejected(NOT_FOUND, "没有未完成的医保订单")
    order = orders[-1]
    return ok(
        {
            "hospitalId": ctx.hospital.hospital_id,
            "hisTradeId": order["his_trade_id"],
            "tradeAmount": money(order["trade"]),
            "preferentialAmount": money(order["preferential"]),
            "medAmount": money(order["med"]),
            "tradeState": order["state"],
            "detailIds": ",".join(order["detail_ids"]),
            "tradeCreateTime": stamp(order["created"]),
            "medPayList": _pay_list(order),
        }
    )


@handles("hospital.interface.medicalInsurance.queryOrderState")
def order_state(ctx: CallContext) -> Reply:
    """5.1.6: refundable unless this payment (outTradeNo) was applied to the order."""
    order = _order(ctx, ctx.body.text("hisTradeId"))
    applied = order["state"] == PAID and order["out_trade_no"] == ctx.body.text("outTradeNo")
    return ok("nonrefundable" if applied else "refundable")
