"""The logs of the whole test run hold no full ID-card number and no full mobile number.

Collected last (tests/test_zz_*), it reads what every earlier test logged through the gateway's own
masking handler (tests/conftest.py's ``run_log``): the hospital calls, refusals, exceptions with
their tracebacks, the demo SMS. A record that escaped masking shows up here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def test_no_personal_numbers_in_the_run_log(run_log: Path) -> None:
    text = run_log.read_text(encoding="utf-8")
    if not text.strip():
        pytest.skip("nothing was logged in this (partial) run")
    leaks = [m.group(0) for m in ID_CARD.finditer(text)] + [m.group(0) for m in MOBILE.finditer(text)]
    assert leaks == []
