"""A fake WeChat Pay API v3 on loopback, with keys the tests generate, to test our provider against.

It checks our ``Authorization`` signatures with the merchant public key, signs its replies with the
platform certificate's key (certificate mode) or with the WeChat Pay public key's (public-key mode),
serves ``/v3/certificates`` encrypted under the APIv3 key, keeps orders and refunds in memory, and
builds trade bills. Payments happen on command: ``fake.pay(out_trade_no)`` marks the order paid and
returns the signed, encrypted notification for the test to hand to ``parse_notification``.

Its cryptography is written here again from WeChat's documentation, not borrowed from the provider,
so a mistake in the provider's message format cannot be agreed with by the fake.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BEIJING = timezone(timedelta(hours=8))
SKEW = timedelta(minutes=5)
BILL_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,"
    "货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,"
    "商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
BILL_SUMMARY_HEADER = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"


def _pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class FakeKeys:
    """A merchant's keys and WeChat's, made up for a test session."""

    mchid: str
    appid: str
    apiv3_key: str
    merchant_key: rsa.RSAPrivateKey
    merchant_serial_no: str
    platform_key: rsa.RSAPrivateKey
    platform_certificate: x509.Certificate
    public_key_key: rsa.RSAPrivateKey
    """The private half of the WeChat Pay public key (public-key mode)."""
    public_key_id: str

    @property
    def platform_serial_no(self) -> str:
        return f"{self.platform_certificate.serial_number:X}"

    @property
    def merchant_private_key_pem(self) -> str:
        return _pem_private(self.merchant_key)

    @property
    def public_key_pem(self) -> str:
        return _pem_public(self.public_key_key.public_key())


def generate_keys() -> FakeKeys:
    platform_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (fake)")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(platform_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(platform_key, hashes.SHA256())
    )
    return FakeKeys(
        mchid="1900009191",
        appid="wxd678efh567hg6787",
        apiv3_key=secrets.token_hex(16),
        merchant_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        merchant_serial_no=secrets.token_hex(20).upper(),
        platform_key=platform_key,
        platform_certificate=certificate,
        public_key_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        public_key_id=f"PUB_KEY_ID_{secrets.randbelow(10**20):020d}",
    )


def _sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def _encrypt(apiv3_key: str, plaintext: bytes, associated_data: str) -> dict[str, str]:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")


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


@dataclass(frozen=True)
class FakeNotification:
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeWeChatPay:
    """WeChat's side: state, switches for tests, and what was asked of it."""

    keys: FakeKeys
    signing_mode: Literal["certificate", "public_key"] = "certificate"
    faults: list[int] = field(default_factory=list)
    """Statuses to answer the next signed requests with, in order (e.g. [500])."""
    corrupt_bill_downloads: bool = False
    orders: dict[str, FakeOrder] = field(default_factory=dict)
    refunds: dict[str, FakeRefund] = field(default_factory=dict)
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

    def settle_refund(self, out_refund_no: str, status: str = "SUCCESS") -> FakeNotification:
        """The refund finishes (SUCCESS, ABNORMAL or CLOSED); returns the REFUND.* notification."""
        with self._lock:
            refund = self.refunds[out_refund_no]
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = datetime.now(UTC).replace(microsecond=0)
            elif status == "CLOSED":  # the money stays with the merchant and may be refunded again
                self.orders[refund.out_trade_no].refunded -= refund.refund
            document = self._refund(refund) | {"refund_status": status}
            document.pop("status")
        return self.notification(f"REFUND.{status}", "refund", document, summary="退款状态")

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
            "create_time": _rfc3339(datetime.now(UTC)),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {"original_type": original_type}
            | _encrypt(self.keys.apiv3_key, json.dumps(resource, ensure_ascii=False).encode(), original_type),
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        return FakeNotification(headers=self.signature_headers(body, timestamp=timestamp), body=body)

    def signature_headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """WeChat's ``Wechatpay-*`` headers for ``body``, by the key the signing mode says."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        if self.signing_mode == "certificate":
            key, serial = self.keys.platform_key, self.keys.platform_serial_no
        else:
            key, serial = self.keys.public_key_key, self.keys.public_key_id
        return {
            "Wechatpay-Timestamp": stamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": _sign(key, f"{stamp}\n{nonce}\n{body.decode()}\n"),
            "Wechatpay-Serial": serial,
            "Request-ID": secrets.token_hex(8),
        }

    def refunded_total(self, out_trade_no: str) -> int:
        """Fen refunded (or being refunded) on an order."""
        with self._lock:
            return self.orders[out_trade_no].refunded

    # --- documents -----------------------------------------------------------------------------

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
                "success_time": _rfc3339(order.success_time),
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
            "create_time": _rfc3339(refund.created_at),
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
            document["success_time"] = _rfc3339(refund.success_time)
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
                order.openid, "JSAPI", "SUCCESS", "OTHERS", "CNY", _yuan(order.total), "0.00", "0", "0", "0.00",
                "0.00", "", "", order.description, "", f"{fee}", "0.60%", _yuan(order.total), "0.00", "",
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
                refund.out_refund_no, _yuan(refund.refund), "0.00", "ORIGINAL", refund.status, order.description,
                "", "0.00000", "0.60%", _yuan(refund.total), _yuan(refund.refund), "",
            ]  # fmt: skip
            lines.append(",".join(f"`{value}" for value in fields))
        if len(lines) == 1:
            return ""
        lines.append(BILL_SUMMARY_HEADER)
        summary = [
            str(len(lines) - 2), _yuan(settled_total), _yuan(refund_total), "0.00", f"{fee_total}",
            _yuan(order_total), _yuan(refund_total),
        ]  # fmt: skip
        lines.append(",".join(f"`{value}" for value in summary))
        return "\r\n".join(lines) + "\r\n"

    # --- the HTTP side -----------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v3/certificates", self._certificates, methods=["GET"]),
                Route("/v3/pay/transactions/jsapi", self._jsapi, methods=["POST"]),
                Route("/v3/pay/transactions/out-trade-no/{out_trade_no}", self._query_order, methods=["GET"]),
                Route("/v3/pay/transactions/out-trade-no/{out_trade_no}/close", self._close, methods=["POST"]),
                Route("/v3/refund/domestic/refunds", self._create_refund, methods=["POST"]),
                Route("/v3/refund/domestic/refunds/{out_refund_no}", self._query_refund, methods=["GET"]),
                Route("/v3/bill/tradebill", self._tradebill, methods=["GET"]),
                Route("/v3/billdownload/file", self._download, methods=["GET"]),
            ]
        )

    def _reply(self, status: int, document: dict[str, Any] | None = None) -> Response:
        body = b"" if document is None else json.dumps(document, ensure_ascii=False).encode()
        return Response(body, status_code=status, media_type="application/json", headers=self.signature_headers(body))

    def _error(self, status: int, code: str, message: str) -> Response:
        return self._reply(status, {"code": code, "message": message})

    async def _admit(self, request: Request) -> tuple[bytes, Response | None]:
        """Check our caller's signature and pending faults; the body, and an early answer if any."""
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
            self.keys.merchant_key.public_key().verify(
                base64.b64decode(fields.get("signature", "")), message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            fresh = abs(time.time() - int(fields.get("timestamp", "0"))) <= SKEW.total_seconds()
            valid = (
                schema == "WECHATPAY2-SHA256-RSA2048"
                and fresh
                and fields.get("mchid") == self.keys.mchid
                and fields.get("serial_no") == self.keys.merchant_serial_no
                and bool(request.headers.get("user-agent"))
            )
        except Exception:
            valid = False
        if not valid:
            self.rejected_signatures += 1
            return body, self._error(401, "SIGN_ERROR", "签名错误")
        self.calls.append((request.method, target))
        if self.faults:
            status = self.faults.pop(0)
            return body, self._error(status, "SYSTEM_ERROR", "系统错误")
        return body, None

    async def _certificates(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        certificate = self.keys.platform_certificate
        pem = certificate.public_bytes(serialization.Encoding.PEM)
        entry = {
            "serial_no": self.keys.platform_serial_no,
            "effective_time": _rfc3339(certificate.not_valid_before_utc),
            "expire_time": _rfc3339(certificate.not_valid_after_utc),
            "encrypt_certificate": _encrypt(self.keys.apiv3_key, pem, "certificate"),
        }
        return self._reply(200, {"data": [entry]})

    async def _jsapi(self, request: Request) -> Response:
        body, early = await self._admit(request)
        if early is not None:
            return early
        order_request = json.loads(body)
        total = order_request.get("amount", {}).get("total")
        if (
            order_request.get("appid") != self.keys.appid
            or order_request.get("mchid") != self.keys.mchid
            or not isinstance(total, int)
            or total < 1
            or order_request["amount"].get("currency", "CNY") != "CNY"
            or not order_request.get("payer", {}).get("openid")
            or not datetime.fromisoformat(order_request["time_expire"]).tzinfo
        ):
            return self._error(400, "PARAM_ERROR", "参数错误")
        with self._lock:
            existing = self.orders.get(order_request["out_trade_no"])
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
            self.orders[order.out_trade_no] = order
        return self._reply(200, {"prepay_id": order.prepay_id})

    async def _query_order(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        if request.query_params.get("mchid") != self.keys.mchid:
            return self._error(400, "PARAM_ERROR", "mchid")
        with self._lock:
            order = self.orders.get(request.path_params["out_trade_no"])
            if order is None:
                return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
            return self._reply(200, self._transaction(order))

    async def _close(self, request: Request) -> Response:
        body, early = await self._admit(request)
        if early is not None:
            return early
        if json.loads(body).get("mchid") != self.keys.mchid:
            return self._error(400, "PARAM_ERROR", "mchid")
        with self._lock:
            order = self.orders.get(request.path_params["out_trade_no"])
            if order is None:
                return self._error(404, "ORDER_NOT_EXIST", "订单不存在")
            if order.trade_state in {"SUCCESS", "REFUND"}:
                return self._error(400, "ORDERPAID", "订单已支付")
            order.trade_state = "CLOSED"
        return self._reply(204)

    async def _create_refund(self, request: Request) -> Response:
        body, early = await self._admit(request)
        if early is not None:
            return early
        refund_request = json.loads(body)
        amount = refund_request.get("amount", {})
        with self._lock:
            order = self.orders.get(refund_request.get("out_trade_no", ""))
            if order is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            existing = self.refunds.get(refund_request["out_refund_no"])
            if existing is not None:
                if existing.out_trade_no != order.out_trade_no or existing.refund != amount.get("refund"):
                    return self._error(400, "INVALID_REQUEST", "退款单号已用于其他退款")
                return self._reply(200, self._refund(existing))
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
            )
            self.refunds[refund.out_refund_no] = refund
            order.refunded += refund.refund
            order.trade_state = "REFUND"
            return self._reply(200, self._refund(refund))

    async def _query_refund(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        with self._lock:
            refund = self.refunds.get(request.path_params["out_refund_no"])
            if refund is None:
                return self._error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
            return self._reply(200, self._refund(refund))

    async def _tradebill(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        bill_date = date.fromisoformat(request.query_params["bill_date"])
        with self._lock:
            content = self._bill(bill_date).encode()
            if not content:
                return self._error(400, "NO_STATEMENT_EXIST", "账单不存在")
            token = secrets.token_hex(8)
            self._bills[token] = content
        return self._reply(
            200,
            {
                "hash_type": "SHA1",
                "hash_value": hashlib.sha1(content).hexdigest(),
                "download_url": f"{str(request.base_url).rstrip('/')}/v3/billdownload/file?token={token}",
            },
        )

    async def _download(self, request: Request) -> Response:
        _, early = await self._admit(request)
        if early is not None:
            return early
        content = self._bills.get(request.query_params.get("token", ""))
        if content is None:
            return self._error(404, "RESOURCE_NOT_EXISTS", "账单不存在")
        if self.corrupt_bill_downloads:
            content = content.replace(b"`", b"'", 1)
        return Response(content, media_type="text/plain;charset=utf-8")  # not signed: check its SHA1


@dataclass
class RunningFakeWeChatPay:
    fake: FakeWeChatPay
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def start_fake_wechatpay(keys: FakeKeys) -> RunningFakeWeChatPay:
    """Serve a fake WeChat Pay on a free loopback port in a daemon thread."""
    fake = FakeWeChatPay(keys=keys)
    config = uvicorn.Config(
        fake.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name="fake-wechatpay", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake WeChat Pay did not start")
        time.sleep(0.01)
    port = next(sock.getsockname()[1] for listener in server.servers for sock in listener.sockets)
    return RunningFakeWeChatPay(fake=fake, port=port, _server=server, _thread=thread)
