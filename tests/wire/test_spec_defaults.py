"""Reply fields the spec gives a default for parse without them and read as that default (issue 11 item 3)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from his_clients.catalog import by_section
from tests.spec_catalog import HIS_ENTRIES, load_generator

GENERATOR = load_generator()


def _example_data(section: str, variant: str | None) -> Any:
    entry = next(e for e in HIS_ENTRIES if e["section"] == section and e["variant"] == variant)
    return copy.deepcopy(GENERATOR.response_example(entry)["data"])


def _without(data: Any, key: str) -> Any:
    """``data`` with ``key`` removed at every depth."""
    if isinstance(data, list):
        return [_without(d, key) for d in data]
    if isinstance(data, dict):
        return {k: _without(v, key) for k, v in data.items() if k.strip() != key}
    return data


@pytest.mark.parametrize(
    ("section", "variant"),
    [("16.1.2", "检验报告"), ("16.1.2", "检查报告"), ("40.1.2", None), ("41.1.2", None)],
)
def test_report_detail_without_report_status_reads_as_audited(section: str, variant: str | None) -> None:
    """issue 11 item 3: "若无此字段，默认reportStatus的值为2" holds for 16.1.2, 40.1.2 and 41.1.2."""
    data = _without(_example_data(section, variant), "reportStatus")
    reply = by_section(section, variant).parse_reply(data)
    assert reply.report_status == "2"


@pytest.mark.parametrize("blank", [None, ""])
def test_blank_report_status_reads_as_the_default(blank: Any) -> None:
    """issue 11 item 3: a null or empty reportStatus is the same as a missing one."""
    data = _example_data("41.1.2", None)
    data["reportStatus"] = blank
    assert by_section("41.1.2").parse_reply(data).report_status == "2"


def test_explicit_report_status_is_kept() -> None:
    """issue 11 item 3: the default never overrides what the hospital said."""
    data = _example_data("41.1.2", None)
    data["reportStatus"] = "1"
    assert by_section("41.1.2").parse_reply(data).report_status == "1"


def test_siblings_take_their_defaults() -> None:
    """issue 11 item 3 (siblings): isPositive 默认普通报告, 17.1.2 isFinished 默认已总检, 4.1.1 itemType 默认0."""
    exam = _without(_without(_example_data("17.1.2", None), "isFinished"), "isPositive")
    parsed = by_section("17.1.2").parse_reply(exam)
    assert (parsed.is_finished, parsed.is_positive) == ("1", "0")
    rooms = _without(_example_data("4.1.1", None), "itemType")
    guide = by_section("4.1.1").parse_reply(rooms)
    assert all(item.item_type == "0" for room in guide for item in room.item_list)
    pathology = _without(_example_data("41.1.1", None), "isPositive")
    assert {r.is_positive for r in by_section("41.1.1").parse_reply(pathology)} == {"0"}
