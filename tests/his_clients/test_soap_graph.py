"""A GraphQL query answered through WebService hospitals (issue 11, "Done when": the demo runs one over SOAP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.demo import DEMO_WEBSERVICE, REGIONAL_ENDPOINT, simulated_region
from api.settings import Settings
from simulator.server import RunningSimulator
from tests.conftest import calls, inject, run_graphql, running_gateway

WAIT_PAY = "hospital.interface.queryWaitPay"
QUERY = """
query ($hospitals: String!) {
  patient(medicalCardNumber: "001000056254587") {
    pendingPayments(hospitalId: $hospitals) { hospitalId hospital { name } totalAmount items { name amount } }
  }
}
"""


@pytest.fixture
async def soap_gateway(simulator: RunningSimulator, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway with 255 over per_method SOAP and the regional endpoint (256, 257) over dispatch SOAP."""
    registry = simulated_region(
        simulator.base_url, timeout_s=2.0, webservice={"255": "per_method", REGIONAL_ENDPOINT: "dispatch"}
    )
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", registry=registry, request_deadline_s=5.0
    )
    async with running_gateway(settings) as client:
        yield client


def test_the_demo_calls_one_hospital_over_soap(simulator: RunningSimulator) -> None:
    """Issue 11, "Done when": ``hisgraph demo`` runs hospital 255 over WebService (per_method, with its WSDL)."""
    assert dict(DEMO_WEBSERVICE) == {"255": "per_method"}
    hospital = simulated_region(simulator.base_url).hospital("255")
    assert hospital is not None
    assert hospital.transport == "webservice"
    assert str(hospital.wsdl_url).endswith("/soap/methods/his/255?wsdl")


async def test_a_graphql_query_is_answered_through_soap_hospitals(
    soap_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """Issue 11, WebService hospitals: the graph does not know or care which transport a hospital speaks."""
    body = await run_graphql(soap_gateway, QUERY, hospitals="253,255,256")
    assert "errors" not in body, body.get("errors")
    entries = body["data"]["patient"]["pendingPayments"]
    assert [e["hospitalId"] for e in entries] == ["253", "255", "256"]
    assert all(e["items"] and e["totalAmount"] for e in entries)
    assert {c["hospitalId"] for c in calls(sim_admin, method=WAIT_PAY)} == {"253", "255", "256"}


async def test_a_soap_hospitals_refusal_reaches_the_graph_as_over_http(
    soap_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """Issue 11, WebService hospitals: the same error tree: a 附四 code inside the SOAP reply is that code."""
    inject(sim_admin, hospitalId="255", method=WAIT_PAY, kind="code", code="60101", msg="该卡不允许线上交费")
    body = await run_graphql(soap_gateway, QUERY, hospitals="255")
    codes = {error["extensions"].get("code") for error in body.get("errors", [])}
    assert "60101" in codes, body
