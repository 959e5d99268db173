"""What every payment saga shares: a flow's notification to the hospital and its rules for failure.

Each flow (outpatient bills, recharge, deposits, ...) says how to tell the hospital a payment arrived
and what its chapter prescribes when the hospital does not confirm: keep retrying within a window,
ask 13.1.1 whether the payment may be refunded, or park the order for operators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final, Protocol

from his_clients.client import HisClient
from his_clients.codes import ReturnCode
from his_clients.errors import HisError, HisRejected
from store.orders import Order

PAY_TYPES: Final = {"wechatpay": "WeChatPay", "sandbox": "WeChatPay", "alipay": "AliPay"}
"""The spec's payType for each provider (the sandbox stands in for WeChat Pay)."""

UNCLEAR_CODES: Final = frozenset(
    {
        ReturnCode.PROCESSING,  # 40004: still processing, ask again later
        ReturnCode.BUSY,  # 40001
        ReturnCode.SYSTEM_ERROR,  # 10003
        ReturnCode.DATABASE_ERROR,  # 30001
        ReturnCode.UNKNOWN_ERROR,  # 90001
        ReturnCode.RECHARGE_FAILED_RETRY,  # 60303: "可以继续调用充值接口尝试充值"
    }
)
"""Refusals that are no answer yet: the same call may still succeed, so they are retried like a timeout."""

RETRY_DELAYS: Final = (
    timedelta(seconds=5),
    timedelta(seconds=15),
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try (the last delay repeats)."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


class GiveUp(StrEnum):
    """What a flow does when the hospital refuses or its retry window ends."""

    ASK_REFUNDABLE = "ask_refundable"
    """Ask 13.1.1; only `success: true` with `data: refundable` allows the full refund."""
    PARK = "park"
    """Leave the order to operators."""
    RETRY = "retry"
    """(on refusal only) keep retrying until the window ends."""


@dataclass(frozen=True, slots=True)
class FlowPolicy:
    notify_window: timedelta
    """How long the notification is retried, from the moment the order was paid."""
    on_refusal: GiveUp
    """A clear refusal (a 附四 code that is not in UNCLEAR_CODES)."""
    on_window_end: GiveUp
    refund_query_window: timedelta = timedelta(hours=24)
    """How long 13.1.1 is asked before the order is parked for want of an answer."""
    nonrefundable_means_applied: bool = False
    """True where "nonrefundable" means the hospital kept the payment (5.1.6): NOTIFIED rather than PARKED."""


def is_refusal(error: HisError) -> bool:
    """A clear "no" from the hospital, as opposed to no answer (timeout, 5xx, lost reply, 40004...)."""
    return isinstance(error, HisRejected) and error.code not in UNCLEAR_CODES


class Flow(Protocol):
    """One paid business of the spec, from the hospital's side."""

    name: str
    """Stored in Order.flow."""
    business_type: str
    """The code out_trade_no starts with (ZJZF, JZKCZ, ZYYJ, ...)."""
    policy: FlowPolicy

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str | None:
        """Tell the hospital the payment arrived (same outTradeNo every time); its serial (outPrepayId).

        None where the chapter's reply names no serial (25.1.1, 27.1.2 answer success alone).

        Raises the his_clients error tree when the hospital refuses or gives no clear answer.
        """
        ...


class AsksRefundable(Protocol):
    """A flow whose chapter names its own "may this payment be refunded?" call instead of 13.1.1 (5.1.6)."""

    refund_query_section: str
    """The spec section asked (for the order's history)."""

    async def ask_refundable(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        """The hospital's answer (``refundable``, ``nonrefundable``); raises the his_clients error tree."""
        ...


def asks_refundable(flow: object) -> AsksRefundable | None:
    """The flow as AsksRefundable when it has its own refundability query; None: 13.1.1 is asked."""
    return flow if callable(getattr(flow, "ask_refundable", None)) else None  # type: ignore[return-value]


UNIFIED_PAY_TYPES: Final = {"WeChatPay": "UnifiedPlatform_WeChatPay", "AliPay": "UnifiedPlatform_AliPay"}
"""附六: a payment settled through the unified settlement platform names the platform and the mobile payment."""
UNIFIED_ONLY_PAY_TYPE: Final = "UnifiedPlatform"
"""附六: "只有不使用移动支付的时候才返回此值，包含仅使用院内卡余额，仅使用统一支付平台卡余额，两种卡余额组合支付"."""


def pay_type(order: Order) -> str:
    """The payType the hospital is told: the provider's, or 附六's UnifiedPlatform* for a unified part.

    Only an order with a unified settlement trade number (附六 unifiedPayTradeNo) changes: with nothing
    paid online it is ``UnifiedPlatform``, else ``UnifiedPlatform_<provider's>``. Every other order keeps
    the provider's type (an insurance order's insurer part is no unified settlement).
    """
    own = PAY_TYPES.get(order.provider, "WeChatPay")
    if not order.unified_pay_trade_no or order.unified_pay_amount <= 0:
        return own
    if order.online_amount <= 0:
        return UNIFIED_ONLY_PAY_TYPE
    return UNIFIED_PAY_TYPES.get(own, own)


@dataclass(frozen=True, slots=True)
class HisCancellation:
    """The hospital undid a paid booking: its refund voucher (对账用) and, where it says, how much goes back."""

    his_refund_no: str | None
    amount: Decimal | None = None
    """None: the whole online part goes back (the chapter names no amount)."""
    refundable: bool = True
    """False: the hospital cancelled but gave no refund voucher where its chapter requires one (33.1.5:
    "不返回此字段平台不会给用户退款"): no money goes back automatically, the refund is parked for operators."""


class Cancellable(Protocol):
    """A flow whose paid booking the user may cancel, the hospital first, then the provider refund."""

    name: str
    cancel_window: timedelta
    """How long an unclear cancellation is retried before the refund is parked for operators."""

    async def cancel(self, his: HisClient, order: Order, *, deadline: float | None) -> HisCancellation:
        """Ask the hospital to cancel (idempotent on the booking's id); raises the his_clients error tree."""
        ...


def cancellable(flow: object) -> Cancellable | None:
    """The flow as Cancellable when it lets the user cancel after payment."""
    return flow if callable(getattr(flow, "cancel", None)) and hasattr(flow, "cancel_window") else None  # type: ignore[return-value]


class Releases(Protocol):
    """A flow whose order holds something at the hospital before it is paid: a booked slot (21.2.2), an
    insurer's settlement (5.1.2). It is released when the order is cancelled unpaid or abandoned past its
    payment window and, where `release_after_refund`, when the hospital refused the payment and the
    money went back; otherwise the slot stays taken (or the settlement stands) at the hospital."""

    release_section: str
    """The spec section that releases it (21.2.3, 5.1.3), for the order's history."""
    release_after_refund: bool
    """Also release once a payment the hospital did not apply has gone back (REFUNDED)."""

    async def release(self, his: HisClient, order: Order, *, deadline: float | None) -> None:
        """Release what the order holds (idempotent on the booking's id); raises the his_clients error tree."""
        ...


def releases(flow: object) -> Releases | None:
    """The flow as Releases when its unpaid order holds something at the hospital."""
    return flow if callable(getattr(flow, "release", None)) and hasattr(flow, "release_section") else None  # type: ignore[return-value]
