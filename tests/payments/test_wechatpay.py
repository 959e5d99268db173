"""The WeChat Pay v3 provider against a fake WeChat Pay on loopback, with keys made up for the session."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given
from hypothesis import strategies as st

from services.payments.providers.base import (
    InvalidNotification,
    ProviderRejected,
    ProviderUnavailable,
    RefundState,
    TradeState,
)
from services.payments.providers.wechatpay import (
    ResponseNotVerified,
    WeChatPayConfig,
    WeChatPayProtocolError,
    WeChatPayProvider,
    fen_to_yuan,
    yuan_to_fen,
)
from services.payments.providers.wechatpay.bills import parse_trade_bill
from services.payments.providers.wechatpay.signing import authorization

from .fake_wechatpay import FakeKeys, FakeWeChatPay, RunningFakeWeChatPay, generate_keys, start_fake_wechatpay

NOTIFY_URL = "https://gateway.example.org/payments/wechatpay/notify"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.fixture(scope="session")
def keys() -> FakeKeys:
    return generate_keys()


@pytest.fixture(scope="session")
def running(keys: FakeKeys) -> Iterator[RunningFakeWeChatPay]:
    server = start_fake_wechatpay(keys)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake(running: RunningFakeWeChatPay) -> FakeWeChatPay:
    running.fake.reset()
    return running.fake


def make_config(keys: FakeKeys, base_url: str, *, mode: str = "certificate", **overrides: Any) -> WeChatPayConfig:
    """``mode``: certificate (platform certificates only), public_key (only it), or both."""
    fields: dict[str, Any] = {
        "mchid": keys.mchid,
        "appid": keys.appid,
        "merchant_serial_no": keys.merchant_serial_no,
        "merchant_private_key": keys.merchant_private_key_pem,
        "apiv3_key": keys.apiv3_key,
        "base_url": base_url,
        "notify_url": NOTIFY_URL,
        "use_platform_certificates": mode in {"certificate", "both"},
    }
    if mode in {"public_key", "both"}:
        fields |= {"platform_public_key": keys.public_key_pem, "platform_public_key_id": keys.public_key_id}
    return WeChatPayConfig.model_validate(fields | overrides)


@pytest.fixture
async def make_provider(
    keys: FakeKeys, running: RunningFakeWeChatPay
) -> AsyncIterator[Callable[..., WeChatPayProvider]]:
    """Providers configured for the fake (``mode`` and config fields as keywords), closed after the test."""
    made: list[WeChatPayProvider] = []

    def make(
        *, mode: str = "certificate", clock: Callable[[], datetime] | None = None, **fields: Any
    ) -> WeChatPayProvider:
        config = make_config(keys, fields.pop("base_url", running.base_url), mode=mode, **fields)
        provider = WeChatPayProvider(config) if clock is None else WeChatPayProvider(config, clock=clock)
        made.append(provider)
        return provider

    try:
        yield make
    finally:
        for provider in made:
            await provider.aclose()


@pytest.fixture
def wechatpay(make_provider: Callable[..., WeChatPayProvider]) -> WeChatPayProvider:
    """A provider in certificate mode (named apart from the sandbox ``provider`` of conftest.py)."""
    return make_provider()


async def prepay(provider: WeChatPayProvider, out_trade_no: str, amount: str) -> None:
    await provider.prepay(
        out_trade_no=out_trade_no,
        amount=Decimal(amount),
        description="门诊缴费",
        payer_openid=OPENID,
        notify_url=NOTIFY_URL,
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )


async def paid_order(provider: WeChatPayProvider, fake: FakeWeChatPay, out_trade_no: str, amount: str) -> None:
    await prepay(provider, out_trade_no, amount)
    fake.pay(out_trade_no)


# --- signing ------------------------------------------------------------------------------------


async def test_wechat_accepts_our_signed_requests(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000001", "12.34")
    await wechatpay.query_order("ZJZF20240601000001")
    assert fake.rejected_signatures == 0
    assert ("POST", "/v3/pay/transactions/jsapi") in fake.calls
    assert ("GET", f"/v3/pay/transactions/out-trade-no/ZJZF20240601000001?mchid={fake.keys.mchid}") in fake.calls


def test_the_authorization_header_follows_wechats_format(keys: FakeKeys) -> None:
    header = authorization(
        mchid=keys.mchid,
        serial_no=keys.merchant_serial_no,
        private_key=keys.merchant_key,
        method="GET",
        path_with_query="/v3/certificates",
        body=b"",
        timestamp=1554208460,
        nonce="593BEC0C930BF1AFEB40B4A08C8FB242",
    )
    match = re.fullmatch(
        r'WECHATPAY2-SHA256-RSA2048 mchid="(\d+)",nonce_str="(\w+)",signature="([A-Za-z0-9+/=]+)",'
        r'timestamp="(\d+)",serial_no="([0-9A-F]+)"',
        header,
    )
    assert match is not None
    assert match.groups()[:2] == (keys.mchid, "593BEC0C930BF1AFEB40B4A08C8FB242")
    keys.merchant_key.public_key().verify(
        base64.b64decode(match[3]),
        b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n",
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


async def test_a_request_signed_with_another_key_is_refused(
    make_provider: Callable[..., WeChatPayProvider], fake: FakeWeChatPay
) -> None:
    impostor = make_provider(merchant_private_key=generate_keys().merchant_private_key_pem)
    with pytest.raises(ProviderRejected) as refused:
        await impostor.query_order("ZJZF20240601000001")
    assert refused.value.code == "SIGN_ERROR"
    assert fake.rejected_signatures == 1


async def test_pay_params_are_signed_for_wx_request_payment(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    result = await wechatpay.prepay(
        out_trade_no="DRGH20240601000001",
        amount=Decimal("25.00"),
        description="当日挂号",
        payer_openid=OPENID,
        notify_url=NOTIFY_URL,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )
    params = result.pay_params
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert (
        params["package"]
        == f"prepay_id={result.prepay_id}"
        == f"prepay_id={fake.orders['DRGH20240601000001'].prepay_id}"
    )
    assert params["signType"] == "RSA"
    message = f"{fake.keys.appid}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    fake.keys.merchant_key.public_key().verify(
        base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256()
    )
    again = await wechatpay.prepay(
        out_trade_no="DRGH20240601000001",
        amount=Decimal("25.00"),
        description="当日挂号",
        payer_openid=OPENID,
        notify_url=NOTIFY_URL,
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )
    assert again.prepay_id == result.prepay_id
    assert fake.orders["DRGH20240601000001"].total == 2500


# --- paying and the notification ---------------------------------------------------------------


async def test_prepay_pay_notify_and_query(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000002", "1234.56")
    assert (await wechatpay.query_order("ZJZF20240601000002")).state is TradeState.NOT_PAID

    paid = fake.pay("ZJZF20240601000002")
    notification = await wechatpay.parse_notification(paid.headers, paid.body)

    order = fake.orders["ZJZF20240601000002"]
    assert notification.event_type == "TRANSACTION.SUCCESS"
    assert notification.out_trade_no == "ZJZF20240601000002"
    assert notification.state is TradeState.PAID
    assert notification.amount == Decimal("1234.56")
    assert notification.transaction_id == order.transaction_id
    assert notification.paid_at == order.success_time
    repeated = await wechatpay.parse_notification(paid.headers, paid.body)
    assert repeated.event_id == notification.event_id

    queried = await wechatpay.query_order("ZJZF20240601000002")
    assert queried.state is TradeState.PAID
    assert queried.amount == Decimal("1234.56")
    assert queried.transaction_id == order.transaction_id
    assert queried.paid_at == order.success_time


async def test_notification_headers_in_any_letter_case(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000003", "0.01")
    paid = fake.pay("ZJZF20240601000003")
    lower = {name.lower(): value for name, value in paid.headers.items()}
    assert (await wechatpay.parse_notification(lower, paid.body)).amount == Decimal("0.01")


async def test_a_tampered_body_is_rejected(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000004", "10.00")
    paid = fake.pay("ZJZF20240601000004")
    envelope = json.loads(paid.body)
    envelope["event_type"] = "TRANSACTION.SUCCESS "
    with pytest.raises(InvalidNotification, match="bad signature"):
        await wechatpay.parse_notification(paid.headers, json.dumps(envelope, ensure_ascii=False).encode())


async def test_an_unknown_serial_is_rejected_after_one_download(
    wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    await prepay(wechatpay, "ZJZF20240601000005", "10.00")
    paid = fake.pay("ZJZF20240601000005")
    for _ in range(3):
        with pytest.raises(InvalidNotification, match="unknown serial"):
            await wechatpay.parse_notification(
                paid.headers | {"Wechatpay-Serial": "5157F09EFDC096DE15EBE81A47057A72"}, paid.body
            )
    downloads = [call for call in fake.calls if call[1] == "/v3/certificates"]
    assert len(downloads) == 1, "forged serials must not make us download the certificates each time"


async def test_a_failed_certificate_download_is_tried_again_within_seconds(
    make_provider: Callable[..., WeChatPayProvider], wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    """Found by the chaos run: a gateway started while WeChat answered 500 refused everything for a minute."""
    await prepay(wechatpay, "ZJZF20240601000023", "3.30")
    paid = fake.pay("ZJZF20240601000023")
    now = [datetime.now(UTC)]
    fresh = make_provider(clock=lambda: now[0])
    fake.faults.append(500)
    with pytest.raises(ProviderUnavailable):
        await fresh.parse_notification(paid.headers, paid.body)
    with pytest.raises(InvalidNotification, match="unknown serial"):
        await fresh.parse_notification(paid.headers, paid.body)  # a failing WeChat is not asked at every call
    now[0] += timedelta(seconds=6)
    assert (await fresh.parse_notification(paid.headers, paid.body)).state is TradeState.PAID
    downloads = [call for call in fake.calls if call[1] == "/v3/certificates"]
    assert len(downloads) == 3, "the prepay's download, the one that failed, and the one after it"


async def test_concurrent_notifications_download_the_certificates_once(
    make_provider: Callable[..., WeChatPayProvider], wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    await prepay(wechatpay, "ZJZF20240601000022", "7.77")
    paid = fake.pay("ZJZF20240601000022")
    fake.calls.clear()
    fresh = make_provider()
    notifications = await asyncio.gather(*(fresh.parse_notification(paid.headers, paid.body) for _ in range(5)))
    assert {notification.event_id for notification in notifications} == {notifications[0].event_id}
    assert fake.calls == [("GET", "/v3/certificates")]


async def test_a_notification_six_minutes_old_is_rejected(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000006", "10.00")
    fake.pay("ZJZF20240601000006")
    order = fake.orders["ZJZF20240601000006"]
    stale_at = int((datetime.now(UTC) - timedelta(minutes=6)).timestamp())
    stale = fake.notification("TRANSACTION.SUCCESS", "transaction", fake._transaction(order), timestamp=stale_at)
    with pytest.raises(InvalidNotification, match="five minutes"):
        await wechatpay.parse_notification(stale.headers, stale.body)


async def test_our_clock_decides_what_is_stale(
    make_provider: Callable[..., WeChatPayProvider], wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    await prepay(wechatpay, "ZJZF20240601000007", "10.00")
    paid = fake.pay("ZJZF20240601000007")
    later = make_provider(clock=lambda: datetime.now(UTC) + timedelta(minutes=6))
    with pytest.raises(InvalidNotification, match="five minutes"):
        await later.parse_notification(paid.headers, paid.body)
    assert (await wechatpay.parse_notification(paid.headers, paid.body)).state is TradeState.PAID


async def test_a_resource_encrypted_under_another_key_is_rejected(
    wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    await prepay(wechatpay, "ZJZF20240601000008", "10.00")
    fake.pay("ZJZF20240601000008")
    real_key = fake.keys.apiv3_key
    object.__setattr__(fake.keys, "apiv3_key", "x" * 32)
    try:
        forged = fake.notification(
            "TRANSACTION.SUCCESS", "transaction", fake._transaction(fake.orders["ZJZF20240601000008"])
        )
    finally:
        object.__setattr__(fake.keys, "apiv3_key", real_key)
    with pytest.raises(InvalidNotification, match="APIv3 key"):
        await wechatpay.parse_notification(forged.headers, forged.body)


async def test_another_merchants_notification_is_rejected(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000009", "10.00")
    fake.pay("ZJZF20240601000009")
    document = fake._transaction(fake.orders["ZJZF20240601000009"]) | {"mchid": "1230000109"}
    other = fake.notification("TRANSACTION.SUCCESS", "transaction", document)
    with pytest.raises(InvalidNotification, match="not ours"):
        await wechatpay.parse_notification(other.headers, other.body)


# --- both verification modes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "signing_mode", "refusal", "reply_refused"),
    [
        ("certificate", "certificate", None, False),
        # WeChat signs even the certificate list with a key we were not given: no answer we can trust.
        ("certificate", "public_key", ResponseNotVerified, True),
        ("public_key", "public_key", None, False),
        # Notifications come signed as WeChat chooses; replies by the key our Wechatpay-Serial names.
        ("public_key", "certificate", InvalidNotification, False),
        ("both", "certificate", None, False),
        ("both", "public_key", None, False),
    ],
)
async def test_verification_modes(
    make_provider: Callable[..., WeChatPayProvider],
    wechatpay: WeChatPayProvider,
    fake: FakeWeChatPay,
    mode: str,
    signing_mode: str,
    refusal: type[Exception] | None,
    reply_refused: bool,
) -> None:
    await prepay(wechatpay, "ZJZF20240601000010", "66.60")
    fake.signing_mode = signing_mode  # type: ignore[assignment]
    paid = fake.pay("ZJZF20240601000010")
    fake.calls.clear()
    verifying = make_provider(mode=mode)
    if refusal is None:
        assert (await verifying.parse_notification(paid.headers, paid.body)).amount == Decimal("66.60")
    else:
        with pytest.raises(refusal):
            await verifying.parse_notification(paid.headers, paid.body)
    if reply_refused:
        with pytest.raises(ResponseNotVerified):
            await verifying.query_order("ZJZF20240601000010")
    else:
        assert (await verifying.query_order("ZJZF20240601000010")).state is TradeState.PAID
    if mode == "public_key":
        assert ("GET", "/v3/certificates") not in fake.calls


async def test_both_modes_follow_wechat_switching_keys(
    make_provider: Callable[..., WeChatPayProvider], fake: FakeWeChatPay
) -> None:
    both = make_provider(mode="both")
    await prepay(both, "ZJZF20240601000011", "1.00")
    fake.signing_mode = "public_key"
    await prepay(both, "ZJZF20240601000012", "2.00")
    paid = fake.pay("ZJZF20240601000011")
    fake.signing_mode = "certificate"
    assert (await both.parse_notification(paid.headers, paid.body)).out_trade_no == "ZJZF20240601000011"
    assert (await both.query_order("ZJZF20240601000012")).amount == Decimal("2.00")


# --- closing, refunds --------------------------------------------------------------------------


async def test_close_an_unpaid_order(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000013", "3.00")
    await wechatpay.close_order("ZJZF20240601000013")
    assert (await wechatpay.query_order("ZJZF20240601000013")).state is TradeState.CLOSED


async def test_refunding_twice_with_one_out_refund_no_refunds_once(
    wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    await paid_order(wechatpay, fake, "ZYYJ20240601000001", "500.00")
    first = await wechatpay.refund(
        out_trade_no="ZYYJ20240601000001",
        out_refund_no="R-ZYYJ20240601000001-1",
        amount=Decimal("199.99"),
        total=Decimal("500.00"),
        reason="出院结算退押金",
    )
    second = await wechatpay.refund(
        out_trade_no="ZYYJ20240601000001",
        out_refund_no="R-ZYYJ20240601000001-1",
        amount=Decimal("199.99"),
        total=Decimal("500.00"),
        reason="出院结算退押金",
    )
    assert first.refund_id == second.refund_id
    assert first.amount == second.amount == Decimal("199.99")
    assert first.state is RefundState.PROCESSING
    assert fake.refunded_total("ZYYJ20240601000001") == 19999
    assert len(fake.refunds) == 1
    assert (await wechatpay.query_order("ZYYJ20240601000001")).state is TradeState.REFUNDED


async def test_refund_query_and_its_notification(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await paid_order(wechatpay, fake, "ZJZF20240601000014", "88.80")
    await wechatpay.refund(
        out_trade_no="ZJZF20240601000014",
        out_refund_no="RF0014",
        amount=Decimal("88.80"),
        total=Decimal("88.80"),
        reason="",
    )
    assert (await wechatpay.query_refund("RF0014")).state is RefundState.PROCESSING

    settled = fake.settle_refund("RF0014")
    notification = await wechatpay.parse_notification(settled.headers, settled.body)
    assert notification.event_type == "REFUND.SUCCESS"
    assert notification.state is TradeState.REFUNDED
    assert notification.out_refund_no == "RF0014"
    assert notification.amount == Decimal("88.80")

    refund = await wechatpay.query_refund("RF0014")
    assert refund.state is RefundState.SUCCEEDED
    assert refund.out_trade_no == "ZJZF20240601000014"
    assert refund.amount == Decimal("88.80")
    assert refund.succeeded_at is not None


async def test_an_abnormal_refund_leaves_the_payment_standing(
    wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    await paid_order(wechatpay, fake, "ZJZF20240601000015", "10.00")
    await wechatpay.refund(
        out_trade_no="ZJZF20240601000015",
        out_refund_no="RF0015",
        amount=Decimal("10.00"),
        total=Decimal("10.00"),
        reason="",
    )
    abnormal = fake.settle_refund("RF0015", status="ABNORMAL")
    notification = await wechatpay.parse_notification(abnormal.headers, abnormal.body)
    assert (notification.event_type, notification.state) == ("REFUND.ABNORMAL", TradeState.PAID)
    assert (await wechatpay.query_refund("RF0015")).state is RefundState.ABNORMAL


async def test_wechat_refuses_to_refund_more_than_was_paid(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await paid_order(wechatpay, fake, "ZJZF20240601000016", "10.00")
    await wechatpay.refund(
        out_trade_no="ZJZF20240601000016",
        out_refund_no="RF0016a",
        amount=Decimal("6.00"),
        total=Decimal("10.00"),
        reason="",
    )
    with pytest.raises(ProviderRejected) as refused:
        await wechatpay.refund(
            out_trade_no="ZJZF20240601000016",
            out_refund_no="RF0016b",
            amount=Decimal("4.01"),
            total=Decimal("10.00"),
            reason="",
        )
    assert refused.value.code == "INVALID_REQUEST"
    assert fake.refunded_total("ZJZF20240601000016") == 600
    with pytest.raises(ValueError, match="exceeds"):
        await wechatpay.refund(
            out_trade_no="ZJZF20240601000016",
            out_refund_no="RF0016c",
            amount=Decimal("11"),
            total=Decimal("10"),
            reason="",
        )


# --- errors --------------------------------------------------------------------------------------


async def test_an_unknown_order_is_a_rejection_with_wechats_code(
    wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    with pytest.raises(ProviderRejected) as refused:
        await wechatpay.query_order("ZJZF20240601999999")
    assert refused.value.code == "ORDER_NOT_EXIST"
    with pytest.raises(ProviderRejected) as refused:
        await wechatpay.query_refund("RF-NONE")
    assert refused.value.code == "RESOURCE_NOT_EXISTS"


async def test_5xx_means_unavailable(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000017", "1.00")
    fake.faults.extend([500, 503])
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await wechatpay.query_order("ZJZF20240601000017")
    assert (await wechatpay.query_order("ZJZF20240601000017")).state is TradeState.NOT_PAID


async def test_unreachable_means_unavailable(make_provider: Callable[..., WeChatPayProvider]) -> None:
    nowhere = make_provider(base_url="http://127.0.0.1:9", timeout_s=2)
    with pytest.raises(ProviderUnavailable):
        await nowhere.query_order("ZJZF20240601000018")


async def test_amounts_that_are_not_whole_fen_never_reach_wechat(
    wechatpay: WeChatPayProvider, fake: FakeWeChatPay
) -> None:
    for amount in ("0.001", "0", "-1.00", "NaN"):
        with pytest.raises(ValueError, match=r"fen|0\.01|Decimal"):
            await prepay(wechatpay, "ZJZF20240601000019", amount)
    assert fake.calls == []


# --- the trade bill ----------------------------------------------------------------------------


async def test_trade_bill_rows_are_exact(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    bill_date = date(2024, 5, 31)
    at = datetime(2024, 5, 31, 9, 30, tzinfo=UTC)  # 17:30 in Beijing, the same day
    for out_trade_no, amount in (("ZJZF20240531000001", "0.01"), ("JZKCZ20240531000001", "99999.99")):
        await prepay(wechatpay, out_trade_no, amount)
        fake.pay(out_trade_no, at=at)
    await prepay(wechatpay, "ZJZF20240601000020", "5.00")
    fake.pay("ZJZF20240601000020", at=datetime(2024, 5, 31, 16, 0, 1, tzinfo=UTC))  # 00:00:01 on June 1st in Beijing
    await wechatpay.refund(
        out_trade_no="JZKCZ20240531000001",
        out_refund_no="RF-B1",
        amount=Decimal("0.99"),
        total=Decimal("99999.99"),
        reason="",
    )
    fake.refunds["RF-B1"].created_at = at + timedelta(hours=1)

    rows = await wechatpay.trade_bill(bill_date)

    payments = {row.out_trade_no: row for row in rows if row.state == "SUCCESS"}
    refunds = [row for row in rows if row.state == "REFUND"]
    assert {name: row.amount for name, row in payments.items()} == {
        "ZJZF20240531000001": Decimal("0.01"),
        "JZKCZ20240531000001": Decimal("99999.99"),
    }
    assert payments["ZJZF20240531000001"].transaction_id == fake.orders["ZJZF20240531000001"].transaction_id
    assert payments["ZJZF20240531000001"].at == at
    assert all(row.refund_amount == Decimal("0.00") and row.out_refund_no is None for row in payments.values())
    assert [(row.out_trade_no, row.out_refund_no, row.refund_amount) for row in refunds] == [
        ("JZKCZ20240531000001", "RF-B1", Decimal("0.99"))
    ]
    assert [row.out_trade_no for row in await wechatpay.trade_bill(date(2024, 6, 1))] == ["ZJZF20240601000020"]


async def test_a_day_without_trades_has_an_empty_bill(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    assert await wechatpay.trade_bill(date(2024, 1, 1)) == []


async def test_a_corrupted_bill_download_is_refused(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    await prepay(wechatpay, "ZJZF20240601000021", "1.00")
    fake.pay("ZJZF20240601000021", at=datetime(2024, 3, 1, 4, tzinfo=UTC))
    fake.corrupt_bill_downloads = True
    with pytest.raises(WeChatPayProtocolError, match="SHA1"):
        await wechatpay.trade_bill(date(2024, 3, 1))


def test_bill_parsing_reads_columns_by_name_and_stops_at_the_summary() -> None:
    content = (
        "\ufeff商户订单号,交易时间,微信订单号,交易状态,订单金额,商户退款单号,退款金额\r\n"
        "`A1,`2024-05-31 10:00:00,`4200001,`SUCCESS,`12.30,`0,`0.00\r\n"
        "总交易单数,订单总金额\r\n"
        "`1,`12.30\r\n"
    )
    [row] = parse_trade_bill(content)
    assert (row.out_trade_no, row.amount, row.out_refund_no) == ("A1", Decimal("12.30"), None)


# --- money ---------------------------------------------------------------------------------------


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2))
def test_yuan_to_fen_and_back_never_loses_a_cent(amount: Decimal) -> None:
    fen = yuan_to_fen(amount)
    assert isinstance(fen, int)
    assert Decimal(fen) == amount * 100
    assert fen_to_yuan(fen) == amount
    assert str(fen_to_yuan(fen)) == f"{amount:.2f}"


@given(st.integers(min_value=1, max_value=9_999_999))
def test_fen_to_yuan_and_back_is_exact(fen: int) -> None:
    assert yuan_to_fen(fen_to_yuan(fen)) == fen


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999.999"), places=3))
def test_fractions_of_a_fen_are_refused_not_rounded(amount: Decimal) -> None:
    if amount == amount.quantize(Decimal("0.01")):
        assert fen_to_yuan(yuan_to_fen(amount)) == amount
    else:
        with pytest.raises(ValueError, match="whole number of fen"):
            yuan_to_fen(amount)


def test_config_refuses_what_cannot_work(keys: FakeKeys) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        make_config(keys, "http://127.0.0.1:1", apiv3_key="short")
    with pytest.raises(ValueError, match="public key"):
        make_config(keys, "http://127.0.0.1:1", use_platform_certificates=False)
    with pytest.raises(ValueError, match="PUB_KEY_ID_"):
        make_config(keys, "http://127.0.0.1:1", mode="both", platform_public_key_id="12345")
    assert make_config(keys, "https://api.mch.weixin.qq.com/").base_url == "https://api.mch.weixin.qq.com"


# --- a standard SDK against the fake (issue 11 item 18) ------------------------------------------


def _sdk(keys: FakeKeys, base_url: str, *, public_key: bool, cert_dir: str | None = None) -> Any:
    """wechatpayv3 as a merchant configures it, pointed at the fake (the SDK hard-codes WeChat's host)."""
    from wechatpayv3 import WeChatPay, WeChatPayType

    sdk = WeChatPay(
        wechatpay_type=WeChatPayType.MINIPROG,
        mchid=keys.mchid,
        private_key=keys.merchant_private_key_pem,
        cert_serial_no=keys.merchant_serial_no,
        appid=keys.appid,
        apiv3_key=keys.apiv3_key,
        notify_url=NOTIFY_URL,
        cert_dir=cert_dir,
        public_key=keys.public_key_pem if public_key else None,
        public_key_id=keys.public_key_id if public_key else None,
    )
    sdk._core._gate_way = base_url
    return sdk


def _sdk_order(sdk: Any, out_trade_no: str) -> tuple[int, Any]:
    from wechatpayv3 import WeChatPayType

    return sdk.pay(  # type: ignore[no-any-return]
        description="门诊缴费",
        out_trade_no=out_trade_no,
        amount={"total": 2350},
        payer={"openid": OPENID},
        pay_type=WeChatPayType.MINIPROG,
    )


@pytest.mark.parametrize("signing_mode", ["certificate", "public_key"])
async def test_wechatpayv3_in_public_key_mode_verifies_the_fakes_replies(
    keys: FakeKeys, running: RunningFakeWeChatPay, fake: FakeWeChatPay, signing_mode: str
) -> None:
    """issue 11 item 18: the fake signs a reply with the key the request's Wechatpay-Serial names and says
    Wechatpay-Signature-Type, so the standard SDK accepts its replies even mid-switch (signing_mode
    certificate: WeChat still signs unnamed requests and notifications with the certificate)."""
    fake.signing_mode = signing_mode  # type: ignore[assignment]
    sdk = _sdk(keys, running.base_url, public_key=True)
    status, text = await asyncio.to_thread(_sdk_order, sdk, "ZJZF20240601000090")
    assert status == 200, text
    assert json.loads(text)["prepay_id"]
    status, text = await asyncio.to_thread(sdk.query, out_trade_no="ZJZF20240601000090")
    assert (status, json.loads(text)["trade_state"]) == (200, "NOTPAY")


async def test_wechatpayv3_reads_the_fakes_notifications(
    keys: FakeKeys, running: RunningFakeWeChatPay, fake: FakeWeChatPay, tmp_path: Any
) -> None:
    """issue 11 item 18: notifications carry Wechatpay-Signature-Type and verify and decrypt with the SDK,
    in public-key mode and with the platform certificate (loaded from the SDK's cert_dir)."""
    from cryptography.hazmat.primitives import serialization

    (tmp_path / f"{keys.platform_serial_no}.pem").write_bytes(
        keys.platform_certificate.public_bytes(serialization.Encoding.PEM)
    )
    for signing_mode, sdk in (
        ("public_key", _sdk(keys, running.base_url, public_key=True)),
        ("certificate", _sdk(keys, running.base_url, public_key=False, cert_dir=str(tmp_path))),
    ):
        fake.signing_mode = signing_mode  # type: ignore[assignment]
        out_trade_no = f"ZJZF2024060100009{1 if signing_mode == 'public_key' else 2}"
        status, _ = await asyncio.to_thread(_sdk_order, sdk, out_trade_no)
        assert status == 200
        paid = fake.pay(out_trade_no)
        assert paid.headers["Wechatpay-Signature-Type"] == "WECHATPAY2-SHA256-RSA2048"
        result = sdk.callback(paid.headers, paid.body)
        assert result is not None, signing_mode
        assert result["resource"]["out_trade_no"] == out_trade_no
        assert result["resource"]["amount"]["total"] == 2350


async def test_our_client_names_the_public_key_so_a_switching_merchant_can_verify(
    make_provider: Callable[..., WeChatPayProvider], fake: FakeWeChatPay
) -> None:
    """issue 11 item 18: in public-key mode every request carries Wechatpay-Serial: PUB_KEY_ID_...; WeChat
    (still signing with its certificate by default) then signs our replies with the public key."""
    fake.signing_mode = "certificate"
    public_key_only = make_provider(mode="public_key")
    await prepay(public_key_only, "ZJZF20240601000095", "23.50")
    assert (await public_key_only.query_order("ZJZF20240601000095")).state is TradeState.NOT_PAID
    await public_key_only.close_order("ZJZF20240601000095")
    assert ("GET", "/v3/certificates") not in fake.calls


async def test_a_signature_type_other_than_rsa_is_rejected(wechatpay: WeChatPayProvider, fake: FakeWeChatPay) -> None:
    """issue 11 item 18: Wechatpay-Signature-Type names the algorithm; we verify only WECHATPAY2-SHA256-RSA2048."""
    await prepay(wechatpay, "ZJZF20240601000096", "1.00")
    paid = fake.pay("ZJZF20240601000096")
    assert (await wechatpay.parse_notification(paid.headers, paid.body)).out_trade_no == "ZJZF20240601000096"
    sm2 = {**paid.headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}
    with pytest.raises(InvalidNotification):
        await wechatpay.parse_notification(sm2, paid.body)
