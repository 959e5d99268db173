"""Paid bookings, most of which can be cancelled with a refund: physical exams (28.1.6 / 28.1.7), admission
applications (36.1.1 / 36.1.2; 36.1.3 is answered in ``irregular``), lab appointments (33.1.4 / 33.1.5;
the 33.1.3 lock is answered in ``irregular``) and self-ordered packages (29.1.3 / 29.1.4).

The template answered these with the spec's example whatever the state, so a cancelled booking could be
cancelled again and a booking never existed. Here a booking is real: 28.1.6 creates it once per
tradeNo (约定: 业务接口必须符合幂等原则) and records the trade for reconciliation (14.2.2 finds it);
28.1.7 cancels a booking that exists, once, and refuses an unknown or someone else's id.

Bookings live in ``hospital.registrations`` under ``booking:<kind>:<id>`` (with the keys the registration
handlers read: card, date, cancelled), so a reset of the region forgets them with everything else.
The spec's 28.1.7 example cancels booking "2" of 张三's card: that booking exists from the start.

An admission application (入院申请) asks for ``prepayAmount`` before admission: 36.1.1 answers it (the
spec's example says 0; 张三's application 9979 here asks ADMISSION_PREPAY so there is something to pay),
and 36.1.2 applies one payment of exactly that amount once per tradeNo, records the trade (14.2.2
finds it) and answers the stay's patInHosId. The 36.1.2 example pays application 001002323222 of 张亖
(0.01 yuan): that application exists from the start.

A lab appointment (33.1.4 payToHis) is booked once per outTradeNo at the price 33.1.1 lists (projectPrice
plus inspectingPrice: the spec's 28.00 = 26.00 + 2.00), the trade recorded; 33.1.5 cancels a booking that
exists under that outTradeNo, once, and answers the refundNo the platform needs to refund. The 33.1.5
example cancels booking 9683: it exists from the start.

A self-ordered package (29.1.3) is saved once per outTradeNo, the trade recorded; 29.1.4 cancels a saved
order under its outTradeNo, once, and answers refundNo. The amounts are not checked against 29.1.1's
prices: the spec's own 29.1.3 example pays 100.00 + 80.00 for items priced 81.00. Its 29.1.4 example
cancels order 9683 of 张三: it exists from the start.

The payment syncs that answer success alone, online consultation (25.1.1) and medical-record delivery
(27.1.2), apply once per tradeNo and record the trade, so 14.2.2 finds a sync whose reply was lost.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.catalog import entries_by_method
from simulator.data import examples
from simulator.data.model import Hospital, Patient, Trade
from simulator.envelope import AMOUNT_MISMATCH, INVALID_PARAM, NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money
from simulator.handlers.template import render

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


ADMISSION = "admission"
APPLICATION = "admission-application"
ADMISSION_PREPAY = Decimal("500.00")
"""What an admission application asks to be paid (36.1.1 prepayAmount) in the simulated region."""
EXAMPLE_APPLICATION = "9979"
"""The id 36.1.1's example answers: 张三's application."""
EXAMPLE_PAID_APPLICATION = ("001002323222", "001000005203724", Decimal("0.01"))
"""36.1.2's example: application id, the card it is for (张亖's), the amount it pays."""


def _application_of(ctx: CallContext, patient: Patient) -> dict[str, Any]:
    """The patient's admission application, made on first use (张三's is the spec's example 9979)."""
    registrations = ctx.hospital.registrations
    example_id, example_card, example_amount = EXAMPLE_PAID_APPLICATION
    if _key(APPLICATION, example_id) not in registrations:
        registrations[_key(APPLICATION, example_id)] = _new_application(example_id, example_card, example_amount)
    for key, row in registrations.items():
        if key.startswith(f"booking:{APPLICATION}:") and row["card"] in patient.cards:
            return row
    zhang_san = set(examples.ZHANG_SAN.cards) & set(patient.cards)
    application_id = EXAMPLE_APPLICATION if zhang_san else ctx.hospital.next_id("RYSQ")
    row = _new_application(application_id, patient.card, ADMISSION_PREPAY)
    registrations[_key(APPLICATION, application_id)] = row
    return row


def _new_application(application_id: str, card: str, amount: Decimal) -> dict[str, Any]:
    return {
        "id": application_id,
        "card": card,
        "date": "",
        "cancelled": False,
        "prepay": str(amount),
        "trade_no": "",
        "pat_in_hos_id": "",
    }


@handles("hospital.interface.getApplicationHospitalInformation")
def admission_application(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    application = _application_of(ctx, patient)
    status = "已缴费" if application["trade_no"] else "已申请"
    values = {
        "admissionCardId": application["id"],
        "prepayAmount": money(Decimal(application["prepay"])),
        "applyStatus": status,
    }
    return render(ctx, patient=patient, values=values)


@handles("hospital.interface.execInHospitalPatsSave")
def pay_admission_application(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    trade_no = ctx.body.text("tradeNo")

    def apply() -> Reply:
        application = _application_of(ctx, patient)
        if ctx.body.text("admissionCardId") != application["id"]:
            # The patient's own application is the one asked for (this checks the id, not a lookup).
            other = ctx.hospital.registrations.get(_key(APPLICATION, ctx.body.text("admissionCardId")))
            if other is None or other["card"] not in patient.cards:
                raise Rejected(INVALID_PARAM, f"入院申请不存在: {ctx.body.text('admissionCardId')}")
            application = other
        if application["trade_no"]:
            raise Rejected(AMOUNT_MISMATCH, "入院申请已缴费")
        paid = ctx.amount("payAmount")
        if paid != Decimal(application["prepay"]):
            raise Rejected(AMOUNT_MISMATCH, f"支付金额{paid}与入院申请金额{application['prepay']}不一致")
        stay_id = ctx.hospital.next_id("ZY")
        application.update(trade_no=trade_no, pat_in_hos_id=stay_id)
        ctx.hospital.registrations[_key(ADMISSION, stay_id)] = {
            "id": stay_id,
            "card": patient.card,
            "date": "",
            "cancelled": False,
            "trade_no": trade_no,
        }
        if trade_no:
            ctx.hospital.trades.append(
                Trade(
                    trade_no,
                    "",
                    paid,
                    ctx.now,
                    ctx.body.text("payType"),
                    "入院申请缴费",
                    patient.name,
                    patient.card,
                    "other",
                )
            )
        return ok({"patInHosId": stay_id}, msg="")

    return ctx.once(trade_no, apply) if trade_no else apply()


LAB = "lab"
EXAMPLE_LAB_BOOKING = ("9683", "ZZJF-YWCSL-2010145", Decimal("28.00"))
"""33.1.5's example: the hosRecordId it cancels, under its outTradeNo, and what was paid (33.1.4's total)."""


def _lab_prices() -> dict[str, Decimal]:
    """33.1.1's projects and their price with the 诊查费, as the simulator lists them (the spec's example)."""
    listed = entries_by_method().get("hospital.interface.projectAppt.getProjectSchedule")
    rows = (listed.response_example or {}).get("data") if listed is not None else None
    return {
        str(row["projectId"]): Decimal(str(row["projectPrice"])) + Decimal(str(row.get("inspectingPrice") or "0"))
        for row in rows or []
    }


def _lab_bookings(hospital: Hospital) -> dict[str, dict[str, Any]]:
    booking_id, trade_no, amount = EXAMPLE_LAB_BOOKING
    if _key(LAB, booking_id) not in hospital.registrations:
        hospital.registrations[_key(LAB, booking_id)] = {
            "id": booking_id,
            "card": examples.ZHANG_SAN.cards[0],
            "date": "",
            "cancelled": False,
            "trade_no": trade_no,
            "amount": str(amount),
        }
    return hospital.registrations


@handles("hospital.interface.projectAppt.payToHis")
def pay_lab_appointment(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    trade_no = ctx.body.text("outTradeNo")

    def apply() -> Reply:
        total = ctx.amount("total")
        price = _lab_prices().get(ctx.body.text("projectId"))
        if price is not None and total != price:
            raise Rejected(AMOUNT_MISMATCH, f"支付金额{money(total)}与项目价格{money(price)}不一致")
        booking_id = ctx.hospital.next_id("XM")
        _lab_bookings(ctx.hospital)[_key(LAB, booking_id)] = {
            "id": booking_id,
            "card": patient.card,
            "date": "",
            "cancelled": False,
            "trade_no": trade_no,
            "amount": str(total),
        }
        if trade_no and total > 0:
            ctx.hospital.trades.append(
                Trade(
                    trade_no,
                    "",
                    total,
                    ctx.now,
                    ctx.body.text("payType"),
                    "检验项目预约",
                    patient.name,
                    patient.card,
                    "other",
                )
            )
        return ok({"hosRecordId": booking_id, "tips": "请按预约时间到检验科采样"}, msg="")

    return ctx.once(trade_no or f"lab:{ctx.body.text('recordId')}", apply)


@handles("hospital.interface.projectAppt.cancelAppt")
def cancel_lab_appointment(ctx: CallContext) -> Reply:
    booking_id = ctx.body.text("outOrderId") or ctx.body.text("hosRecordId")
    trade_no = ctx.body.text("outTradeNo")
    booking = _lab_bookings(ctx.hospital).get(_key(LAB, booking_id))
    if booking is None or booking["trade_no"] != trade_no:
        raise Rejected(NOT_FOUND, f"预约记录不存在: {booking_id}")

    def apply() -> Reply:
        booking["cancelled"] = True
        refund_no = ctx.hospital.next_id("TT")
        paid = next((t for t in ctx.hospital.trades if t.trade_no == trade_no and not t.refund_no), None)
        if paid is not None:
            ctx.hospital.trades.append(
                Trade(
                    paid.trade_no,
                    refund_no,
                    -paid.amount,
                    ctx.now,
                    paid.pay_type,
                    "检验项目预约取消",
                    paid.name,
                    paid.card,
                    "other",
                )
            )
        return ok({"refundNo": refund_no}, msg="")

    return ctx.once(f"cancel:{_key(LAB, booking_id)}", apply)


SELF_ORDER = "selforder"
EXAMPLE_SELF_ORDER = ("9683", "ZZJF-YWCSL-2010145")
"""29.1.4's example: the outOrderId it cancels and its outTradeNo."""


def _self_orders(hospital: Hospital) -> dict[str, dict[str, Any]]:
    order_id, trade_no = EXAMPLE_SELF_ORDER
    if _key(SELF_ORDER, order_id) not in hospital.registrations:
        hospital.registrations[_key(SELF_ORDER, order_id)] = {
            "id": order_id,
            "card": examples.ZHANG_SAN.cards[0],
            "date": "",
            "cancelled": False,
            "trade_no": trade_no,
        }
    return hospital.registrations


@handles("hospital.interface.selfPrescription.saveSelfPrescription")
def save_self_order(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    trade_no = ctx.body.text("outTradeNo")

    def apply() -> Reply:
        groups = [g for g in ctx.body.get("group") or [] if isinstance(g, dict) and str(g.get("groupId", "")).strip()]
        if not groups:
            raise Rejected(INVALID_PARAM, "未选择项目")
        online = ctx.amount("payAmount")
        order_id = ctx.hospital.next_id("ZX")
        _self_orders(ctx.hospital)[_key(SELF_ORDER, order_id)] = {
            "id": order_id,
            "card": patient.card,
            "date": ctx.body.text("appointmentDate"),
            "cancelled": False,
            "trade_no": trade_no,
        }
        if online > 0:
            ctx.hospital.trades.append(
                Trade(
                    trade_no,
                    "",
                    online,
                    ctx.now,
                    ctx.body.text("payType"),
                    "自选套餐",
                    patient.name,
                    patient.card,
                    "other",
                )
            )
        data = {
            "outOrderId": order_id,
            "effectiveDate": ctx.body.text("appointmentDate"),
            "tips": "请在有效日期前到相应诊室检查",
        }
        return ok(data, msg="")

    return ctx.once(trade_no, apply) if trade_no else apply()


@handles("hospital.interface.selfPrescription.cancelSelfPrescription")
def cancel_self_order(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    order_id = ctx.body.text("outOrderId")
    trade_no = ctx.body.text("outTradeNo")
    order = _self_orders(ctx.hospital).get(_key(SELF_ORDER, order_id))
    if order is None or order["trade_no"] != trade_no or order["card"] not in patient.cards:
        raise Rejected(NOT_FOUND, f"自选套餐预约不存在: {order_id}")

    def apply() -> Reply:
        order["cancelled"] = True
        refund_no = ctx.hospital.next_id("TT")
        paid = next((t for t in ctx.hospital.trades if t.trade_no == trade_no and not t.refund_no), None)
        if paid is not None:
            ctx.hospital.trades.append(
                Trade(
                    paid.trade_no,
                    refund_no,
                    -paid.amount,
                    ctx.now,
                    paid.pay_type,
                    "自选套餐取消",
                    paid.name,
                    paid.card,
                    "other",
                )
            )
        return ok({"refundNo": refund_no}, msg="")

    return ctx.once(f"cancel:{_key(SELF_ORDER, order_id)}", apply)


def _paid_sync(ctx: CallContext, amount_field: str, body: str) -> Reply:
    patient = ctx.patient()
    trade_no = ctx.body.text("tradeNo")

    def apply() -> Reply:
        paid = ctx.amount(amount_field)
        if paid > 0:
            ctx.hospital.trades.append(
                Trade(trade_no, "", paid, ctx.now, ctx.body.text("payType"), body, patient.name, patient.card, "other")
            )
        return render(ctx, patient=patient)

    return ctx.once(trade_no, apply)


@handles("hospital.inerface.internetHospital.save")
def sync_consultation_payment(ctx: CallContext) -> Reply:
    return _paid_sync(ctx, "total", "在线问诊")


@handles("hospital.interface.medicalRecordInsertOrder")
def sync_medical_record_payment(ctx: CallContext) -> Reply:
    return _paid_sync(ctx, "totalAmount", "病案预约配送")
