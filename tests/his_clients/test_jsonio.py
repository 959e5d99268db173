"""his_clients/jsonio.py reads and writes what the standard library would: value for value, error for error,
byte for byte (floats' spelling aside), whichever of orjson or json does the work."""

from __future__ import annotations

import datetime
import enum
import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from his_clients import jsonio
from his_clients.envelope import read_envelope
from his_clients.errors import HisProtocolError
from his_clients.models.outpatient import QUERY_WAIT_PAY

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # past 64 bits too
    | st.floats(allow_nan=False)  # infinity is read alike; written, orjson says null (jsonio's docstring)
    | st.text()  # lone surrogates too
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5), max_leaves=30
)


def same(left: Any, right: Any) -> bool:
    """Equal, with types (1 is not 1.0 or True), and -0.0 kept apart from 0.0."""
    if type(left) is not type(right):
        return False
    if isinstance(left, float):
        return math.copysign(1, left) == math.copysign(1, right) and left == right
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    return bool(left == right)


@given(VALUES)
@example(12345678901234567890123)  # a card number sent bare: orjson alone would make it a float
@example({"medicalCardNumber": 9223372036854775808, "n": -9223372036854775809})
@example([1e400, "\ud800", {"a": 1, "a ": 2}])
def test_what_is_read_is_what_json_reads(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert same(jsonio.loads(text), json.loads(text))
        try:
            encoded = text.encode()
        except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8: only its escaped form is bytes
            continue
        assert same(jsonio.loads(encoded), json.loads(encoded))


@given(VALUES.filter(lambda v: not any(isinstance(x, float) and math.isinf(x) for x in _leaves(v))))
@example({"hospitalId": "253", "amount": "23.50", "name": "张三", "n": 2**70})
@example({"name": "\ud800"})
def test_what_is_written_is_what_json_writes(value: Any) -> None:
    try:
        theirs = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate is no UTF-8: refused alike
        with pytest.raises(UnicodeEncodeError):
            jsonio.dumps(value)
        return
    ours = jsonio.dumps(value)
    assert same(json.loads(ours), json.loads(theirs))
    if not any(isinstance(leaf, float) for leaf in _leaves(value)):
        assert ours == theirs  # byte for byte where no float is spelt


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize(
    "text",
    [b"NaN", b"[Infinity, -Infinity]", b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), b'{"a": 1, "a": 2}'],
    ids=["nan", "infinity", "utf8-bom", "utf16", "duplicate-key"],
)
def test_what_json_reads_and_orjson_refuses_is_read_as_json_reads_it(text: bytes) -> None:
    assert same(jsonio.loads(text), json.loads(text)) or math.isnan(jsonio.loads(text))


@pytest.mark.parametrize("text", [b"", b"{", b'{"a": }', b"\xff\xfe\xfd", b"[" * 100_000 + b"]" * 100_000])
def test_what_neither_reads_is_json_s_own_error(text: bytes) -> None:
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
        jsonio.loads(text)


class Kind(enum.StrEnum):
    CARD = "card"


def test_what_orjson_would_write_differently_is_written_or_refused_as_json_does() -> None:
    assert jsonio.dumps({"kind": Kind.CARD}) == b'{"kind":"card"}'  # as json writes a str subclass
    assert jsonio.dumps({1: "a"}) == b'{"1":"a"}'
    with pytest.raises(TypeError):
        jsonio.dumps({"at": datetime.datetime(2026, 12, 3, 8, 0)})  # never silently RFC 3339 on a HIS wire


def test_a_hospital_s_long_bare_number_reaches_the_model_digit_for_digit() -> None:
    """A reply whose number is past 64 bits (a card number a HIS wrote without quotes) keeps every digit."""
    body = b'{"success": true, "code": "10001", "msg": "", "data": {"id": 123456789012345678901234567890}}'
    method = QUERY_WAIT_PAY
    assert read_envelope(body, method=method, hospital_id="253") == {"id": 123456789012345678901234567890}
    with pytest.raises(HisProtocolError, match="not JSON"):
        read_envelope(b"[" * 50_000, method=method, hospital_id="253")
