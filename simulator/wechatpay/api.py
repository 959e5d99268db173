"""WeChat Pay API v3's HTTP routes over a FakeWeChatPay: signed requests in, signed replies out."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from contextvars import ContextVar
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .fake import FakeOrder, FakeRefund, FakeWeChatPay
from .keys import encrypt, rfc3339

SKEW_S = 300

_REQUESTED_SERIAL: ContextVar[str | None] = ContextVar("requested_serial", default=None)
"""The ``Wechatpay-Serial`` the request being answered named (each request runs in its own context)."""


class _Api:
    def __init__(self, fake: FakeWeChatPay) -> None:
        self.fake = fake

    def _reply(self, status: int, document: dict[str, Any] | None = None) -> Response:
        body = b"" if document is None else json.dumps(document, ensure_ascii=False).encode()
        headers = self.fake.signature_headers(body, requested_serial=_REQUESTED_SERIAL.get())
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._reply(status, {"code": code, "message": message})

    async def _admit(self, request: Request) -> tuple[bytes, Response | None]:
        """Check our caller's signature and pending faults; the body, and an early answer if any."""
        fake = self.fake
        _REQUESTED_SERIAL.set(request.headers.get("wechatpay-serial"))
        body = await request.body()
        raw_path = request.scope["raw_path"].decode()
        query = request.scope["query_string"].decode()
        target = raw_path + (f"?{query}" if query else "")
        header = request.headers.get("authorization", "")
        schema, _, rest = header.partition(" ")
        fields = dict(
            (name.strip(), value.strip().strip('"'))
            for name, _, value in (part.partition("=") for part in rest.split(","))
        )
        message = f"{request.method}\n{target}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body.decode()}\n"
        try:
            fake.keys.merchant_key.public_key().verify(
                base64.b64decode(fields.get("signature", "")), message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            fresh = abs(time.time() - int(fields.get("timestamp", "0"))) <= SKEW_S
            valid = (
                schema == "WECHATPAY2-SHA256-RSA2048"
                and fresh
                and fields.get("mchid") == fake.keys.mchid
                and fields.get("serial_no") == fake.keys.merchant_serial_no
                and bool(request.headers.get("user-agent"))
            )
        except Exception:
            valid = False
        if not valid:
            fake.rejected_signatures += 1
            return body, self._error(401, "SIGN_ERROR", "签名错误")
        fake.calls.append((request.method, target))
        if fake.faults:
            status = fake.faults.pop(0)
            return body, self._error(status, "SYSTEM_ERROR", "系统错误")
        return body, None

    async def certificates(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        keys = self.fake.keys
        certificate = keys.platform_certificate
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        entry = {
            "serial_no": keys.platform_serial_no,
            "effective_time": rfc3339(certificate.not_valid_before_utc),
            "expire_time": rfc3339(certificate.not_valid_after_utc),
            "encrypt_certificate": encrypt(keys.apiv3_key, pem, "certificate"),
        }
        return self._reply(200, {"data": [entry]})

    async def jsapi(self, request: Request) -> Response:
        body, early = await self._admit(request)
        if early is not None:
            return early
        fake = self.fake
        order_request = json.loads(body)
        total = order_request.get("amount", {}).get("total")
        if (
            order_request.get("appid") != fake.keys.appid
            or order_request.get("mchid") != fake.keys.mchid
            or not isinstance(total, int)
            or total < 1
            or order_request["amount"].get("currency", "CNY") != "CNY"
            or not order_request.get("payer", {}).get("openid")
            # time_expire is optional; when given it is RFC 3339 with an offset.
            or ("time_expire" in order_request and not datetime.fromisoformat(order_request["time_expire"]).tzinfo)
        ):
            return self._error(400, "PARAM_ERROR", "参数错误")
        with fake._lock:
            existing = fake.orders.get(order_request["out_trade_no"])
            if existing is not None:
                if existing.trade_state != "NOTPAY":
                    return self._error(400, "ORDERPAID" if existing.trade_state != "CLOSED" else "ORDER_CLOSED", "")
                if existing.total != total or existing.description != order_request["description"]:
                    return self._error(400, "INVALID_REQUEST", "商户订单号重复")
                return self._reply(200, {"prepay_id": existing.prepay_id})
            order = FakeOrder(
                out_trade_no=order_request["out_trade_no"],
                description=order_request["description"],
                total=total,
                openid=order_request["payer"]["openid"],
                notify_url=order_request["notify_url"],
                prepay_id=f"wx{secrets.token_hex(16)}",
            )
            fake.orders[order.out_trade_no] = order
        return self._reply(200, {"prepay_id": order.prepay_id})

    async def query_order(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        fake = self.fake
        if request.query_params.get("mchid") != fake.keys.mchid:
            return self._error(400, "PARAM_ERROR", "mchid")
        with fake._lock:
            order = fake.orders.get(request.path_params["out_trade_no"])
            if order is None:
                return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
            return self._reply(200, fake._transaction(order))

    async def close(self, request: Request) -> Response:
        body, early = await self._admit(request)
        if early is not None:
            return early
        fake = self.fake
        if json.loads(body).get("mchid") != fake.keys.mchid:
            return self._error(400, "PARAM_ERROR", "mchid")
        with fake._lock:
            order = fake.orders.get(request.path_params["out_trade_no"])
            if order is None:
                return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.trade_state in {"SUCCESS", "REFUND"}:
                return self._error(400, "ORDERPAID", "订单已支付")
            order.trade_state = "CLOSED"
        return self._reply(204)

    async def create_refund(self, request: Request) -> Response:
        body, early = await self._admit(request)
        if early is not None:
            return early
        fake = self.fake
        refund_request = json.loads(body)
        amount = refund_request.get("amount", {})
        with fake._lock:
            fake._settle_due()
            order = fake.orders.get(refund_request.get("out_trade_no", ""))
            if order is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            existing = fake.refunds.get(refund_request["out_refund_no"])
            if existing is not None:
                if existing.out_trade_no != order.out_trade_no or existing.refund != amount.get("refund"):
                    return self._error(400, "INVALID_REQUEST", "退款单号已用于其他退款")
                return self._reply(200, fake._refund(existing))
            if order.trade_state not in {"SUCCESS", "REFUND"} or order.transaction_id is None:
                return self._error(400, "INVALID_REQUEST", "订单未支付")
            if amount.get("total") != order.total or amount.get("currency", "CNY") != "CNY":
                return self._error(400, "PARAM_ERROR", "订单金额与原订单不符")
            if not isinstance(amount.get("refund"), int) or not 0 < amount["refund"] <= order.total - order.refunded:
                return self._error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            refund = FakeRefund(
                out_refund_no=refund_request["out_refund_no"],
                out_trade_no=order.out_trade_no,
                refund_id=f"50000{secrets.randbelow(10**24):024d}",
                refund=amount["refund"],
                total=order.total,
                transaction_id=order.transaction_id,
                created_at=datetime.now(UTC).replace(microsecond=0),
                notify_url=refund_request.get("notify_url") or None,
            )
            fake.refunds[refund.out_refund_no] = refund
            order.refunded += refund.refund
            order.trade_state = "REFUND"
            return self._reply(200, fake._refund(refund))

    async def query_refund(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        fake = self.fake
        with fake._lock:
            fake._settle_due()
            refund = fake.refunds.get(request.path_params["out_refund_no"])
            if refund is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return self._reply(200, fake._refund(refund))

    async def tradebill(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        fake = self.fake
        bill_date = date.fromisoformat(request.query_params["bill_date"])
        with fake._lock:
            fake._settle_due()
            content = fake._bill(bill_date).encode()
            if not content:
                return self._error(400, "NO_STATEMENT_EXIST", "账单不存在")
            token = secrets.token_hex(8)
            fake._bills[token] = content
        return self._reply(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(content).hexdigest(),  # noqa: S324 - WeChat's choice
                "download_url": f"{str(request.base_url).rstrip('/')}/v3/billdownload/file?token={token}",
            },
        )

    async def download(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        content = self.fake._bills.get(request.query_params.get("token", ""))
        if content is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "账单不存在")
        if self.fake.corrupt_bill_downloads:
            content = content.replace(b"`", b"'", 1)
        return Response(content, media_type="text/plain;charset=utf-8")  # not signed: check its SHA1


def api_routes(fake: FakeWeChatPay) -> list[Route]:
    api = _Api(fake)
    return [
        Route("/v3/certificates", api.certificates, methods=["GET"]),
        Route("/v3/pay/transactions/jsapi", api.jsapi, methods=["POST"]),
        Route("/v3/pay/transactions/out-trade-no/{out_trade_no}", api.query_order, methods=["GET"]),
        Route("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", api.close, methods=["POST"]),
        Route("/v3/refund/domestic/refunds", api.create_refund, methods=["POST"]),
        Route("/v3/refund/domestic/refunds/{out_refund_no}", api.query_refund, methods=["GET"]),
        Route("/v3/bill/tradebill", api.tradebill, methods=["GET"]),
        Route("/v3/billdownload/file", api.download, methods=["GET"]),
    ]


def build_api(fake: FakeWeChatPay) -> Starlette:
    return Starlette(routes=api_routes(fake))
