"""The 14.1.x wire records: what the ledger answers hospitals' reconciliation queries with.

services/payments/reconciliation.py computes them from the ledger; `to_wire()` gives each in the spec's
field names, and the shims (api/shims/reconciliation.py) wrap them in the spec's envelope. Amounts are
Decimal, written as two-decimal JSON numbers (``23.50``, ``-0.01``) as the spec's examples write them;
times are the spec's `yyyy-MM-dd HH:mm:ss` in Beijing time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Final

CENT: Final = Decimal("0.01")


def _money(amount: Decimal) -> Decimal:
    """14.1.x amounts: a JSON number with two decimal places (``23.50``, ``-0.01``), as the spec's examples
    write them. Kept Decimal here; the shims' envelope (api/shims/envelope.py) writes it as number text."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeLine:
    """One line of 14.1.1 (指定时间段内交易信息查询): a payment, or a refund on its own line."""

    out_trade_no: str
    """outTradeNo: the order number for a payment, the refund number for a refund."""
    source_out_trade_no: str
    """sourceOutTradeNo: the order paid (the same as out_trade_no for a payment)."""
    refund_order_no: str | None
    """refundOrderNo: the refund's number as its initiator knows it (the hospital's when it gave one)."""
    pay_time: str
    """payTime: paid (payment) or refunded (refund), yyyy-MM-dd HH:mm:ss Beijing time."""
    state_des: str
    amount: Decimal
    """Positive for a payment (the online part), negative for a refund."""
    custom_name: str | None
    payer_name: str | None
    transaction_id: str
    """The provider's id: of the payment, or of the refund."""
    pay_type: str
    hospital_id: str
    business_type: str
    at: datetime
    """payTime as an aware datetime (sorting, the daily check)."""

    @property
    def is_refund(self) -> bool:
        return self.refund_order_no is not None or self.out_trade_no != self.source_out_trade_no

    def to_wire(self) -> dict[str, Any]:
        return {
            "outTradeNo": self.out_trade_no,
            "sourceOutTradeNo": self.source_out_trade_no,
            "refundOrderNo": self.refund_order_no,
            "payTime": self.pay_time,
            "stateDes": self.state_des,
            "amount": _money(self.amount),
            "customName": self.custom_name,
            "payerName": self.payer_name,
            "transactionId": self.transaction_id,
            "payType": self.pay_type,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLogEntry:
    """14.1.2 orderLog: one step of a refund."""

    description: str
    create_time: str

    def to_wire(self) -> dict[str, Any]:
        return {"description": self.description, "createTime": self.create_time}


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundRecord:
    """One element of 14.1.2's data (根据院内退款单号查询退款记录)."""

    refund_success: bool
    out_trade_no: str
    """outTradeNo: our refund number."""
    source_out_trade_no: str
    """sourceOutTradeNo: the order refunded."""
    refund_order_no: str
    """refundOrderNo: the refund number of whoever started it (the hospital's when it gave one)."""
    pay_time: str
    """When the refund succeeded (when it was asked for, while it has not)."""
    state_des: str
    amount: Decimal
    """Negative: money going back."""
    custom_name: str | None
    payer_name: str | None
    transaction_id: str
    """The provider's refund id, else the payment's transaction id."""
    order_log: list[OrderLogEntry] = field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return {
            "refundSuccess": self.refund_success,
            "outTradeNo": self.out_trade_no,
            "sourceOutTradeNo": self.source_out_trade_no,
            "refundOrderNo": self.refund_order_no,
            "payTime": self.pay_time,
            "stateDes": self.state_des,
            "amount": _money(self.amount),
            "customName": self.custom_name,
            "payerName": self.payer_name,
            "transactionId": self.transaction_id,
            "orderLog": [entry.to_wire() for entry in self.order_log],
        }


class RecordState(StrEnum):
    """14.1.3 state: NOTPAY / SUCCESS / REFUND for a payment, PROCESSING / REFUND_SUCCESS / REFUND_FAIL for a refund."""

    NOT_PAID = "NOTPAY"
    SUCCESS = "SUCCESS"
    REFUND = "REFUND"
    PROCESSING = "PROCESSING"
    REFUND_SUCCESS = "REFUND_SUCCESS"
    REFUND_FAIL = "REFUND_FAIL"


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRecord:
    """14.1.3's data (根据订单号查询支付记录): one payment or one refund."""

    out_trade_no: str
    pay_time: str | None
    """When it completed; None while it has not (an unpaid order, a refund under way)."""
    state: RecordState
    amount: Decimal
    """Positive for a payment (the online part), negative for a refund."""
    transaction_id: str | None

    def to_wire(self) -> dict[str, Any]:
        return {
            "outTradeNo": self.out_trade_no,
            "payTime": self.pay_time,
            "state": self.state.value,
            "amount": _money(self.amount),
            "transactionId": self.transaction_id,
        }


__all__ = ["CENT", "OrderLogEntry", "PaymentRecord", "RecordState", "RefundRecord", "TradeLine"]
