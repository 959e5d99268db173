"""Hospital ids as the spec writes them, and regional groups asked in one call."""

from __future__ import annotations

import httpx

from his_clients.client import HisClient
from his_clients.fanout import group_for_one_call, parse_hospital_ids
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.models.reports_lab import LABORATORY_REPORT, LaboratoryReportRequest
from his_clients.registry import Registry

WAIT_PAY = QUERY_WAIT_PAY.name
REQUEST = QueryWaitPayRequest(medical_card_number="001000056254587")


def test_hospital_ids_are_read_as_the_spec_writes_them() -> None:
    assert parse_hospital_ids(" 253, 254,,253 ,255") == ["253", "254", "255"]
    assert parse_hospital_ids("") == []


def test_regional_hospitals_share_one_call_only_where_the_spec_allows(region: Registry) -> None:
    ids = ["253", "256", "257", "254"]
    assert group_for_one_call(region, LABORATORY_REPORT, ids) == [["253"], ["256", "257"], ["254"]]
    assert group_for_one_call(region, QUERY_WAIT_PAY, ids) == [["253"], ["256"], ["257"], ["254"]]


async def test_one_call_carries_several_regional_hospitals(region: Registry, sim_admin: httpx.Client) -> None:
    request = LaboratoryReportRequest(
        medical_card_number="001000056254587",
        patient_name="张三",
        start_time="2019-01-01 00:00:00",
        end_time="2030-01-01 00:00:00",
    )
    async with HisClient(region) as client:
        reply = await client.call_for_hospitals(LABORATORY_REPORT, ["256", "257"], request, deadline=None)
    hospitals = {report.hospital_id for report in reply.report}
    assert hospitals == {"256", "257"}
    received = sim_admin.get("/admin/calls", params={"method": LABORATORY_REPORT.name}).json()
    # One HTTP call; the simulator records it once per hospital it answered for.
    assert {c["hospitalId"] for c in received} == {"256", "257"}
    assert {c["body"]["hospitalId"] for c in received} == {"256,257"}
