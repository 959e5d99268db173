"""Every example of the spec validates against its method's models and writes back as the spec shows."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest

from his_clients.catalog import by_section
from his_clients.method import Envelope
from tests.spec_catalog import (
    ENVELOPE,
    HIS_ENTRIES,
    as_sent,
    dump,
    entry_id,
    keys_of,
    load_generator,
    method_of,
    required_reply_fields,
)

GENERATOR = load_generator()
ENTRIES = HIS_ENTRIES

# The spec's own example sends hospitalId as a number here; every request model writes it as text.
NUMERIC_HOSPITAL_ID = {"25.1.7"}

REPLY_EXAMPLES = [e for e in ENTRIES if GENERATOR.response_example(e) is not None]


def test_all_but_the_file_download_have_a_reply_example() -> None:
    assert {e["section"] for e in ENTRIES} - {e["section"] for e in REPLY_EXAMPLES} == {"16.1.4"}


@pytest.mark.parametrize("entry", REPLY_EXAMPLES, ids=entry_id)
def test_reply_example_parses(entry: dict[str, Any]) -> None:
    method = method_of(entry)
    example = GENERATOR.response_example(entry)
    if method.envelope is Envelope.TOP_LEVEL:
        data: Any = {k: v for k, v in example.items() if k.strip() not in ENVELOPE}
    else:
        data = example.get("data")
    parsed = method.parse_reply(data)
    if method.envelope is Envelope.BARE:
        assert parsed is None
        return
    assert parsed is not None
    dumped = keys_of(dump(parsed))
    renamed = {k.lower(): v.lower() for k, v in GENERATOR.RENAMES.get((entry["section"], "reply"), {}).items()}
    in_example = {renamed.get(k, k) for k in keys_of(data)}
    required = required_reply_fields(entry)
    assert required & in_example <= dumped


REQUEST_EXAMPLES = [e for e in ENTRIES if e["request_example"] is not None]


def _same(written: Any, example: Any) -> bool:
    if isinstance(example, dict):
        return (
            isinstance(written, dict)
            and set(written) == {k.strip() for k in example}
            and all(_same(written[k.strip()], v) for k, v in example.items())
        )
    if isinstance(example, list):
        return isinstance(written, list) and len(written) == len(example) and all(map(_same, written, example))
    if written == example:
        return True
    try:  # an amount re-rendered with two decimals
        return isinstance(written, str) and Decimal(written) == Decimal(str(example))
    except InvalidOperation:
        return False


@pytest.mark.parametrize("entry", REQUEST_EXAMPLES, ids=entry_id)
def test_request_example_validates_and_writes_back(entry: dict[str, Any]) -> None:
    example = as_sent(entry["request_example"], GENERATOR.RENAMES.get((entry["section"], "request"), {}))
    if entry["section"] in NUMERIC_HOSPITAL_ID:
        example["hospitalId"] = str(example["hospitalId"])
    request = method_of(entry).request.model_validate(example)
    wire = request.to_wire()
    for name, second in request.also_sent_as.items():
        # Sent under both of the spec's names (2.1.3, 33.1.5): the same value, whichever the example uses.
        assert wire[second] == wire[name]
        if second not in example:
            del wire[second]
    assert _same(wire, example)


def test_table_mistakes_in_requests() -> None:
    pathology = by_section("41.1.1").request
    assert "reportStatus" not in {f.alias for f in pathology.model_fields.values()}
    assert by_section("24.1.2").request.model_fields["order_name"].alias == "orderName"  # not "orderName "
    cancel = by_section("5.1.3").request.model_validate({"hisTradeIds": "1,2"})
    assert cancel.to_wire() == {"hisTradeId": "1,2"}
    assert by_section("2.1.3").request.model_validate(
        {"name": "张三", "idCardNo": "1", "hospitalId": "1"}
    ).to_wire() == {"name": "张三", "idCard": "1", "idCardNo": "1", "hospitalId": "1"}
