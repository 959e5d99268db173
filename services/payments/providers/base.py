"""Payment providers behind one interface: the sandbox (demo, tests) and WeChat Pay v3.

Amounts are ``Decimal`` yuan with two places everywhere above this interface; a provider that counts
in fen (WeChat) converts at its own edge. Every call is idempotent on the identifiers we choose
(``out_trade_no``, ``out_refund_no``), so the sagas may repeat any of them after a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol


class TradeState(StrEnum):
    """A payment's state at the provider (WeChat's trade_state names)."""

    NOT_PAID = "NOTPAY"
    PAID = "SUCCESS"
    CLOSED = "CLOSED"
    REFUNDED = "REFUND"
    """Paid, then (partly) refunded."""
    PAYING = "USERPAYING"
    FAILED = "PAYERROR"


class RefundState(StrEnum):
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCESS"
    CLOSED = "CLOSED"
    ABNORMAL = "ABNORMAL"
    """The money could not go back (e.g. the user's card was closed): operators must step in."""


@dataclass(frozen=True, slots=True)
class PrepayResult:
    """What the mini-program needs to open the payment sheet (wx.requestPayment's parameters)."""

    out_trade_no: str
    prepay_id: str
    pay_params: Mapping[str, str]
    """timeStamp, nonceStr, package, signType, paySign: passed to wx.requestPayment as they are."""


@dataclass(frozen=True, slots=True)
class ProviderOrder:
    out_trade_no: str
    state: TradeState
    amount: Decimal
    """What the payer paid (or is to pay), in yuan."""
    transaction_id: str | None = None
    paid_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProviderRefund:
    out_refund_no: str
    out_trade_no: str
    state: RefundState
    amount: Decimal
    refund_id: str | None = None
    succeeded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PaymentNotification:
    """A verified, decrypted "paid" (or "refunded") notification."""

    event_id: str
    """The provider's id of this notification (repeats carry the same one)."""
    event_type: str
    """TRANSACTION.SUCCESS, REFUND.SUCCESS, ..."""
    out_trade_no: str
    state: TradeState
    amount: Decimal
    transaction_id: str | None
    paid_at: datetime | None
    out_refund_no: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BillRow:
    """One line of the provider's trade bill for a day (for reconciliation)."""

    out_trade_no: str
    transaction_id: str
    state: str
    """SUCCESS for a payment, REFUND for a refund line."""
    amount: Decimal
    refund_amount: Decimal
    out_refund_no: str | None
    at: datetime


class InvalidNotification(Exception):
    """A notification whose signature, timestamp or ciphertext does not check out: answered 4xx, ignored."""


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered 5xx: try again later."""


class ProviderRejected(Exception):
    """The provider refused the request (a code and its message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class PaymentProvider(Protocol):
    """What the payment sagas need from a provider."""

    name: str

    async def prepay(
        self,
        *,
        out_trade_no: str,
        amount: Decimal,
        description: str,
        payer_openid: str | None,
        notify_url: str,
        expires_at: datetime,
    ) -> PrepayResult: ...

    async def query_order(self, out_trade_no: str) -> ProviderOrder: ...

    async def close_order(self, out_trade_no: str) -> None: ...

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, amount: Decimal, total: Decimal, reason: str
    ) -> ProviderRefund: ...

    async def query_refund(self, out_refund_no: str) -> ProviderRefund: ...

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Verify and decrypt a notification; raises InvalidNotification."""
        ...

    async def trade_bill(self, bill_date: date) -> list[BillRow]: ...

    async def aclose(self) -> None: ...
