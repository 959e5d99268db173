"""Every example of the spec validates against its method's models and writes back as the spec shows."""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

from his_clients.catalog import by_section
from his_clients.method import Envelope, HisMethod

REPO = Path(__file__).resolve().parents[2]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_his_models", REPO / "scripts" / "gen_his_models.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


GENERATOR = _load_generator()
ENTRIES = [e for e in json.loads((REPO / "spec" / "interfaces.json").read_text()) if e["direction"] == "his"]
ENVELOPE = {"success", "msg", "code", "data"}

# The spec's own example sends hospitalId as a number here; every request model writes it as text.
NUMERIC_HOSPITAL_ID = {"25.1.7"}


def _id(entry: dict[str, Any]) -> str:
    return f"{entry['section']}{'-' + entry['variant'] if entry['variant'] else ''}"


def _method(entry: dict[str, Any]) -> HisMethod[Any, Any]:
    return by_section(entry["section"], entry["variant"])


def _keys(value: Any) -> set[str]:
    """Every key of a JSON value, at any depth, stripped and lower-cased."""
    if isinstance(value, dict):
        return {k.strip().lower() for k in value} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


REPLY_EXAMPLES = [e for e in ENTRIES if GENERATOR.response_example(e) is not None]


def test_all_but_the_file_download_have_a_reply_example() -> None:
    assert {e["section"] for e in ENTRIES} - {e["section"] for e in REPLY_EXAMPLES} == {"16.1.4"}


@pytest.mark.parametrize("entry", REPLY_EXAMPLES, ids=_id)
def test_reply_example_parses(entry: dict[str, Any]) -> None:
    method = _method(entry)
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
    dumped = _keys(_dump(parsed))
    renamed = {k.lower(): v.lower() for k, v in GENERATOR.RENAMES.get((entry["section"], "reply"), {}).items()}
    in_example = {renamed.get(k, k) for k in _keys(data)}
    required = {r["name"].lower() for r in entry["response_fields"] if r["required"]} - ENVELOPE
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


def _as_sent(value: Any, renames: dict[str, str]) -> Any:
    """The example as we send it: keys stripped (``"orderName "``) and nulls left out."""
    if isinstance(value, dict):
        return {renames.get(k.strip(), k.strip()): _as_sent(v, renames) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_as_sent(v, renames) for v in value]
    return value


@pytest.mark.parametrize("entry", REQUEST_EXAMPLES, ids=_id)
def test_request_example_validates_and_writes_back(entry: dict[str, Any]) -> None:
    example = _as_sent(entry["request_example"], GENERATOR.RENAMES.get((entry["section"], "request"), {}))
    if entry["section"] in NUMERIC_HOSPITAL_ID:
        example["hospitalId"] = str(example["hospitalId"])
    request = _method(entry).request.model_validate(example)
    assert _same(request.to_wire(), example)


def test_table_mistakes_in_requests() -> None:
    pathology = by_section("41.1.1").request
    assert "reportStatus" not in {f.alias for f in pathology.model_fields.values()}
    assert by_section("24.1.2").request.model_fields["order_name"].alias == "orderName"  # not "orderName "
    cancel = by_section("5.1.3").request.model_validate({"hisTradeIds": "1,2"})
    assert cancel.to_wire() == {"hisTradeId": "1,2"}
    assert by_section("2.1.3").request.model_validate(
        {"name": "张三", "idCardNo": "1", "hospitalId": "1"}
    ).to_wire() == {"name": "张三", "idCard": "1", "hospitalId": "1"}
