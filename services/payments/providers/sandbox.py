"""An in-memory payment provider for the demo and the tests: pays on command, refunds at once.

It behaves like WeChat Pay where the sagas care: prepay is idempotent on out_trade_no, a paid trade's
notification keeps its event id however often it is delivered, refunds are idempotent on
out_refund_no and never exceed what was paid, and a closed trade cannot be paid. Notifications
travel as JSON signed with an HMAC key, so `parse_notification` refuses forged ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from services.payments.clock import CHINA_TIME, Clock, SystemClock

from .base import (
    BillRow,
    InvalidNotification,
    PaymentNotification,
    PrepayResult,
    ProviderOrder,
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
    RefundState,
    TradeState,
)

SIGNATURE_HEADER = "Sandbox-Signature"


@dataclass(slots=True)
class _Trade:
    out_trade_no: str
    amount: Decimal
    description: str
    state: TradeState = TradeState.NOT_PAID
    prepay_id: str = field(default_factory=lambda: f"sbx_prepay_{secrets.token_hex(8)}")
    transaction_id: str | None = None
    paid_at: datetime | None = None
    event_id: str | None = None


class SandboxProvider:
    """PaymentProvider in memory. `pay(out_trade_no)` plays the user paying and returns the notification."""

    name = "sandbox"

    def __init__(self, *, clock: Clock | None = None, secret: bytes | None = None) -> None:
        self._clock = clock or SystemClock()
        self._secret = secret or secrets.token_bytes(32)
        self._trades: dict[str, _Trade] = {}
        self._refunds: dict[str, ProviderRefund] = {}
        self.unavailable = False
        """Set to make every call raise ProviderUnavailable (tests of retries)."""

    async def prepay(
        self,
        *,
        out_trade_no: str,
        amount: Decimal,
        description: str,
        payer_openid: str | None,
        notify_url: str,
        expires_at: datetime,
    ) -> PrepayResult:
        self._check_available()
        trade = self._trades.get(out_trade_no)
        if trade is None:
            trade = self._trades[out_trade_no] = _Trade(out_trade_no, amount, description)
        elif trade.amount != amount:
            raise ProviderRejected("INVALID_REQUEST", "out_trade_no already used with another amount")
        timestamp = str(int(self._clock.now().timestamp()))
        return PrepayResult(
            out_trade_no=out_trade_no,
            prepay_id=trade.prepay_id,
            pay_params={
                "timeStamp": timestamp,
                "nonceStr": secrets.token_hex(16),
                "package": f"prepay_id={trade.prepay_id}",
                "signType": "RSA",
                "paySign": "sandbox",
            },
        )

    def pay(self, out_trade_no: str) -> PaymentNotification:
        """The user pays: the trade becomes paid; its notification (same event id on every call)."""
        trade = self._trades.get(out_trade_no)
        if trade is None:
            raise ProviderRejected("ORDERNOTEXIST", f"no trade {out_trade_no}")
        if trade.state is TradeState.CLOSED:
            raise ProviderRejected("ORDERCLOSED", f"trade {out_trade_no} is closed")
        if trade.state is TradeState.NOT_PAID:
            trade.state = TradeState.PAID
            trade.transaction_id = f"sbx{secrets.token_hex(12)}"
            trade.paid_at = self._clock.now()
            trade.event_id = f"EV-{secrets.token_hex(8)}"
        return self.notification(out_trade_no)

    def notification(self, out_trade_no: str) -> PaymentNotification:
        """The paid notification of a paid trade, as often as wanted (duplicates are identical)."""
        trade = self._trades[out_trade_no]
        if trade.event_id is None:
            raise ProviderRejected("ORDERNOTPAID", f"trade {out_trade_no} is not paid")
        return PaymentNotification(
            event_id=trade.event_id,
            event_type="TRANSACTION.SUCCESS",
            out_trade_no=out_trade_no,
            state=TradeState.PAID,
            amount=trade.amount,
            transaction_id=trade.transaction_id,
            paid_at=trade.paid_at,
        )

    def encode_notification(self, notification: PaymentNotification) -> tuple[dict[str, str], bytes]:
        """The notification as the sandbox sends it over HTTP: signed JSON."""
        body = json.dumps(
            {
                "event_id": notification.event_id,
                "event_type": notification.event_type,
                "out_trade_no": notification.out_trade_no,
                "state": notification.state.value,
                "amount": str(notification.amount),
                "transaction_id": notification.transaction_id,
                "paid_at": notification.paid_at.isoformat() if notification.paid_at else None,
            },
            separators=(",", ":"),
        ).encode()
        return {SIGNATURE_HEADER: self._sign(body)}, body

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        signature = {key.lower(): value for key, value in headers.items()}.get(SIGNATURE_HEADER.lower(), "")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidNotification("bad sandbox signature")
        try:
            data = json.loads(body)
            return PaymentNotification(
                event_id=str(data["event_id"]),
                event_type=str(data["event_type"]),
                out_trade_no=str(data["out_trade_no"]),
                state=TradeState(data["state"]),
                amount=Decimal(data["amount"]),
                transaction_id=data.get("transaction_id"),
                paid_at=datetime.fromisoformat(data["paid_at"]) if data.get("paid_at") else None,
                raw=data,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidNotification(f"malformed sandbox notification: {exc!r}") from None

    async def query_order(self, out_trade_no: str) -> ProviderOrder:
        self._check_available()
        trade = self._trades.get(out_trade_no)
        if trade is None:
            raise ProviderRejected("ORDERNOTEXIST", f"no trade {out_trade_no}")
        state = trade.state
        if state is TradeState.PAID and self._refunded(out_trade_no) > 0:
            state = TradeState.REFUNDED
        return ProviderOrder(out_trade_no, state, trade.amount, trade.transaction_id, trade.paid_at)

    async def close_order(self, out_trade_no: str) -> None:
        self._check_available()
        trade = self._trades.get(out_trade_no)
        if trade is None:
            return
        if trade.state is TradeState.PAID:
            raise ProviderRejected("ORDERPAID", f"trade {out_trade_no} is already paid")
        trade.state = TradeState.CLOSED

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, amount: Decimal, total: Decimal, reason: str
    ) -> ProviderRefund:
        self._check_available()
        existing = self._refunds.get(out_refund_no)
        if existing is not None:
            if existing.out_trade_no != out_trade_no or existing.amount != amount:
                raise ProviderRejected("INVALID_REQUEST", "out_refund_no already used for another refund")
            return existing
        trade = self._trades.get(out_trade_no)
        if trade is None or trade.state is not TradeState.PAID:
            raise ProviderRejected("RESOURCE_NOT_EXISTS", f"no paid trade {out_trade_no}")
        if total != trade.amount:
            raise ProviderRejected("INVALID_REQUEST", "total does not match the paid amount")
        if amount <= 0 or self._refunded(out_trade_no) + amount > trade.amount:
            raise ProviderRejected("NOT_ENOUGH", "refund exceeds what is left of the payment")
        refund = ProviderRefund(
            out_refund_no=out_refund_no,
            out_trade_no=out_trade_no,
            state=RefundState.SUCCEEDED,
            amount=amount,
            refund_id=f"sbxr{secrets.token_hex(10)}",
            succeeded_at=self._clock.now(),
        )
        self._refunds[out_refund_no] = refund
        return refund

    async def query_refund(self, out_refund_no: str) -> ProviderRefund:
        self._check_available()
        refund = self._refunds.get(out_refund_no)
        if refund is None:
            raise ProviderRejected("RESOURCE_NOT_EXISTS", f"no refund {out_refund_no}")
        return refund

    async def trade_bill(self, bill_date: date) -> list[BillRow]:
        """Payments and refunds of one day (Beijing time), as the provider's bill lists them."""
        rows = [
            BillRow(t.out_trade_no, t.transaction_id or "", "SUCCESS", t.amount, Decimal("0.00"), None, t.paid_at)
            for t in self._trades.values()
            if t.paid_at is not None and t.paid_at.astimezone(CHINA_TIME).date() == bill_date
        ]
        for refund in self._refunds.values():
            at = refund.succeeded_at or datetime.now(UTC)
            if at.astimezone(CHINA_TIME).date() != bill_date:
                continue
            trade = self._trades[refund.out_trade_no]
            rows.append(
                BillRow(
                    refund.out_trade_no,
                    trade.transaction_id or "",
                    "REFUND",
                    trade.amount,
                    refund.amount,
                    refund.out_refund_no,
                    at,
                )
            )
        return rows

    def refunds_of(self, out_trade_no: str) -> list[ProviderRefund]:
        """Every refund of a trade (tests check nothing was refunded twice)."""
        return [refund for refund in self._refunds.values() if refund.out_trade_no == out_trade_no]

    async def aclose(self) -> None:
        return None

    def _refunded(self, out_trade_no: str) -> Decimal:
        return sum(
            (r.amount for r in self._refunds.values() if r.out_trade_no == out_trade_no and r.state != "CLOSED"),
            Decimal("0"),
        )

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def _check_available(self) -> None:
        if self.unavailable:
            raise ProviderUnavailable("sandbox switched off")
