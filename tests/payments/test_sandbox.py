"""The sandbox provider keeps WeChat Pay's promises the sagas rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.payments.clock import ManualClock
from services.payments.providers.base import InvalidNotification, ProviderRejected, RefundState, TradeState
from services.payments.providers.sandbox import SandboxProvider

NOW = datetime(2025, 11, 26, 2, 0, tzinfo=UTC)


async def _paid(provider: SandboxProvider, out_trade_no: str = "ZJZF-1", amount: str = "23.50") -> None:
    await provider.prepay(
        out_trade_no=out_trade_no,
        amount=Decimal(amount),
        description="诊间支付",
        payer_openid=None,
        notify_url="",
        expires_at=NOW + timedelta(minutes=15),
    )
    provider.pay(out_trade_no)


async def test_notifications_round_trip_and_forgeries_are_refused() -> None:
    provider = SandboxProvider(clock=ManualClock(NOW))
    await _paid(provider)
    notification = provider.notification("ZJZF-1")
    assert provider.pay("ZJZF-1").event_id == notification.event_id  # a repeat is the same event
    headers, body = provider.encode_notification(notification)
    parsed = await provider.parse_notification(headers, body)
    assert (parsed.out_trade_no, parsed.amount, parsed.state) == ("ZJZF-1", Decimal("23.50"), TradeState.PAID)
    with pytest.raises(InvalidNotification):
        await provider.parse_notification(headers, body.replace(b"23.50", b"0.01"))


async def test_refunds_are_idempotent_and_never_exceed_the_payment() -> None:
    provider = SandboxProvider(clock=ManualClock(NOW))
    await _paid(provider)
    first = await provider.refund(
        out_trade_no="ZJZF-1", out_refund_no="R1", amount=Decimal("20.00"), total=Decimal("23.50"), reason=""
    )
    again = await provider.refund(
        out_trade_no="ZJZF-1", out_refund_no="R1", amount=Decimal("20.00"), total=Decimal("23.50"), reason=""
    )
    assert first == again
    assert first.state is RefundState.SUCCEEDED
    with pytest.raises(ProviderRejected):
        await provider.refund(
            out_trade_no="ZJZF-1", out_refund_no="R2", amount=Decimal("3.51"), total=Decimal("23.50"), reason=""
        )
    assert (await provider.query_order("ZJZF-1")).state is TradeState.REFUNDED
    bill = await provider.trade_bill(NOW.date())
    assert [(row.state, row.refund_amount) for row in bill] == [
        ("SUCCESS", Decimal("0.00")),
        ("REFUND", Decimal("20.00")),
    ]


async def test_a_closed_trade_cannot_be_paid() -> None:
    provider = SandboxProvider(clock=ManualClock(NOW))
    await provider.prepay(
        out_trade_no="ZJZF-2",
        amount=Decimal("1.00"),
        description="",
        payer_openid=None,
        notify_url="",
        expires_at=NOW,
    )
    await provider.close_order("ZJZF-2")
    with pytest.raises(ProviderRejected):
        provider.pay("ZJZF-2")
