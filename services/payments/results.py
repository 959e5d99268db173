"""What the payment entry points answer and refuse: order and refund summaries, and the expected failures.

Kept apart from services.payments.orders so the flow entry points (entry_*.py) and the PaymentService that
composes them share these without importing one another; services.payments.orders re-exports every name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar, Final, Self

from his_clients.codes import ReturnCode
from services.refusals import RefusalCode, Refused
from store.orders import Order, OrderState, Refund, RefundState

from .hospital_status import HospitalStatus, hospital_statuses
from .providers.base import PrepayResult
from .quotes import refund_note

ZERO = Decimal("0.00")
PAYMENT_EXPIRES_AFTER = timedelta(minutes=15)


_QUOTE_UNAVAILABLE: Final = "暂时无法获取医院的收费信息，请稍后再试或到医院窗口办理。"
"""What a patient reads when the hospital quoted nothing usable and named no code."""


class PaymentRefused(Refused):
    """An expected refusal of the payment services: a ``Refused`` whose ``reason`` is for the operators' log.

    ``reason`` is ours, in English, and names states and numbers (it is logged, never shown); ``message`` is
    what the patient reads (default: the code's fixed words); ``code`` may be given as a RefusalCode, a 附四
    ReturnCode or its wire text ("60205"), and is always a RefusalCode on the exception.
    """

    default_code: ClassVar[RefusalCode] = RefusalCode.UNKNOWN_ERROR

    def __init__(
        self,
        reason: str,
        *,
        code: RefusalCode | ReturnCode | str | None = None,
        message: str | None = None,
        field: str | None = None,
        hospital_id: str | None = None,
    ) -> None:
        refusal = self.default_code if code is None else code if isinstance(code, RefusalCode) else RefusalCode.of(code)
        super().__init__(refusal, message, field=field, hospital_id=hospital_id)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, code={self.code.value!r})"

    def naming(self, hospital_id: str) -> Self:
        """This refusal, naming the hospital whose answer (or silence) it stands for, unless it names one."""
        if self.hospital_id is None:
            self.hospital_id = hospital_id
            self.extensions["hospitalId"] = hospital_id
        return self


class UnknownOrder(Refused, LookupError):
    """No order has this out_trade_no (NOT_FOUND)."""

    def __init__(self, out_trade_no: str) -> None:
        super().__init__(RefusalCode.NOT_FOUND, "订单不存在。")
        self.out_trade_no = out_trade_no


class OrderNotCancellable(PaymentRefused):
    """Only an order nothing was paid for (CREATED) may be cancelled (NOT_CANCELLABLE)."""

    default_code = RefusalCode.NOT_CANCELLABLE


class QuoteUnavailable(PaymentRefused):
    """The hospital did not quote what the order needs (no such schedule, slot refused...); no order is written.

    ``code`` is the hospital's 附四 code where it named one (the exception is raised ``from`` its HisError,
    whose text the resolver logs for operators, masked), else HIS_UNAVAILABLE. The patient reads the code's
    fixed words, never the hospital's text nor our English ``reason`` (issue 10 item 13).
    """

    default_code = RefusalCode.HIS_UNAVAILABLE

    def __init__(
        self,
        reason: str,
        *,
        code: RefusalCode | ReturnCode | str | None = None,
        message: str | None = None,
        field: str | None = None,
        hospital_id: str | None = None,
    ) -> None:
        if message is None and code is None:
            message = _QUOTE_UNAVAILABLE
        super().__init__(reason, code=code, message=message, field=field, hospital_id=hospital_id)


class AmountRefused(QuoteUnavailable):
    """An amount the patient chose (a deposit, a recharge, a fee the app showed) that may not be charged.

    Its message is for the patient, in Chinese, and never carries a Python repr of the amount; ``code`` is
    PARAMETER_FORMAT (20003, not two decimal places) or PARAMETER_RANGE (20004, outside the limits), or the
    hospital's own (60202 the fee changed, 60401 no deposit allowed); ``field`` the argument at fault.
    """

    def __init__(self, message: str, *, code: RefusalCode, field: str | None = None) -> None:
        super().__init__(message, code=code, message=message, field=field)


FORMAT_CODE: Final = RefusalCode.PARAMETER_FORMAT
RANGE_CODE: Final = RefusalCode.PARAMETER_RANGE
CENT = Decimal("0.01")
LARGEST = Decimal(10) ** 10
"""No amount of ours reaches this (ten billion yuan): larger ones are out of range before any arithmetic."""


def require_two_places(amount: Decimal, what: str, *, field: str | None = None) -> None:
    """``amount`` must be finite, in range and have at most two decimal places; ``field`` names the argument."""
    if not amount.is_finite():
        raise AmountRefused(f"{what}格式不正确", code=FORMAT_CODE, field=field)
    if abs(amount) >= LARGEST:
        raise AmountRefused(f"{what}超出范围", code=RANGE_CODE, field=field)
    if amount.quantize(CENT) != amount:
        raise AmountRefused(f"{what}最多保留两位小数", code=FORMAT_CODE, field=field)


def require_amount(
    amount: Decimal,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    what: str = "金额",
    field: str = "amount",
) -> Decimal:
    """The amount as two-place Decimal, or AmountRefused: positive, two decimal places, within the limits."""
    require_two_places(amount, what, field=field)
    if amount <= 0:
        raise AmountRefused(f"{what}必须大于0", code=RANGE_CODE, field=field)
    if minimum is not None and amount < minimum:
        raise AmountRefused(f"{what}不能低于{minimum.quantize(CENT)}元", code=RANGE_CODE, field=field)
    if maximum is not None and amount > maximum:
        raise AmountRefused(f"{what}不能高于{maximum.quantize(CENT)}元", code=RANGE_CODE, field=field)
    return amount.quantize(CENT)


def require_part(
    amount: Decimal, *, total: Decimal, what: str = "卡余额支付金额", field: str = "balancePayment"
) -> Decimal:
    """A part of the total the patient chose (balancePayment): 0 to the total, two decimal places."""
    require_two_places(amount, what, field=field)
    if amount < 0 or amount > total:
        raise AmountRefused(f"{what}必须在0到{total.quantize(CENT)}元之间", code=RANGE_CODE, field=field)
    return amount.quantize(CENT)


UNIFIED_TRADE_NO: Final = re.compile(r"^[0-9A-Za-z_\-]{1,64}$")
"""A unified settlement platform trade number (附六; the spec's examples: ZJZF-123212331212321)."""


def require_unified_part(amount: Decimal, trade_no: str | None, *, total: Decimal) -> tuple[Decimal, str | None]:
    """附六's unified settlement part: 0 to ``total`` with two places, and its trade number exactly when above 0."""
    amount = require_part(amount, total=total, what="统一结算平台支付金额", field="unifiedPayAmount")
    trade_no = trade_no.strip() if trade_no is not None else None
    field = "unifiedPayTradeNo"
    if amount == 0:
        if trade_no:
            raise AmountRefused("统一结算平台交易订单号只在使用统一结算平台支付时传入", code=FORMAT_CODE, field=field)
        return amount, None
    if not trade_no:
        raise AmountRefused(
            "使用统一结算平台支付时必须传入统一结算平台交易订单号", code=RefusalCode.MISSING_PARAMETER, field=field
        )
    if not UNIFIED_TRADE_NO.match(trade_no):
        raise AmountRefused("统一结算平台交易订单号格式不正确", code=FORMAT_CODE, field=field)
    return amount, trade_no


class RefundNotPossible(PaymentRefused):
    """The user may not have this refund (nothing refundable, more than is left, not cancellable now).

    NOT_REFUNDABLE, or PARAMETER_FORMAT for an amount that is no amount of money.
    """

    default_code = RefusalCode.NOT_REFUNDABLE


@dataclass(frozen=True, slots=True)
class RefundSummary:
    """One refund as callers above the store see it (after-sale refunds leave the order NOTIFIED)."""

    out_refund_no: str
    out_trade_no: str
    amount: Decimal
    state: RefundState
    reason: str
    his_refund_no: str | None = None
    """The hospital's voucher: 8.1.2 outRefundId, 20.1.8 / 21.2.3 refundNo."""
    note: str | None = None
    """Why the refund stands where it does (the last step's outcome)."""

    @classmethod
    def of(cls, order: Order, refund: Refund) -> RefundSummary:
        noted = refund_note(order, refund.out_refund_no)
        return cls(
            out_refund_no=refund.out_refund_no,
            out_trade_no=order.out_trade_no,
            amount=refund.amount,
            state=RefundState(refund.state),
            reason=refund.reason,
            his_refund_no=noted.his_refund_no,
            note=noted.why,
        )


@dataclass(frozen=True, slots=True)
class CardRefundRequested:
    """The user's card-balance refund: one refund per recharge order the balance came from."""

    amount: Decimal
    refunds: list[RefundSummary] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order as callers above the store see it."""

    out_trade_no: str
    flow: str
    state: OrderState
    hospital_id: str
    medical_card_number: str
    total_amount: Decimal
    balance_payment: Decimal
    unified_pay_amount: Decimal
    online_amount: Decimal
    his_serial: str | None
    state_reason: str | None
    hospital_status: tuple[HospitalStatus, ...] = ()
    """What the hospital said about the order since (20.2.1 registration state, 25.2.2 charge status)."""

    @classmethod
    def of(cls, order: Order) -> OrderSummary:
        return cls(
            out_trade_no=order.out_trade_no,
            flow=order.flow,
            state=OrderState(order.state),
            hospital_id=order.hospital_id,
            medical_card_number=order.medical_card_number,
            total_amount=order.total_amount,
            balance_payment=order.balance_payment,
            unified_pay_amount=order.unified_pay_amount,
            online_amount=order.online_amount,
            his_serial=order.his_serial,
            state_reason=order.state_reason,
            hospital_status=tuple(hospital_statuses(order.quote)),
        )


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """What the mini-program needs to pay: the order and wx.requestPayment's parameters."""

    order: OrderSummary
    prepay: PrepayResult | None
    """None when nothing is left to pay online (the card balance covers the bill)."""


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    order: OrderSummary
    duplicate: bool
    """True when this notification (or a concurrent copy) had already been recorded."""
