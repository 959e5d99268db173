"""Every HIS read of the catalog is reached by at least one GraphQL query.

Proven by the simulator's record of the calls it received, not by reading code: each domain keeps
its sample operations in tests/graph/operations/*.graphql (variables have defaults), this test runs
them all against the gateway and compares the methods the simulated hospitals saw with the catalog.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.catalog import ALL_METHODS
from his_clients.method import Access
from his_clients.registry import Registry
from tests.conftest import calls, run_graphql, running_gateway, sign_in_operator

OPERATIONS = sorted((Path(__file__).parent / "operations").glob("*.graphql"))

# Reads that no GraphQL field calls: the scheduled jobs' (11.1.1, 12.1.1, 19.2.x, 22.1.x) and the
# money sagas' own checks (13.1.1, 5.1.6, 8.1.3). Chapter 6 is deprecated: no graph for it.
NOT_IN_THE_GRAPH = {
    "hospital.interface.hospitalizationDepositIsLowerThan",
    "hospital.interface.inpatientList",
    "hospital.interface.hisSubsequentVisitPatient",
    "hospital.interface.physicalSubsequentVisitPatient",
    "hospital.interface.satisfactionSurveyAfterDiagnosis_outaptient",
    "hospital.interface.satisfactionSurveyAfterDiagnosis_inpateint",
    "hospital.interface.refundQuery",
    "hospital.interface.medicalInsurance.queryOrderState",
    "hospital.interface.getRefundStatus",
}


def graph_reads() -> set[str]:
    return {
        m.name for m in ALL_METHODS if m.access is Access.READ and not m.deprecated and m.name not in NOT_IN_THE_GRAPH
    }


def download_links(value: Any) -> list[str]:
    """Every /files/... link in a GraphQL answer (files are links, downloaded separately)."""
    if isinstance(value, dict):
        return [link for v in value.values() for link in download_links(v)]
    if isinstance(value, list):
        return [link for v in value for link in download_links(v)]
    # Links are absolute (the public base URL, issue 12 item 13); the test client reaches any host's path.
    return [value] if isinstance(value, str) and re.match(r"(https?://[^/\s]+)?/files/", value) else []


@pytest.fixture
async def roomy_gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with a deadline of 10 s, not the suite's 1.5: this test proves which calls are made, not how
    fast. Its chained operations (departments, doctors, schedules) ran out of 1.5 s on a loaded run and left
    reads unsent (GATEWAY_BUSY, "the request's deadline passed before calling")."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'catalog.sqlite3'}", registry=region, request_deadline_s=10.0
    )
    async with running_gateway(settings) as client:
        yield client


async def test_every_read_is_reached_by_a_query(roomy_gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    gateway = roomy_gateway
    assert OPERATIONS, "no sample operations"
    patient_session = gateway.headers["Authorization"]
    for path in OPERATIONS:
        # The dashboards' operations are asked as a region operator, the rest as the patient.
        gateway.headers["Authorization"] = patient_session
        if path.stem.startswith("operator"):
            sign_in_operator(gateway, role="region")
        body = await run_graphql(gateway, path.read_text(encoding="utf-8"))
        assert body.get("data") is not None, f"{path.name}: {body.get('errors')}"
        # The file methods (16.1.4, 16.1.5, 31.1.2, 40.1.3, 41.1.3) are reached by downloading the links.
        for link in download_links(body["data"]):
            response = await gateway.get(link)
            assert response.status_code in (200, 403), f"{link}: {response.status_code}"
    reached = {c["method"] for c in calls(sim_admin)}
    assert sorted(graph_reads() - reached) == []
