"""The generator's per-method tables (issue 12 item 21): read or write, and reply overrides, live there.

A method nobody classified must fail generation, never silently become a read (reads are retried after a
broken connection or a 5xx; a write retried may charge or book twice).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from his_clients.catalog import ALL_METHODS, by_section
from his_clients.method import Access
from his_clients.models.revisits import RevisitPatient
from tests.spec_catalog import ENTRIES, HIS_ENTRIES, load_generator

GENERATOR = load_generator()


def test_the_spec_passes_the_generators_check() -> None:
    """issue 12 item 21: every his section of the spec is in exactly one of READS and WRITES."""
    GENERATOR.check_tables(ENTRIES)
    sections = {e["section"] for e in HIS_ENTRIES}
    assert sections == GENERATOR.READS | GENERATOR.WRITES
    assert not GENERATOR.READS & GENERATOR.WRITES


def test_a_method_missing_from_the_read_write_table_fails_generation() -> None:
    """issue 12 item 21: a new his method in neither table stops the generator, naming the section."""
    entries: list[dict[str, Any]] = copy.deepcopy(ENTRIES)
    new = copy.deepcopy(next(e for e in entries if e["section"] == "3.1.1"))
    new["section"] = "99.1.1"
    entries.append(new)
    with pytest.raises(SystemExit, match=r"99\.1\.1: in neither READS nor WRITES"):
        GENERATOR.check_tables(entries)
    with pytest.raises(SystemExit, match="in neither READS nor WRITES"):
        GENERATOR.access_of("99.1.1")


def test_a_stale_table_entry_fails_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 12 item 21: a section in both tables, or in a table but not in the spec, stops the generator."""
    monkeypatch.setattr(GENERATOR, "WRITES", GENERATOR.WRITES | {"3.1.1", "98.1.1"})
    with pytest.raises(SystemExit) as stopped:
        GENERATOR.check_tables(ENTRIES)
    assert "3.1.1: in both READS and WRITES" in str(stopped.value)
    assert "98.1.1: in WRITES but not a his method of the spec" in str(stopped.value)


def test_the_generated_methods_follow_the_tables() -> None:
    """issue 12 item 21: the committed catalog's access is the tables', and reply overrides are generated."""
    for method in ALL_METHODS:
        expected = Access.WRITE if method.section in GENERATOR.WRITES else Access.READ
        assert method.access is expected, method.section
    assert set(GENERATOR.REPLY_OVERRIDES) == {"19.2.1", "19.2.2"}
    # 19.2.1 reads one patient or several, with no runtime patch (services/jobs/revisits.py uses it as is).
    one = {
        "outCardNo": "1",
        "patName": "张三",
        "backTreatmentTime": "2025-11-27 09:00:00",
        "docName": "李",
        "deptName": "内科",
    }
    method = by_section("19.2.1")
    assert [type(r) for r in method.parse_reply(one)] == [RevisitPatient]
    assert len(method.parse_reply([one, one])) == 2
