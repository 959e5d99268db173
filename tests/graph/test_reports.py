"""Reports through the real app: lists across hospitals, details as edges, and the rules that withhold them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from simulator.server import RunningSimulator
from tests.conftest import calls, inject, run_graphql, running_gateway

CARD = "001000056254587"
ALL = "253,254,255,256,257"

GatewayFactory = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def file_server(simulator: RunningSimulator) -> str:
    """The simulated hospitals' file server, and report URLs pointing at it."""
    return f"{simulator.host}:{simulator.port}"


@pytest.fixture
def make_gateway(region: Registry, file_server: str, tmp_path: Path) -> GatewayFactory:
    """A gateway whose hospitals list the file server in ``file_hosts`` (unless told otherwise)."""

    @contextlib.asynccontextmanager
    async def make(
        *, file_hosts: bool = True, show_restricted: tuple[str, ...] = ()
    ) -> AsyncIterator[httpx.AsyncClient]:
        hospitals = tuple(
            h.model_copy(
                update={
                    "file_hosts": (file_server,) if file_hosts else (),
                    "show_audited_sensitive_pathology": h.id in show_restricted,
                }
            )
            for h in region.hospitals
        )
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'reports.sqlite3'}",
            registry=Registry(hospitals=hospitals, endpoints=region.endpoints),
            request_deadline_s=3.0,
        )
        async with running_gateway(settings) as client:
            yield client

    return make


@pytest.fixture
async def reports_gateway(make_gateway: GatewayFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with make_gateway() as client:
        yield client


def reports_of(body: dict[str, Any], field: str, hospital_id: str) -> list[dict[str, Any]]:
    entries = body["data"]["patient"][field]
    entry = next(e for e in entries if e and e["hospitalId"] == hospital_id)
    result: list[dict[str, Any]] = entry["reports"]
    return result


def by_id(reports: list[dict[str, Any]], report_id: str) -> dict[str, Any]:
    return next(r for r in reports if r["id"] == report_id)


LAB = """
query Lab($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    labReports(hospitalId: $hospitals) {
      hospitalId
      hospital { name }
      reports {
        id item sensitive
        withheld { reason message }
        detail {
          __typename
          ... on ReportWithheld { reason }
          ... on LabReportDetail { patientName results { item result flag } pdf }
        }
      }
    }
  }
}"""


async def test_lab_reports_show_details_and_withhold_sensitive_ones(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(reports_gateway, LAB, card=CARD, hospitals="253")
    assert "errors" not in body, body.get("errors")
    reports = reports_of(body, "labReports", "253")
    sensitive = by_id(reports, "S-LAB-POSITIVE")
    assert sensitive["sensitive"] is True
    assert sensitive["withheld"]["reason"] == "SENSITIVE"
    assert sensitive["detail"] == {"__typename": "ReportWithheld", "reason": "SENSITIVE"}
    # Withheld by the list: its detail was never asked from the hospital.
    asked = {c["body"].get("id") for c in calls(sim_admin, method="hospital.interface.laboratoryReportDetail")}
    assert "S-LAB-POSITIVE" not in asked
    assert asked  # the viewable ones were asked
    recalled = by_id(reports, "S-LAB-RECALLED")
    assert recalled["withheld"] is None  # the list cannot tell...
    assert recalled["detail"] == {"__typename": "ReportWithheld", "reason": "NOT_AUDITED"}  # ...the detail can
    viewable = [r for r in reports if r["detail"]["__typename"] == "LabReportDetail"]
    assert viewable
    assert all(httpx.URL(r["detail"]["pdf"]).path.startswith("/files/") for r in viewable)
    assert viewable[0]["detail"]["patientName"] == "张三"
    assert viewable[0]["detail"]["results"]


ECG = """
query Ecg($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    ecgReports(hospitalId: $hospitals) {
      hospitalId
      reports { id audited withheld { reason } detail { __typename ... on EcgReportDetail { heartRate image pdf } } }
    }
  }
}"""


async def test_unaudited_ecg_report_is_listed_but_never_asked_in_detail(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(reports_gateway, ECG, card=CARD, hospitals="254")
    assert "errors" not in body, body.get("errors")
    unaudited = by_id(reports_of(body, "ecgReports", "254"), "S-ECG-UNAUDITED")
    assert unaudited["audited"] is False
    assert unaudited["withheld"] == {"reason": "NOT_AUDITED"}
    assert unaudited["detail"]["__typename"] == "ReportWithheld"
    asked = {c["body"].get("id") for c in calls(sim_admin, method="hospital.interface.ecgReportDetail")}
    assert "S-ECG-UNAUDITED" not in asked


PATHOLOGY = """
query Pathology($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    pathologyReports(hospitalId: $hospitals) {
      hospitalId
      reports {
        id audited sensitive withheld { reason }
        detail { __typename ... on PathologyReportDetail { conclusion file pdf } }
      }
    }
  }
}"""


async def test_pathology_rules_unaudited_and_restricted_by_hospital_policy(
    make_gateway: GatewayFactory, sim_admin: httpx.Client
) -> None:
    async with make_gateway(show_restricted=("254",)) as gateway:
        body = await run_graphql(gateway, PATHOLOGY, card=CARD, hospitals="253,254")
    assert "errors" not in body, body.get("errors")
    at_253, at_254 = reports_of(body, "pathologyReports", "253"), reports_of(body, "pathologyReports", "254")
    for reports in (at_253, at_254):
        unaudited = by_id(reports, "S-PATH-UNAUDITED")
        assert unaudited["withheld"] == {"reason": "NOT_AUDITED"}
        assert unaudited["detail"]["__typename"] == "ReportWithheld"
    # reportStatus 3: 253 does not show such reports online, 254's registry entry allows it.
    restricted_253 = by_id(at_253, "S-PATH-RESTRICTED")
    assert restricted_253["sensitive"] is True
    assert restricted_253["withheld"] == {"reason": "RESTRICTED"}
    assert restricted_253["detail"]["__typename"] == "ReportWithheld"
    restricted_254 = by_id(at_254, "S-PATH-RESTRICTED")
    assert restricted_254["withheld"] is None
    assert restricted_254["detail"]["__typename"] == "PathologyReportDetail"
    assert httpx.URL(restricted_254["detail"]["file"]).path.startswith("/files/")
    asked = {
        (c["hospitalId"], c["body"].get("id"))
        for c in calls(sim_admin, method="hospital.interface.pathologyReportDetail")
    }
    assert ("253", "S-PATH-RESTRICTED") not in asked
    assert ("254", "S-PATH-RESTRICTED") in asked
    assert not any(report_id == "S-PATH-UNAUDITED" for _, report_id in asked)


EXAM = """
query Exam($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    physicalExamReports(hospitalId: $hospitals) {
      hospitalId
      reports {
        healthExamNumber finished withheld { reason }
        detail { __typename ... on PhysicalExamReportDetail { summary sections { name results { name value } } pdf } }
      }
    }
  }
}"""


async def test_unfinished_physical_exam_is_withheld(reports_gateway: httpx.AsyncClient) -> None:
    body = await run_graphql(reports_gateway, EXAM, card=CARD, hospitals="255")
    assert "errors" not in body, body.get("errors")
    reports = reports_of(body, "physicalExamReports", "255")
    unfinished = next(r for r in reports if r["healthExamNumber"] == "S-EXAM-UNFINISHED")
    assert unfinished["finished"] is False
    assert unfinished["withheld"] == {"reason": "NOT_FINISHED"}
    shown = [r for r in reports if r["detail"] and r["detail"]["__typename"] == "PhysicalExamReportDetail"]
    assert shown
    assert shown[0]["detail"]["sections"]


async def test_multi_hospital_list_with_one_hospital_failing(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="254", method="hospital.interface.ecgReportRecord", kind="http500")
    body = await run_graphql(reports_gateway, ECG, card=CARD, hospitals=ALL)
    entries = body["data"]["patient"]["ecgReports"]
    assert [e["hospitalId"] if e else None for e in entries] == ["253", None, "255", "256", "257"]
    assert all(e["reports"] for e in entries if e)
    [error] = body["errors"]
    assert error["extensions"]["hospitalId"] == "254"
    assert error["extensions"]["method"] == "hospital.interface.ecgReportRecord"
    assert error["path"] == ["patient", "ecgReports", 1]
    # 256 and 257 sit behind one regional HIS: one call carried both (40.1.1 is a multi-hospital method).
    regional = [
        c for c in calls(sim_admin, method="hospital.interface.ecgReportRecord") if c["hospitalId"] in ("256", "257")
    ]
    assert {c["body"]["hospitalId"] for c in regional} == {"256,257"}


async def test_no_data_at_a_hospital_is_an_empty_list(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="253", method="hospital.interface.pacsReport", kind="code", code="10002")
    query = """query($card: String!) { patient(medicalCardNumber: $card) {
      imagingReports(hospitalId: "253,255") { hospitalId reports { id } } } }"""
    body = await run_graphql(reports_gateway, query, card=CARD)
    assert "errors" not in body, body.get("errors")
    [at_253, at_255] = body["data"]["patient"]["imagingReports"]
    assert at_253 == {"hospitalId": "253", "reports": []}
    assert at_255["reports"]


async def test_a_bad_time_window_is_refused_before_any_call(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """query($card: String!) { patient(medicalCardNumber: $card) {
      labReports(hospitalId: "253", from: "2024-01-01 8 o'clock") { hospitalId } } }"""
    body = await run_graphql(reports_gateway, query, card=CARD)
    assert "cannot represent a DateTime" in body["errors"][0]["message"]
    backwards = """query($card: String!) { patient(medicalCardNumber: $card) {
      labReports(hospitalId: "253", from: "2024-01-02T00:00:00+08:00", to: "2024-01-01T00:00:00Z") { hospitalId } } }"""
    body = await run_graphql(reports_gateway, backwards, card=CARD)
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("20004", "from")
    assert calls(sim_admin, method="hospital.interface.laboratoryReport") == []


async def test_nucleic_acid_result_asks_by_the_holders_id_number(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """query($card: String!) { patient(medicalCardNumber: $card) {
      nucleicAcidTests(hospitalId: "253,256") { hospitalId result { patientName items { item result } } } } }"""
    body = await run_graphql(reports_gateway, query, card=CARD)
    assert "errors" not in body, body.get("errors")
    assert [e["hospitalId"] for e in body["data"]["patient"]["nucleicAcidTests"]] == ["253", "256"]
    sent = calls(sim_admin, method="hospital.interface.getRecentNucleicAcidTestResult")
    assert {c["body"]["idCard"] for c in sent} == {"370102197907025236"}


PATHOLOGY_CONTACT = """
query Pathology($card: String!) {
  patient(medicalCardNumber: $card) {
    pathologyReports(hospitalId: "254") {
      reports { id detail { __typename ... on PathologyReportDetail { hospitalName phone address } } }
    }
  }
}"""


async def test_pathology_detail_shows_hospital_name_phone_and_address(make_gateway: GatewayFactory) -> None:
    """issue 11 item 12: 41.1.2's hospitalName, phone and address reach the patient."""
    async with make_gateway(show_restricted=("254",)) as gateway:
        body = await run_graphql(gateway, PATHOLOGY_CONTACT, card=CARD)
    assert "errors" not in body, body.get("errors")
    [entry] = body["data"]["patient"]["pathologyReports"]
    shown = [r["detail"] for r in entry["reports"] if r["detail"]["__typename"] == "PathologyReportDetail"]
    assert shown
    for detail in shown:
        assert detail["hospitalName"]
        assert detail["phone"]
        assert detail["address"]
