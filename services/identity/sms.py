"""Sending one-time codes by SMS, behind one interface (a real gateway is plugged in per deployment)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from services.masking import mask_phone
from services.refusals import RefusalCode, Refused

log = logging.getLogger("hisgraph.sms")


class SmsSender(Protocol):
    async def send_code(self, *, phone: str, code: str, purpose: str) -> None: ...


@dataclass
class FakeSmsSender:
    """Keeps what it would have sent (tests read it; the demo logs the phone, masked, and the code)."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    announce: bool = False

    async def send_code(self, *, phone: str, code: str, purpose: str) -> None:
        self.sent.append((phone, code, purpose))
        if self.announce:
            log.warning("demo SMS to %s: code %s (%s)", mask_phone(phone), code, purpose)

    def last_code(self, phone: str) -> str | None:
        return next((code for to, code, _ in reversed(self.sent) if to == phone), None)


class SmsNotSent(Refused):
    """The SMS gateway refused or could not be reached: the code did not go out (say so, never a 500).

    ``detail`` says why, for the log; the person reads the fixed words."""

    def __init__(self, detail: str) -> None:
        super().__init__(RefusalCode.SYSTEM_ERROR, "短信发送失败，请稍后再试。")
        self.detail = detail
