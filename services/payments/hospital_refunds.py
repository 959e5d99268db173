"""Refunds the hospital starts: 9.1.1 退卡余额, 13.2.1 退款, 20.2.2 / 21.1.7 退挂号费, and their state (9.1.2).

The hospital has done its part already (deducted the card balance, cancelled the registration, reversed
the charge) and asks us to send money back through the payment provider. The order stays NOTIFIED; one
Refund row carries the refund (PENDING -> SUCCEEDED / FAILED, store.orders.RefundState), as the
after-sale refunds do (services.payments.after_sale), under the same ``refund_payout`` job.

Idempotency. The hospital's refund number names one refund: our out_refund_no is derived from the
hospital and that number (``hospital_out_refund_no``) and is unique in the store, so a retry or a
concurrent duplicate finds the refund the first call made (a race is settled by the database) and is
answered its current state; nothing is refunded twice. The same number for another order or another
amount is refused (20003). The hospital's number is kept in the order's after-sale notes
(``refund_note(order, out_refund_no).his_refund_no``), where 14.1.2 finds it.

The call. The refund and its ``refund_payout`` job (due ``WORKER_TAKES_OVER_AFTER`` later) are committed
first; then the provider is asked, within ``hospital_refund_timeout_s``. Succeeded -> SUCCEEDED (and the
job finished) in one transaction; refused -> FAILED, as the worker would; no answer, a timeout or still
PROCESSING -> the refund stays PENDING, the hospital is answered 10002 (附四: the state is not known,
retry or check, never to be taken as a failure) and the worker finishes it; a repeat of the call or 9.1.2
tells the end.

What the order's state answers (only an order the hospital applied is the hospital's to refund):
- NOTIFIED: refunded, never more than is left of its online payment (20004 beyond).
- PAID, PARKED: 40004 业务处理中. We are still telling the hospital about the payment (PAID), or an operator
  decides its fate (PARKED): the platform's own refund could cross this one. Ask again later.
- CREATED, CANCELLED: 20004, nothing was paid online. REFUNDING, REFUNDED: 20004, the platform returns or
  returned the whole payment itself (the hospital never applied it).
An unknown order and another hospital's order look the same (NotTheCallersOrder: the shim answers 50001).
Only the online part is ours to return: ``amount`` goes back through the provider. 附六's unified
settlement part (13.2.1 unifiedAmount / unifiedTradeNo, 20.2.2 and 21.1.7 unifiedPayTradeNo, "用于退统一支付平台
卡余额") is the unified platform's to return: it is checked against the order (its trade number, at most
the unified part not yet returned; 20003 / 20004 otherwise), and the refund's note passes the unified
trade number and amount on (``unified_trade_no``, ``unified_amount``). A unified amount for an order with
no unified part is 20004 (a trade number alone is not looked at there: nothing changes for such orders).
Insurance refunds (20.2.2 hisTradeId) are not ours.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from his_clients.codes import ReturnCode
from services.refusals import RefusalCode, Refused
from store.db import Database
from store.orders import (
    RELEASED_REFUND_STATES,
    Order,
    OrderRepository,
    OrderState,
    Refund,
    RefundExceedsPayment,
    RefundState,
    refundable_left,
)
from store.outbox import OutboxRepository

from .after_sale import REFUND_PAYOUT_JOB
from .clock import Clock
from .hospital_refund_payout import note_refund, pay_out
from .providers.base import PaymentProvider
from .quotes import refund_note, refund_notes
from .results import ZERO
from .sagas import AppointmentRegistrationFlow, RechargeFlow, TodayRegistrationFlow

WORKER_TAKES_OVER_AFTER: Final = timedelta(seconds=30)
"""The refund_payout job waits this long, so the worker does not race the call's own attempt."""
MAX_REFUND_NUMBER_LENGTH: Final = 64
INITIATOR: Final = "hospital"
"""The after-sale note's ``initiator`` of the refunds made here."""
_SAFE_HOSPITAL = re.compile(r"^[0-9A-Za-z_]+$")
_SAFE_NUMBER = re.compile(r"^[0-9A-Za-z_\-]+$")


class HospitalRefundKind(StrEnum):
    """Which of the spec's hospital refunds a call is (the section it answers)."""

    CARD_BALANCE = "9.1.1"
    """退卡余额: card balance the hospital deducted goes back over the recharge order it came from."""
    PAYMENT = "13.2.1"
    """退款: any payment the hospital applied."""
    TODAY_REGISTRATION = "20.2.2"
    APPOINTMENT_REGISTRATION = "21.1.7"


REQUIRED_FLOW: Final = {
    HospitalRefundKind.CARD_BALANCE: RechargeFlow.name,
    HospitalRefundKind.TODAY_REGISTRATION: TodayRegistrationFlow.name,
    HospitalRefundKind.APPOINTMENT_REGISTRATION: AppointmentRegistrationFlow.name,
}
"""The flow of the orders each kind refunds (13.2.1: any)."""
_FLOW_NAMES: Final = {
    RechargeFlow.name: "就诊卡充值",
    TodayRegistrationFlow.name: "当日挂号",
    AppointmentRegistrationFlow.name: "预约挂号",
}


class HospitalRefundStatus(StrEnum):
    """How the hospital is answered about a refund."""

    SUCCEEDED = "SUCCEEDED"
    """The money went back (9.1.2 REFUNDED)."""
    UNSETTLED = "UNSETTLED"
    """Not known yet (PENDING, or another saga's refund still under way): 10002, ask again."""
    FAILED = "FAILED"
    """The provider refused: nothing went back under this number (9.1.2 REFUND_FAILED)."""


@dataclass(frozen=True, slots=True)
class HospitalRefund:
    """A refund as the hospital is told about it."""

    status: HospitalRefundStatus
    out_refund_no: str
    """Ours: the spec's reply refundNo (请保存，对账使用)."""
    out_trade_no: str
    hospital_id: str
    amount: Decimal
    his_refund_no: str
    succeeded_at: datetime | None
    """The reply's time (对账以此时间为准), once succeeded."""
    note: str | None
    duplicate: bool
    """True when an earlier call (or another saga) made this refund."""


class HospitalRefundRefused(Refused):
    """Nothing was refunded, and this call will never refund: ``code`` is the 附四 code to answer.

    The message is the hospital's to read (the shim answers it as ``msg``).
    """

    def __init__(self, code: ReturnCode | RefusalCode, message: str) -> None:
        super().__init__(code if isinstance(code, RefusalCode) else RefusalCode.of(code), message)

    @property
    def return_code(self) -> ReturnCode:
        """The 附四 code the shim answers (every code raised here is one)."""
        return ReturnCode.parse(self.code.value) or ReturnCode.UNKNOWN_ERROR


class NotTheCallersOrder(Refused, LookupError):
    """No order of the caller's hospitals has this number (unknown, or another hospital's): NOT_FOUND."""

    def __init__(self, out_trade_no: str) -> None:
        super().__init__(RefusalCode.NOT_FOUND, "没有此订单, 或不属于本院")
        self.out_trade_no = out_trade_no


def hospital_out_refund_no(hospital_id: str, his_refund_no: str) -> str:
    """Our refund number for the hospital's: ``HR253-528665441``, or a digest when that would not fit.

    The provider takes at most 64 characters of ``0-9A-Za-z_-``; the hospital's id (without ``-``) comes
    first and the first ``-`` ends it, so two hospitals' numbers never meet.
    """
    readable = f"HR{hospital_id}-{his_refund_no}"
    if (
        _SAFE_HOSPITAL.fullmatch(hospital_id)
        and _SAFE_NUMBER.fullmatch(his_refund_no)
        and len(readable) <= MAX_REFUND_NUMBER_LENGTH
    ):
        return readable
    digest = hashlib.sha256(f"{hospital_id}\n{his_refund_no}".encode()).hexdigest()[:40]
    return f"HX-{digest}"


@dataclass(frozen=True, slots=True)
class _Asked:
    kind: HospitalRefundKind
    hospitals: frozenset[str]
    out_trade_no: str
    his_refund_no: str
    amount: Decimal
    medical_card_number: str | None
    unified_amount: Decimal = ZERO
    unified_trade_no: str | None = None


async def hospital_refund_kind(db: Database, out_trade_no: str) -> HospitalRefundKind:
    """9.1.1 for a recharge order (by the stored order, else by its JZKCZ prefix), 13.2.1 otherwise."""
    async with db.session() as session:
        order = await OrderRepository(session).get(out_trade_no.strip())
    recharge = order.flow == RechargeFlow.name if order else out_trade_no.startswith(RechargeFlow.business_type)
    return HospitalRefundKind.CARD_BALANCE if recharge else HospitalRefundKind.PAYMENT


async def refund_for_hospital(
    db: Database,
    provider: PaymentProvider,
    clock: Clock,
    *,
    timeout_s: float,
    kind: HospitalRefundKind,
    hospitals: Collection[str],
    out_trade_no: str,
    his_refund_no: str,
    amount: Decimal,
    medical_card_number: str | None = None,
    unified_amount: Decimal = ZERO,
    unified_trade_no: str | None = None,
) -> HospitalRefund:
    """Refund ``amount`` of the order for the hospital, once per its refund number; its state now.

    ``hospitals``: those the caller may act for (the order must be one's); ``timeout_s``: how long the
    provider is waited for before the hospital is answered 10002. Raises HospitalRefundRefused (nothing
    refunded) or NotTheCallersOrder.
    """
    if amount <= 0:
        raise HospitalRefundRefused(ReturnCode.PARAMETER_RANGE, "参数超出范围: amount 必须大于0")
    if unified_amount < 0:
        raise HospitalRefundRefused(ReturnCode.PARAMETER_RANGE, "参数超出范围: unifiedAmount 不能小于0")
    _check_number(his_refund_no)
    asked = _Asked(
        kind=kind,
        hospitals=frozenset(hospitals),
        out_trade_no=out_trade_no.strip(),
        his_refund_no=his_refund_no,
        amount=amount.quantize(Decimal("0.01")),
        medical_card_number=medical_card_number,
        unified_amount=unified_amount.quantize(Decimal("0.01")),
        unified_trade_no=(unified_trade_no or "").strip() or None,
    )
    try:
        refund_id, duplicate = await _open_refund(db, clock, asked)
    except (IntegrityError, StaleDataError):
        # A concurrent duplicate inserted the refund first: this round finds it.
        refund_id, duplicate = await _open_refund(db, clock, asked)
    order, refund = await _refund_and_order(db, refund_id)
    if refund.state == RefundState.PENDING and refund_note(order, refund.out_refund_no).initiator:
        await pay_out(db=db, provider=provider, clock=clock, order=order, refund=refund, timeout_s=timeout_s)
        order, refund = await _refund_and_order(db, refund_id)
    return _answer(order, refund, his_refund_no, duplicate=duplicate)


async def hospital_refund_state(
    db: Database, *, hospitals: Collection[str], out_trade_no: str, his_refund_no: str, amount: Decimal
) -> HospitalRefund | None:
    """9.1.2: the refund the hospital made under this number for this order; None when there is none."""
    _check_number(his_refund_no)
    async with db.session() as session:
        orders = OrderRepository(session)
        order = await orders.get(out_trade_no.strip())
        if order is None or order.hospital_id not in hospitals:
            raise NotTheCallersOrder(out_trade_no)
        existing = await _existing(orders, order, his_refund_no)
        if existing is None:
            return None
        _same_refund(existing, order, his_refund_no, amount)
        return _answer(order, existing, his_refund_no, duplicate=True)


# -- the refund row -----------------------------------------------------------------------------


async def _open_refund(db: Database, clock: Clock, asked: _Asked) -> tuple[int, bool]:
    """The refund under the hospital's number: found (True), or written with its job (False)."""
    now = clock.now()
    async with db.session() as session:
        orders = OrderRepository(session)
        order = await orders.get(asked.out_trade_no, for_update=True)
        if order is None or order.hospital_id not in asked.hospitals:
            raise NotTheCallersOrder(asked.out_trade_no)
        if asked.medical_card_number is not None and asked.medical_card_number != order.medical_card_number:
            raise HospitalRefundRefused(ReturnCode.PARAMETER_FORMAT, "参数无效: medicalCardNumber 与订单的就诊卡不符")
        wanted_flow = REQUIRED_FLOW.get(asked.kind)
        if wanted_flow is not None and order.flow != wanted_flow:
            raise HospitalRefundRefused(
                ReturnCode.PARAMETER_FORMAT,
                f"参数无效: {asked.out_trade_no} 不是{_FLOW_NAMES[wanted_flow]}订单",
            )
        existing = await _existing(orders, order, asked.his_refund_no)
        if existing is not None:
            _same_refund(existing, order, asked.his_refund_no, asked.amount)
            return existing.id, True
        _check_state(order)
        unified = _unified_part(order, asked)
        out_refund_no = hospital_out_refund_no(order.hospital_id, asked.his_refund_no)
        try:
            refund = await orders.add_refund(
                order,
                out_refund_no=out_refund_no,
                amount=asked.amount,
                reason=f"refunded by the hospital ({asked.kind.value})",
                at=now,
                state=RefundState.PENDING,
            )
        except RefundExceedsPayment:
            left = await _left(orders, order)
            raise HospitalRefundRefused(
                ReturnCode.PARAMETER_RANGE, f"参数超出范围: 退款金额 {asked.amount} 超出可退金额 {left}"
            ) from None
        note_refund(
            order,
            out_refund_no,
            now,
            state=RefundState.PENDING,
            why=f"the hospital asked ({asked.kind.value} refundNo {asked.his_refund_no})",
            extra={
                "his_refund_no": asked.his_refund_no,
                "initiator": INITIATOR,
                "section": asked.kind.value,
                **unified,
            },
        )
        await OutboxRepository(session).enqueue(
            kind=REFUND_PAYOUT_JOB,
            dedupe_key=f"{REFUND_PAYOUT_JOB}:{out_refund_no}",
            order_id=order.id,
            refund_id=refund.id,
            at=now,
            due_at=now + WORKER_TAKES_OVER_AFTER,
        )
        return refund.id, False


async def _refund_and_order(db: Database, refund_id: int) -> tuple[Order, Refund]:
    async with db.session() as session:
        orders = OrderRepository(session)
        refund = await orders.get_refund(refund_id)
        order = None if refund is None else await orders.get_by_id(refund.order_id)
    assert refund is not None, "refunds are never deleted"
    assert order is not None
    return order, refund


def _check_number(his_refund_no: str) -> None:
    if not his_refund_no.strip() or len(his_refund_no) > MAX_REFUND_NUMBER_LENGTH:
        raise HospitalRefundRefused(
            ReturnCode.PARAMETER_FORMAT, f"参数无效: refundNo 应为1-{MAX_REFUND_NUMBER_LENGTH}个字符"
        )


async def _existing(orders: OrderRepository, order: Order, his_refund_no: str) -> Refund | None:
    """The refund made under the hospital's number: ours by its out_refund_no, else one of this order's
    refunds whose saga noted that number as the hospital's voucher (a cancellation the patient started)."""
    found = await orders.get_refund_by_no(hospital_out_refund_no(order.hospital_id, his_refund_no))
    if found is not None:
        return found
    return next(
        (
            refund
            for refund in await orders.refunds(order)
            if refund_note(order, refund.out_refund_no).his_refund_no == his_refund_no
        ),
        None,
    )


def _same_refund(existing: Refund, order: Order, his_refund_no: str, amount: Decimal) -> None:
    """A repeat must name what the first call named: the same order and amount (20003 otherwise)."""
    if existing.order_id != order.id:
        raise HospitalRefundRefused(
            ReturnCode.PARAMETER_FORMAT, f"参数无效: 退款单号 {his_refund_no} 已用于另一订单的退款"
        )
    if existing.amount != amount:
        raise HospitalRefundRefused(
            ReturnCode.PARAMETER_FORMAT, f"参数无效: 退款单号 {his_refund_no} 已用于金额 {existing.amount} 的退款"
        )


UNIFIED_NOTE_AMOUNT: Final = "unified_amount"
UNIFIED_NOTE_TRADE_NO: Final = "unified_trade_no"


def _unified_part(order: Order, asked: _Asked) -> dict[str, str]:
    """附六: the unified settlement part this refund names, checked against the order; the note's fields.

    An order without a unified part is refunded as before: a trade number sent with it is not looked at
    (the spec's examples carry one), only a unified amount above 0 is refused (20004). For an order with
    one, the trade number, when sent, must be the order's (20003), and the amount at most what the
    hospital's earlier refunds left of the unified part (20004).
    """
    has_part = order.unified_pay_amount > 0 and bool(order.unified_pay_trade_no)
    if has_part and asked.unified_trade_no is not None and asked.unified_trade_no != order.unified_pay_trade_no:
        raise HospitalRefundRefused(ReturnCode.PARAMETER_FORMAT, "参数无效: 统一结算平台交易订单号与订单的不符")
    if not has_part:
        if asked.unified_amount > 0:
            raise HospitalRefundRefused(
                ReturnCode.PARAMETER_RANGE, "参数超出范围: 此订单没有统一结算平台支付部分, unifiedAmount 应为0"
            )
        return {}
    returned = sum(
        (note.unified_amount or ZERO for note in refund_notes(order).values() if note.initiator == INITIATOR),
        ZERO,
    )
    left = order.unified_pay_amount - returned
    if asked.unified_amount > left:
        raise HospitalRefundRefused(
            ReturnCode.PARAMETER_RANGE,
            f"参数超出范围: 统一结算平台退款金额 {asked.unified_amount} 超出可退金额 {left}",
        )
    assert order.unified_pay_trade_no is not None
    return {UNIFIED_NOTE_AMOUNT: str(asked.unified_amount), UNIFIED_NOTE_TRADE_NO: order.unified_pay_trade_no}


def _check_state(order: Order) -> None:
    state = OrderState(order.state)
    if state is OrderState.NOTIFIED:
        return
    if state is OrderState.PAID:
        raise HospitalRefundRefused(ReturnCode.PROCESSING, "业务处理中: 平台正在通知院内此笔支付, 请稍后重试")
    if state is OrderState.PARKED:
        raise HospitalRefundRefused(ReturnCode.PROCESSING, "业务处理中: 此订单待平台人工处理, 请稍后重试或联系平台")
    if state in (OrderState.REFUNDING, OrderState.REFUNDED):
        raise HospitalRefundRefused(ReturnCode.PARAMETER_RANGE, "参数超出范围: 此订单已由平台全额退款, 可退金额 0.00")
    raise HospitalRefundRefused(ReturnCode.PARAMETER_RANGE, "参数超出范围: 此订单未支付, 可退金额 0.00")


async def _left(orders: OrderRepository, order: Order) -> Decimal:
    taken = [r.amount for r in await orders.refunds(order) if r.state not in RELEASED_REFUND_STATES]
    return refundable_left(order.online_amount, taken)


def _answer(order: Order, refund: Refund, his_refund_no: str, *, duplicate: bool) -> HospitalRefund:
    state = RefundState(refund.state)
    if state is RefundState.SUCCEEDED:
        status = HospitalRefundStatus.SUCCEEDED
    elif state in RELEASED_REFUND_STATES:
        status = HospitalRefundStatus.FAILED
    else:
        status = HospitalRefundStatus.UNSETTLED
    return HospitalRefund(
        status=status,
        out_refund_no=refund.out_refund_no,
        out_trade_no=order.out_trade_no,
        hospital_id=order.hospital_id,
        amount=refund.amount,
        his_refund_no=his_refund_no,
        succeeded_at=refund.succeeded_at,
        note=refund_note(order, refund.out_refund_no).why,
        duplicate=duplicate,
    )


__all__ = [
    "HospitalRefund",
    "HospitalRefundKind",
    "HospitalRefundRefused",
    "HospitalRefundStatus",
    "NotTheCallersOrder",
    "hospital_out_refund_no",
    "hospital_refund_kind",
    "hospital_refund_state",
    "refund_for_hospital",
]
