"""Repo-wide rules for the HIS catalog: every spec entry has exactly one method, and the code is generated."""

from __future__ import annotations

import filecmp
import json
import subprocess
import sys
from pathlib import Path

from his_clients.catalog import ALL_METHODS, BY_ENTRY, BY_NAME, by_section
from his_clients.method import Access, Envelope
from his_clients.models import exam_appointments, outpatient, reports_lab, reports_pacs

REPO = Path(__file__).resolve().parents[2]
HIS_ENTRIES = [e for e in json.loads((REPO / "spec" / "interfaces.json").read_text()) if e["direction"] == "his"]


def test_every_his_entry_has_exactly_one_method() -> None:
    entries = [(e["section"], e["variant"]) for e in HIS_ENTRIES]
    assert len(entries) == 145
    assert list(BY_ENTRY) == entries  # document order, nothing extra
    assert len({id(m) for m in ALL_METHODS}) == len(ALL_METHODS) == 145
    for entry in HIS_ENTRIES:
        method = by_section(entry["section"], entry["variant"])
        assert method.section == entry["section"]
        assert method.title == entry["title"]
        if entry["method"] is not None:
            assert method.name == entry["method"]  # typos such as hospital.inerface. included


def test_names_are_unique_and_indexed() -> None:
    assert len(BY_NAME) == len(ALL_METHODS)
    assert all(BY_NAME[m.name] is m for m in ALL_METHODS)


def test_the_variants_of_16_1_1_and_16_1_2_are_separate_methods() -> None:
    assert by_section("16.1.1", "检验报告") is reports_lab.LABORATORY_REPORT
    assert by_section("16.1.1", "检查报告") is reports_pacs.PACS_REPORT
    assert by_section("16.1.2", "检验报告") is reports_lab.LABORATORY_REPORT_DETAIL
    assert by_section("16.1.2", "检查报告") is reports_pacs.PACS_REPORT_DETAIL


def test_methods_the_spec_leaves_unnamed() -> None:
    assert by_section("4.1.1") is outpatient.QUERY_GUIDE_SHEET
    assert by_section("24.1.7") is exam_appointments.APPOINTMENT_CHANGE_SCHEDULE
    dcm = reports_pacs.PACS_REPORT_DCM_FILE
    assert (dcm.name, dcm.http_verb, dcm.envelope, dcm.reply) == (
        "hospital.interface.pacsReportDcmFile",
        "GET",
        Envelope.FILE,
        bytes,
    )
    assert dcm.request.model_validate({"dcmId": "1", "hospitalId": "253"}).to_wire() == {
        "dcmId": "1",
        "hospitalId": "253",
    }


def test_behaviour_flags() -> None:
    assert by_section("3.1.1").access is Access.READ
    assert by_section("3.1.2").access is Access.WRITE
    assert {m.section for m in ALL_METHODS if m.deprecated} == {
        e["section"] for e in HIS_ENTRIES if e["chapter"].startswith("6 ")
    }
    assert {m.section for m in ALL_METHODS if m.multi_hospital} == {
        "11.1.1", "12.1.1", "16.1.1", "18.1.1", "18.1.2", "32.1.1", "38.1.1", "40.1.1", "41.1.1"
    }  # fmt: skip
    assert {m.section for m in ALL_METHODS if m.envelope is Envelope.TOP_LEVEL} == {"21.2.3", "30.1.1"}
    for method, entry in zip(ALL_METHODS, HIS_ENTRIES, strict=True):
        assert method.http_verb == (entry["http_verb"] or "POST")


def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_his_models.py"), "--root", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.py"))
    assert Path("his_clients/catalog.py") in generated
    mismatched = [str(p) for p in generated if not filecmp.cmp(tmp_path / p, REPO / p, shallow=False)]
    assert mismatched == [], "rerun scripts/gen_his_models.py"
    committed = {p.relative_to(REPO) for p in (REPO / "his_clients" / "models").glob("*.py")}
    handwritten = {Path("his_clients/models/__init__.py"), Path("his_clients/models/base.py")}
    assert committed - handwritten == {p for p in generated if p.parent.name == "models"}
