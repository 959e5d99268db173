"""Outpatient bills (3.1.x), card balance and recharge (7.x), card refunds (8.x), refundability
(13.1.1) and reconciliation (14.2.x): all read and change the hospital's real state."""

from __future__ import annotations

from decimal import Decimal

from simulator.data.model import Trade
from simulator.envelope import AMOUNT_MISMATCH, NO_PENDING_BILL, NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money, stamp
from simulator.handlers.template import render

ZERO = Decimal("0")


@handles("hospital.interface.queryWaitPay")
def query_wait_pay(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    detail = [
        {
            "id": item.item_id,
            "item": item.item,
            "itemAmount": money(item.amount),
            "price": money(item.price),
            "quantity": str(item.quantity),
            "unit": item.unit,
            "doctor": item.doctor,
            "presCode": item.pres_code,
            "createTime": stamp(item.created),
            "preferentialAmount": "0",
            "presType": "0",
        }
        for item in patient.pending
    ]
    total = sum((item.amount for item in patient.pending), ZERO)
    data = {
        "hospitalId": ctx.hospital.hospital_id,
        "amount": money(total),
        "isMedicalPat": "0",
        "discountAmount": "0",
        "detail": detail,
    }
    return ok(data)


def _detail_ids(ctx: CallContext) -> list[str]:
    raw = ctx.body.get("detailId")
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    ids = [str(item).strip() for item in raw or []]
    if not ids:
        for group in ctx.body.get("detailWithPresCode") or []:
            ids.extend(str(item).strip() for item in group.get("detail") or [])
    return ids


@handles("hospital.interface.clinicPayment")
def clinic_payment(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    out_trade_no = ctx.body.text("outTradeNo")

    def apply() -> Reply:
        wanted = _detail_ids(ctx)
        by_id = {item.item_id: item for item in patient.pending}
        if not wanted or any(item_id not in by_id for item_id in wanted):
            raise Rejected(NO_PENDING_BILL)
        due = sum((by_id[item_id].amount for item_id in wanted), ZERO) - ctx.amount("discountAmount")
        online, from_balance = ctx.amount("amount"), ctx.amount("balancePayment")
        if online + from_balance + ctx.amount("unifiedPayAmount") != due:
            raise Rejected(AMOUNT_MISMATCH, f"待交费金额合计{money(due)}与支付金额合计不一致")
        if from_balance > patient.balance:
            raise Rejected(AMOUNT_MISMATCH, "就诊卡余额不足")
        patient.balance -= from_balance
        patient.pending = [item for item in patient.pending if item.item_id not in wanted]
        ctx.hospital.trades.append(
            Trade(
                out_trade_no,
                "",
                online,
                ctx.now,
                ctx.body.text("payType"),
                "诊间支付",
                patient.name,
                patient.card,
                "outpatient",
            )
        )
        invoice = ctx.hospital.next_id("FP")
        ctx.hospital.invoice_paid_bill(patient, [by_id[item_id] for item_id in wanted], invoice, ctx.now)
        return ok({"outPrepayId": ctx.hospital.next_id("MZ"), "amount": money(patient.balance), "invoiceId": invoice})

    return ctx.once(out_trade_no, apply)


@handles("hospital.interface.queryBalance")
def query_balance(ctx: CallContext) -> Reply:
    return ok({"balance": money(ctx.patient().balance)})


@handles("hospital.interface.paySuccess")
def recharge(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    out_trade_no = ctx.body.text("outTradeNo")

    def apply() -> Reply:
        from simulator.data.model import Recharge

        amount = ctx.amount("payAmount")
        if amount <= ZERO:
            raise Rejected("20004", "充值金额必须大于0")
        patient.balance += amount
        patient.recharges.append(Recharge(out_trade_no, amount, amount, ctx.now))
        ctx.hospital.trades.append(
            Trade(
                out_trade_no,
                "",
                amount,
                ctx.now,
                ctx.body.text("payType"),
                "就诊卡充值",
                patient.name,
                patient.card,
                "recharge",
            )
        )
        return ok({"outPrepayId": ctx.hospital.next_id("CZ")})

    return ctx.once(out_trade_no, apply)


@handles("hospital.interface.getRefundBlance")
def refundable_balance(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    orders = [{"rechargeNo": r.recharge_no, "balance": money(r.left)} for r in patient.recharges if r.left > ZERO]
    total = min(patient.balance, sum((r.left for r in patient.recharges), ZERO))
    return ok({"medicalCardNumber": ctx.card_number, "balance": money(total), "order": orders})


@handles("hospital.interface.cardRefund")
def card_refund(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    refund_no = ctx.body.text("refundNo")

    def apply() -> Reply:
        order_no = ctx.body.text("orderNo")
        recharge = next((r for r in patient.recharges if r.recharge_no == order_no), None)
        if recharge is None:
            raise Rejected(NOT_FOUND, f"充值订单不存在: {order_no}")
        amount = ctx.amount("refunAmount")
        if amount <= ZERO or amount > recharge.left or amount > patient.balance:
            raise Rejected("20004", "退款金额超出可退金额")
        recharge.left -= amount
        patient.balance -= amount
        ctx.hospital.trades.append(
            Trade(
                order_no, refund_no, -amount, ctx.now, "WeChatPay", "就诊卡退款", patient.name, patient.card, "recharge"
            )
        )
        return ok({"outRefundId": ctx.hospital.next_id("TK"), "balance": money(patient.balance)})

    return ctx.once(refund_no, apply)


@handles("hospital.interface.getRefundStatus")
def refund_status(ctx: CallContext) -> Reply:
    ctx.patient()
    refund_no = ctx.body.text("refundNo")
    stored = ctx.hospital.writes.get(refund_no)
    if stored is not None:
        return ok({"outRefundId": stored["data"]["outRefundId"], "status": "1"})
    if any(t.refund_no == refund_no for t in ctx.hospital.trades):
        return ok({"outRefundId": ctx.hospital.hospital_id + refund_no[-10:], "status": "1"})
    raise Rejected(NOT_FOUND, f"退款单不存在: {refund_no}")


@handles("hospital.interface.refundQuery")
def refund_query(ctx: CallContext) -> Reply:
    """Refundable exactly when the hospital never applied the payment (nothing was charged)."""
    ctx.patient()
    applied = ctx.hospital.applied.get(ctx.body.text("outTradeNo"), 0) > 0
    return ok("nonrefundable" if applied else "refundable")


def _trade_row(trade: Trade, *, with_person: bool = True) -> dict[str, object]:
    row: dict[str, object] = {
        "tradeNo": trade.trade_no,
        "refundNo": trade.refund_no,
        "amount": money(trade.amount),
        "tradeTime": stamp(trade.time),
        "payType": trade.pay_type,
        "body": trade.body,
    }
    if with_person:
        row.update({"name": trade.name, "hisCardCode": trade.card})
    row["complete"] = True
    return row


@handles("hospital.interface.reconciliation.detail")
def reconciliation_detail(ctx: CallContext) -> Reply:
    start, end = ctx.window()
    rows = [_trade_row(t) for t in ctx.hospital.trades if start <= t.time <= end]
    return ok(rows)


@handles("hospital.interface.reconciliation.queryByOutTradeNo")
def reconciliation_by_trade(ctx: CallContext) -> Reply:
    trade_no = ctx.body.text("tradeNo")
    rows = [_trade_row(t, with_person=False) for t in ctx.hospital.trades if t.trade_no == trade_no]
    if not rows:
        raise Rejected(NOT_FOUND, f"订单不存在: {trade_no}")
    return ok(rows)


@handles("hospital.interface.reconciliation.queryByOutTradeNoAndRefundNo")
def reconciliation_by_refund(ctx: CallContext) -> Reply:
    trade_no, refund_no = ctx.body.text("tradeNo"), ctx.body.text("refundNo")
    trade = next((t for t in ctx.hospital.trades if t.trade_no == trade_no and t.refund_no == refund_no), None)
    if trade is None:
        raise Rejected(NOT_FOUND, f"退款记录不存在: {trade_no}/{refund_no}")
    row = _trade_row(trade, with_person=False)
    row["amount"] = money(-trade.amount)
    return ok(row)


@handles("hospital.interface.dataStatistics")
def data_statistics(ctx: CallContext) -> Reply:
    """30.1.1 puts its figures at top level beside success/msg/code, as its example does."""
    start, end = ctx.window()
    trades = [t for t in ctx.hospital.trades if start <= t.time <= end and not t.refund_no]

    def total(category: str) -> tuple[str, str]:
        chosen = [t for t in trades if t.category == category]
        return money(sum((t.amount for t in chosen), ZERO)), str(len(chosen))

    outpatient_amount, outpatient_count = total("outpatient")
    inpatient_amount, inpatient_count = total("inpatient")
    recharge_amount, _ = total("recharge")
    return render(
        ctx,
        values={
            "outpatientTotalAmount": outpatient_amount,
            "outpatientTotalTrans": outpatient_count,
            "inpatientTotalAmount": inpatient_amount,
            "inpatientTotalTrans": inpatient_count,
            "regCardAmount": recharge_amount,
            "totalCardAmount": money(sum((p.balance for p in ctx.hospital.patients), ZERO)),
        },
    )
