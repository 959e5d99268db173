"""Personal data never reaches a log or an error message in full.

ID-card numbers (15 or 18 characters), mobile numbers (11 digits) and names are masked: the first
and last few characters stay, so an operator can still tell records apart (``370102********5236``,
``138****1234``, ``张*``).
"""

from __future__ import annotations

import re

_ID_CARD = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])|(?<!\d)(\d{6})(\d{6})(\d{3})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)([1１][3-9３-９]\d)(\d{4})(\d{4})(?!\d)")
r"""A mobile number in ASCII or in the full-width digits a Chinese input method types (``\d`` matches both; the
leading 1 and the second digit are spelt out, so both spellings are)."""


def mask_id_card(value: str) -> str:
    """``370102197907025236`` -> ``370102********5236``."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """``13812341234`` -> ``138****1234``."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """``张三`` -> ``张*``; ``欧阳娜娜`` -> ``欧***``."""
    return value[:1] + "*" * (len(value) - 1) if value else value


def mask_text(text: str) -> str:
    """Mask every ID-card and mobile number found in free text (log messages, error messages)."""

    def id_card(match: re.Match[str]) -> str:
        return mask_id_card(match.group(0))

    def mobile(match: re.Match[str]) -> str:
        return mask_phone(match.group(0))

    return _MOBILE.sub(mobile, _ID_CARD.sub(id_card, text))
