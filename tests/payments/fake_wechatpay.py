"""The fake WeChat Pay API v3 the provider is tested against: it lives in simulator.wechatpay.

The chaos run (bench/chaos_payments.py) runs the same fake as a process of its own; the tests start it
in a thread. Its cryptography is written there again from WeChat's documentation, not borrowed from
the provider, so a mistake in the provider's message format cannot be agreed with by the fake.
"""

from __future__ import annotations

from simulator.wechatpay import (
    BEIJING,
    FakeKeys,
    FakeNotification,
    FakeOrder,
    FakeRefund,
    FakeWeChatPay,
    RunningFakeWeChatPay,
    generate_keys,
    start_fake_wechatpay,
)

__all__ = [
    "BEIJING",
    "FakeKeys",
    "FakeNotification",
    "FakeOrder",
    "FakeRefund",
    "FakeWeChatPay",
    "RunningFakeWeChatPay",
    "generate_keys",
    "start_fake_wechatpay",
]
