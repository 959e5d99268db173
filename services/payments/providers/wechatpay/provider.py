"""WeChat Pay API v3 for a direct merchant: JSAPI payments from the mini-program, refunds and bills."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

from ..base import (
    BillRow,
    InvalidNotification,
    PaymentNotification,
    PrepayResult,
    ProviderOrder,
    ProviderRefund,
    ProviderRejected,
    ProviderUnavailable,
)
from .bills import BEIJING, MalformedBill, parse_trade_bill
from .certificates import download_certificates
from .client import Reply, ResponseNotVerified, WeChatPayClient, WeChatPayProtocolError
from .config import WeChatPayConfig
from .money import yuan_to_fen
from .notifications import read_notification
from .resources import MalformedResource, order_from, refund_from
from .signing import load_private_key, load_public_key, new_nonce, pay_sign
from .verification import PlatformCertificate, PlatformKeys, SignatureRejected

T = TypeVar("T")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WeChatPayProvider:
    """The ``PaymentProvider`` for WeChat Pay; one per merchant, closed with ``aclose()``.

    ``clock`` tells the time used in our signatures and to judge WeChat's (tests move it).
    """

    name = "wechatpay"

    def __init__(self, config: WeChatPayConfig, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._config = config
        self._clock = clock
        self._private_key = load_private_key(config.merchant_private_key.get_secret_value())
        self._apiv3_key = config.apiv3_key.get_secret_value().encode()
        self._client = WeChatPayClient(config, private_key=self._private_key, clock=clock)
        public_key = None
        if config.platform_public_key is not None and config.platform_public_key_id is not None:
            public_key = (config.platform_public_key_id, load_public_key(config.platform_public_key))
        self._keys = PlatformKeys(
            public_key=public_key,
            download_certificates=self._download_certificates if config.use_platform_certificates else None,
            clock=clock,
        )

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
        """JSAPI order (统一下单); repeating it with the same parameters gives the same prepay_id."""
        if payer_openid is None:
            raise ValueError("a JSAPI payment needs the payer's openid")
        if expires_at.tzinfo is None:
            raise ValueError("expires_at needs a time zone")
        reply = await self._call(
            "POST",
            "/v3/pay/transactions/jsapi",
            json_body={
                "appid": self._config.appid,
                "mchid": self._config.mchid,
                "description": description,
                "out_trade_no": out_trade_no,
                "time_expire": expires_at.astimezone(BEIJING).isoformat(timespec="seconds"),
                "notify_url": notify_url,
                "amount": {"total": _positive_fen(amount), "currency": "CNY"},
                "payer": {"openid": payer_openid},
            },
        )
        prepay_id = reply.get("prepay_id")
        if not isinstance(prepay_id, str) or not prepay_id:
            raise WeChatPayProtocolError("prepay reply without prepay_id")
        timestamp, nonce, package = int(self._clock().timestamp()), new_nonce(), f"prepay_id={prepay_id}"
        signature = pay_sign(
            self._private_key, appid=self._config.appid, timestamp=timestamp, nonce=nonce, package=package
        )
        return PrepayResult(
            out_trade_no=out_trade_no,
            prepay_id=prepay_id,
            pay_params={
                "timeStamp": str(timestamp),
                "nonceStr": nonce,
                "package": package,
                "signType": "RSA",
                "paySign": signature,
            },
        )

    async def query_order(self, out_trade_no: str) -> ProviderOrder:
        reply = await self._call(
            "GET",
            f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}",
            query={"mchid": self._config.mchid},
        )
        return _read(order_from, reply)

    async def close_order(self, out_trade_no: str) -> None:
        await self._call(
            "POST",
            f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close",
            json_body={"mchid": self._config.mchid},
            expect_body=False,
        )

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, amount: Decimal, total: Decimal, reason: str
    ) -> ProviderRefund:
        """Refund (申请退款); WeChat refunds an out_refund_no once however often it is asked."""
        if amount > total:
            raise ValueError(f"refund {amount} exceeds the payment's {total}")
        body: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": _positive_fen(amount), "total": _positive_fen(total), "currency": "CNY"},
        }
        if reason:
            body["reason"] = reason
        if self._config.notify_url:
            body["notify_url"] = self._config.notify_url
        reply = await self._call("POST", "/v3/refund/domestic/refunds", json_body=body)
        return _read(refund_from, reply)

    async def query_refund(self, out_refund_no: str) -> ProviderRefund:
        reply = await self._call("GET", f"/v3/refund/domestic/refunds/{quote(out_refund_no, safe='')}")
        return _read(refund_from, reply)

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> PaymentNotification:
        """Verify and decrypt a notification; raises InvalidNotification.

        ProviderUnavailable when the certificate it names is new to us and WeChat cannot be reached to
        fetch it: answer 5xx and WeChat sends it again.
        """
        try:
            await self._keys.verify(headers, body)
        except SignatureRejected as exc:
            raise InvalidNotification(str(exc)) from exc
        return read_notification(body, apiv3_key=self._apiv3_key, mchid=self._config.mchid, appid=self._config.appid)

    async def trade_bill(self, bill_date: date) -> list[BillRow]:
        """Every payment and refund of a (Beijing) day; [] for a day without any."""
        try:
            reply = await self._call(
                "GET", "/v3/bill/tradebill", query={"bill_date": bill_date.isoformat(), "bill_type": "ALL"}
            )
        except ProviderRejected as exc:
            if exc.code == "NO_STATEMENT_EXIST":
                return []
            if exc.code == "STATEMENT_CREATING":  # bills are ready from about 10:00 the next day
                raise ProviderUnavailable(f"the bill of {bill_date} is not ready yet") from exc
            raise
        download_url, hash_type, hash_value = (reply.get(name) for name in ("download_url", "hash_type", "hash_value"))
        if not isinstance(download_url, str) or hash_type != "SHA1" or not isinstance(hash_value, str):
            raise WeChatPayProtocolError(f"unexpected bill reply: {reply}")
        content = await self._client.download(download_url)
        if not hmac.compare_digest(hashlib.sha1(content).hexdigest(), hash_value.lower()):  # noqa: S324 - WeChat's choice
            raise WeChatPayProtocolError("the downloaded bill does not match its SHA1")
        try:
            return parse_trade_bill(content.decode("utf-8"))
        except (UnicodeDecodeError, MalformedBill) as exc:
            raise WeChatPayProtocolError(f"unreadable bill of {bill_date}: {exc}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        expect_body: bool = True,
    ) -> dict[str, Any]:
        """A signed call whose 2xx reply must carry WeChat's valid signature; its JSON ({} if none)."""
        reply: Reply = await self._client.request(method, path, query=query, json_body=json_body)
        try:
            await self._keys.verify(reply.headers, reply.body)
        except SignatureRejected as exc:
            raise ResponseNotVerified(f"{method} {path}: {exc}") from exc
        if not expect_body and not reply.body:
            return {}
        return reply.json()

    async def _download_certificates(self) -> list[PlatformCertificate]:
        return await download_certificates(
            self._client, apiv3_key=self._apiv3_key, clock=self._clock, also_trusted=self._keys.known
        )


def _positive_fen(amount: Decimal) -> int:
    fen = yuan_to_fen(amount)
    if fen <= 0:
        raise ValueError(f"amount must be at least 0.01 yuan: {amount}")
    return fen


def _read(parse: Callable[[Mapping[str, Any]], T], reply: Mapping[str, Any]) -> T:
    try:
        return parse(reply)
    except MalformedResource as exc:
        raise WeChatPayProtocolError(f"unreadable reply: {exc}") from exc
