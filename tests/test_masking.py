"""Personal data is masked in logs and messages."""

from __future__ import annotations

import io
import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from api.logs import JsonFormatter, MaskPersonalData
from services.masking import mask_id_card, mask_name, mask_phone, mask_text


def test_masks_keep_enough_to_tell_records_apart() -> None:
    assert mask_id_card("370102197907025236") == "370102********5236"
    assert mask_phone("13526521254") == "135****1254"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"


def test_free_text_is_masked_but_other_numbers_stay() -> None:
    text = "张三 370102197907025236 / 37010219790702523X / 370102790702523 tel 13526521254"
    text += " amount 23.50 order 2019010110"
    masked = mask_text(text)
    assert "370102197907025236" not in masked
    assert "37010219790702523X" not in masked
    assert "370102790702523" not in masked
    assert "13526521254" not in masked
    assert "23.50" in masked
    assert "2019010110" in masked


def test_log_records_are_masked_before_they_are_written() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalData())
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("tests.masking")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("card holder %s", "370102197907025236", extra={"phone": "13526521254"})
        try:
            raise ValueError("phone 13526521254")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    written = stream.getvalue()
    assert "370102197907025236" not in written
    assert "13526521254" not in written
    first = json.loads(written.splitlines()[0])
    assert first["msg"] == "card holder 370102********5236"
    assert first["phone"] == "135****1254"


def test_log_text_masks_query_values_tokens_and_secrets() -> None:
    """issue 10 item 12: what a log line may carry besides ID and phone numbers."""
    from api.logs import mask_log_text

    signed = "eyJoIjoiMjUzIiwidCI6IjAifQ.c2lnbmF0dXJlLW9mLXRoZS1saW5rLTEyMw"
    cases = {
        "GET /graphql?idCard=370102197907025236&phone=13800138000&hospitalId=253": (
            "GET /graphql?idCard=***&phone=***&hospitalId=253"
        ),
        "GET /x?medicalCardNumber=001000056254587&sign=abc&deptCode=31": (
            "GET /x?medicalCardNumber=***&sign=***&deptCode=31"
        ),
        f"GET /survey/{signed}?from=msg HTTP/1.1": "GET /survey/***?from=msg HTTP/1.1",
        f"GET /files/f1.{signed[:40]}?expires=1 HTTP/1.1": "GET /files/***?expires=1 HTTP/1.1",
        "Authorization: Bearer abcdefgh.ijklmnop": "Authorization: *** ***",
        'payload {"password": "hunter2hunter", "hospitalId": "253"}': (
            'payload {"password": "***", "hospitalId": "253"}'
        ),
        f"session {signed} refused": "session *** refused",
    }
    for raw, masked in cases.items():
        assert mask_log_text(raw) == masked, raw
    for kept in ("GET /healthz HTTP/1.1", "pacs.hospital253.cn:8080", "strawberry.schema.execute", "amount=20.00"):
        assert mask_log_text(kept) == kept


_TOKEN_CHARS = "abcXYZ019_-"
_PIECES = (
    "370102197907025236",
    "13812341234",
    "１３８１２３４１２３４",
    "Bearer ",
    "baſic ",
    "BASIC ",
    "/survey/",
    "/files/",
    "?idCard=",
    "&code=",
    "password",
    '"token": ',
    "=",
    ":",
    "/",
    ".",
    " ",
    "his call",
    "张三",
    "hospital.interface.queryWaitPay",
    "eyJoIjoiMjUzIiwidCI6IjAifQ",
    "c2lnbmF0dXJlLW9mLXRoZS1saW5r",
)


@given(
    st.lists(
        st.one_of(st.sampled_from(_PIECES), st.text(alphabet=_TOKEN_CHARS + "0123456789", max_size=20), st.text()),
        max_size=12,
    )
)
def test_the_log_masks_fast_path_never_skips_what_the_patterns_would_mask(pieces: list[str]) -> None:
    """issue 13 item 2: a line that the quick check lets through is exactly what the seven patterns give."""
    from api.logs import _mask_log_text, mask_log_text

    text = "".join(pieces)
    assert mask_log_text(text) == _mask_log_text(text)


def test_plain_lines_are_returned_as_they_are() -> None:
    from api.logs import _MAYBE_SENSITIVE, mask_log_text

    for plain in ("his call", "hospital.interface.queryWaitPay", "rejected", "ok", "253,256", "1380013800"):
        assert _MAYBE_SENSITIVE.search(plain) is None
        assert mask_log_text(plain) is plain
