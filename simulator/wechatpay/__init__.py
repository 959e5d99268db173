"""A fake WeChat Pay API v3 on loopback, with made-up keys: for the provider's tests and the chaos run.

It checks the merchant's ``Authorization`` signatures, signs its replies with the platform
certificate's key (certificate mode) or the WeChat Pay public key's (public-key mode), serves
``/v3/certificates`` encrypted under the APIv3 key, keeps orders and refunds in memory, builds trade
bills, and (as a process, ``python -m simulator.wechatpay``) delivers and re-sends notifications.
"""

from __future__ import annotations

from .fake import FakeNotification, FakeOrder, FakeRefund, FakeWeChatPay, NotPayable
from .keys import BEIJING, FakeKeys, generate_keys
from .notifier import Notifier
from .server import RunningFakeWeChatPay, provider_app, start_fake_wechatpay

__all__ = [
    "BEIJING",
    "FakeKeys",
    "FakeNotification",
    "FakeOrder",
    "FakeRefund",
    "FakeWeChatPay",
    "NotPayable",
    "Notifier",
    "RunningFakeWeChatPay",
    "generate_keys",
    "provider_app",
    "start_fake_wechatpay",
]
