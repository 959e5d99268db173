"""WeChat Pay's side of a merchant's payments: orders, refunds, notifications and trade bills, in memory.

Payments happen on command: ``fake.pay(out_trade_no)`` marks the order paid and returns the signed,
encrypted TRANSACTION.SUCCESS notification. Refunds stay PROCESSING until ``settle_refund`` (tests), or
settle by themselves ``refund_settles_after`` they were made (a running provider process).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from starlette.applications import Starlette

from .keys import BEIJING, FakeKeys, encrypt, rfc3339, sign, yuan

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
"""``Wechatpay-Signature-Type`` of every signed reply and notification (SDKs refuse anything else)."""

BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
BILL_SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


@dataclass
class FakeOrder:
    out_trade_no: str
    description: str
    total: int
    openid: str
    notify_url: str
    prepay_id: str
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None
    refunded: int = 0
    notification: FakeNotification | None = None
    """The TRANSACTION.SUCCESS notification, made once when paid: every copy sent carries its id."""


@dataclass
class FakeRefund:
    out_refund_no: str
    out_trade_no: str
    refund_id: str
    refund: int
    total: int
    transaction_id: str
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None
    notify_url: str | None = None
    """Where the merchant asked to hear the refund's outcome (REFUND.*), if it asked."""


@dataclass(frozen=True)
class FakeNotification:
    headers: dict[str, str]
    body: bytes


class NotPayable(Exception):
    """The order does not exist or was closed: nobody can pay it."""


@dataclass
class FakeWeChatPay:
    """WeChat's side: state, switches for tests, and what was asked of it."""

    keys: FakeKeys
    signing_mode: Literal["certificate", "public_key"] = "certificate"
    faults: list[int] = field(default_factory=list)
    """Statuses to answer the next signed requests with, in order (e.g. [500])."""
    corrupt_bill_downloads: bool = False
    refund_settles_after: timedelta | None = None
    """None: refunds stay PROCESSING until settle_refund; else they succeed by themselves after this long."""
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    refunds: dict[str, FakeRefund] = field(default_factory=dict)
    refund_notifications: list[tuple[str, str, FakeNotification]] = field(default_factory=list)
    """(notify_url, out_trade_no, REFUND.SUCCESS) of refunds that settled by themselves, for the process to send."""
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(method, path?query) of every request whose signature checked out."""
    rejected_signatures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _bills: dict[str, bytes] = field(default_factory=dict)

    # --- commands from the test -------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.signing_mode = "certificate"
            self.faults.clear()
            self.corrupt_bill_downloads = False
            self.orders.clear()
            self.refunds.clear()
            self.calls.clear()
            self.rejected_signatures = 0
            self._bills.clear()

    def pay(self, out_trade_no: str, *, at: datetime | None = None) -> FakeNotification:
        """The payer pays: the order becomes SUCCESS; returns WeChat's TRANSACTION.SUCCESS notification."""
        with self._lock:
            order = self.orders[out_trade_no]
            if order.trade_state == "NOTPAY":
                order.trade_state = "SUCCESS"
                order.transaction_id = f"42000{secrets.randbelow(10**23):023d}"
                order.success_time = (at or datetime.now(UTC)).replace(microsecond=0)
            document = self._transaction(order)
        return self.notification("TRANSACTION.SUCCESS", "transaction", document, summary="支付成功")

    def pay_once(self, out_trade_no: str) -> tuple[FakeOrder, bool]:
        """The payer pays an open order (a running provider): the order, and whether it was paid just now.

        The notification is made once, at payment, so every copy later sent carries the same id.
        """
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None or order.trade_state == "CLOSED":
                raise NotPayable(out_trade_no)
            if order.trade_state != "NOTPAY":
                return order, False
        notification = self.pay(out_trade_no)
        with self._lock:
            order.notification = notification
        return order, True

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> FakeNotification:
        """The refund finishes (SUCCESS, ABNORMAL or CLOSED); returns the REFUND.* notification."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            self._settle(refund, status)
            return self._refund_notification(refund)

    def take_refund_notifications(self) -> list[tuple[str, str, FakeNotification]]:
        """Settle what is due and hand over the REFUND.* notifications waiting to be sent."""
        with self._lock:
            self._settle_due()
            taken, self.refund_notifications = self.refund_notifications, []
            return taken

    def notification(
        self,
        event_type: str,
        original_type: str,
        resource: dict[str, Any],
        *,
        summary: str = "",
        timestamp: int | None = None,
    ) -> FakeNotification:
        envelope = {
            "id": f"EV-{secrets.token_hex(10)}",
            "create_time": rfc3339(datetime.now(UTC)),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {"original_type": original_type}
            | encrypt(self.keys.apiv3_key, json.dumps(resource, ensure_ascii=False).encode(), original_type),
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        return FakeNotification(headers=self.signature_headers(body, timestamp=timestamp), body=body)

    def signature_headers(
        self, body: bytes, *, timestamp: int | None = None, requested_serial: str | None = None
    ) -> dict[str, str]:
        """WeChat's ``Wechatpay-*`` headers for ``body``.

        A reply is signed with the key the request named in ``Wechatpay-Serial`` (a merchant moving
        from platform certificates to the public key gets replies it can verify); without one, and for
        notifications, with the key the signing mode says.
        """
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        certificate = (self.keys.platform_key, self.keys.platform_serial_no)
        public_key = (self.keys.public_key_key, self.keys.public_key_id)
        if requested_serial == self.keys.public_key_id:
            key, serial = public_key
        elif requested_serial is not None and requested_serial.upper() == self.keys.platform_serial_no:
            key, serial = certificate
        else:
            key, serial = certificate if self.signing_mode == "certificate" else public_key
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sign(key, f"{stamp}\n{nonce}\n{body.decode()}\n"),
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
            "Request-ID": secrets.token_hex(8),
        }

    def refunded_total(self, out_trade_no: str) -> int:
        """Fen refunded (or being refunded) on an order."""
        with self._lock:
            return self.orders[out_trade_no].refunded

    def ledger(self) -> dict[str, Any]:
        """Every order and refund as WeChat holds them (amounts in yuan), for a chaos run's final checks."""
        with self._lock:
            self._settle_due()
            refunds: dict[str, list[dict[str, Any]]] = {}
            for refund in self.refunds.values():
                refunds.setdefault(refund.out_trade_no, []).append(
                    {"outRefundNo": refund.out_refund_no, "amount": yuan(refund.refund), "status": refund.status}
                )
            return {
                "orders": [
                    {
                        "outTradeNo": order.out_trade_no,
                        "state": order.trade_state,
                        "total": yuan(order.total),
                        "refunded": yuan(order.refunded),
                        "refunds": refunds.get(order.out_trade_no, []),
                    }
                    for order in self.orders.values()
                ]
            }

    # --- documents -----------------------------------------------------------------------------

    def _settle(self, refund: FakeRefund, status: str) -> None:
        refund.status = status
        if status == "SUCCESS":
            refund.success_time = datetime.now(UTC).replace(microsecond=0)
        elif status == "CLOSED":  # the money stays with the merchant and may be refunded again
            self.orders[refund.out_trade_no].refunded -= refund.refund

    def _settle_due(self) -> None:
        """Refunds made `refund_settles_after` ago succeed (called under the lock before any read)."""
        if self.refund_settles_after is None:
            return
        now = datetime.now(UTC)
        for refund in self.refunds.values():
            if refund.status == "PROCESSING" and now - refund.created_at >= self.refund_settles_after:
                self._settle(refund, "SUCCESS")
                if refund.notify_url:
                    notification = self._refund_notification(refund)
                    self.refund_notifications.append((refund.notify_url, refund.out_trade_no, notification))

    def _refund_notification(self, refund: FakeRefund) -> FakeNotification:
        document = self._refund(refund) | {"refund_status": refund.status}
        document.pop("status")
        return self.notification(f"REFUND.{refund.status}", "refund", document, summary="退款状态")

    def _transaction(self, order: FakeOrder) -> dict[str, Any]:
        document: dict[str, Any] = {
            "appid": self.keys.appid,
            "mchid": self.keys.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": order.trade_state,
            "trade_state_desc": {"SUCCESS": "支付成功", "NOTPAY": "未支付", "CLOSED": "已关闭"}.get(
                order.trade_state, "转入退款"
            ),
            "attach": "",
            "payer": {"openid": order.openid},
            "amount": {"total": order.total, "currency": "CNY"},
        }
        if order.transaction_id is not None and order.success_time is not None:
            document |= {
                "transaction_id": order.transaction_id,
                "bank_type": "OTHERS",
                "success_time": rfc3339(order.success_time),
                "amount": {
                    "total": order.total,
                    "payer_total": order.total,
                    "currency": "CNY",
                    "payer_currency": "CNY",
                },
            }
        return document

    def _refund(self, refund: FakeRefund) -> dict[str, Any]:
        document: dict[str, Any] = {
            "mchid": self.keys.mchid,
            "refund_id": refund.refund_id,
            "out_refund_no": refund.out_refund_no,
            "transaction_id": refund.transaction_id,
            "out_trade_no": refund.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": rfc3339(refund.created_at),
            "status": refund.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": refund.total,
                "refund": refund.refund,
                "payer_total": refund.total,
                "payer_refund": refund.refund,
                "settlement_refund": refund.refund,
                "settlement_total": refund.total,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if refund.success_time is not None:
            document["success_time"] = rfc3339(refund.success_time)
        return document

    def _bill(self, bill_date: date) -> str:
        lines = [BILL_HEADER]
        order_total = settled_total = refund_total = 0
        fee_total = Decimal(0)
        for order in self.orders.values():
            if order.success_time is None or order.success_time.astimezone(BEIJING).date() != bill_date:
                continue
            fee = (Decimal(order.total) / 100 * Decimal("0.006")).quantize(Decimal("0.00001"))
            fee_total += fee
            order_total += order.total
            settled_total += order.total
            fields = [
                order.success_time.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                self.keys.appid, self.keys.mchid, "0", "", order.transaction_id or "", order.out_trade_no,
                order.openid, "JSAPI", "SUCCESS", "OTHERS", "CNY", yuan(order.total), "0.00", "0", "0", "0.00",
                "0.00", "", "", order.description, "", f"{fee}", "0.60%", yuan(order.total), "0.00", "",
            ]  # fmt: skip
            lines.append(",".join(f"`{value}" for value in fields))
        for refund in self.refunds.values():
            if refund.created_at.astimezone(BEIJING).date() != bill_date:
                continue
            order = self.orders[refund.out_trade_no]
            refund_total += refund.refund
            fields = [
                refund.created_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                self.keys.appid, self.keys.mchid, "0", "", refund.transaction_id, refund.out_trade_no,
                order.openid, "JSAPI", "REFUND", "OTHERS", "CNY", "0.00", "0.00", refund.refund_id,
                refund.out_refund_no, yuan(refund.refund), "0.00", "ORIGINAL", refund.status, order.description,
                "", "0.00000", "0.60%", yuan(refund.total), yuan(refund.refund), "",
            ]  # fmt: skip
            lines.append(",".join(f"`{value}" for value in fields))
        if len(lines) == 1:
            return ""
        lines.append(BILL_SUMMARY_HEADER)
        summary = [
            str(len(lines) - 2), yuan(settled_total), yuan(refund_total), "0.00", f"{fee_total}",
            yuan(order_total), yuan(refund_total),
        ]  # fmt: skip
        lines.append(",".join(f"`{value}" for value in summary))
        return "\r\n".join(lines) + "\r\n"

    # --- the HTTP side -----------------------------------------------------------------------

    def app(self) -> Starlette:
        """WeChat Pay API v3's routes (simulator.wechatpay.api)."""
        from .api import build_api

        return build_api(self)
