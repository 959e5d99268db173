"""fan_out: many hospitals at once under one deadline, failures kept per hospital."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from his_clients.client import HisClient
from his_clients.errors import HisRejected, HisTimeout
from his_clients.fanout import deadline_in, fan_out, group_for_one_call, parse_hospital_ids
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.models.reports_lab import LABORATORY_REPORT, LaboratoryReportRequest
from his_clients.registry import Registry
from tests.conftest import inject

WAIT_PAY = QUERY_WAIT_PAY.name
REQUEST = QueryWaitPayRequest(medical_card_number="001000056254587")


def test_hospital_ids_are_read_as_the_spec_writes_them() -> None:
    assert parse_hospital_ids(" 253, 254,,253 ,255") == ["253", "254", "255"]
    assert parse_hospital_ids("") == []


async def test_replies_and_failures_come_back_per_hospital(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="254", method=WAIT_PAY, kind="code", code="60101", msg="该卡不允许线上交费")
    inject(sim_admin, hospitalId="255", method=WAIT_PAY, kind="hang")
    async with HisClient(region) as client:
        started = time.monotonic()
        result = await fan_out(
            ["253", "254", "255", "256", "257"],
            lambda h: client.call(QUERY_WAIT_PAY, h, REQUEST),
            method=WAIT_PAY,
            deadline=deadline_in(0.5),
        )
        elapsed = time.monotonic() - started
    assert elapsed < 0.5 + 1.0
    assert list(result.replies) == ["253", "256", "257"]
    assert isinstance(result.errors["254"], HisRejected)
    assert result.errors["254"].code == "60101"
    assert isinstance(result.errors["255"], HisTimeout)


async def test_our_own_bugs_are_not_hidden_as_hospital_failures() -> None:
    async def broken(hospital_id: str) -> None:
        raise KeyError(hospital_id)

    with pytest.raises(KeyError):
        await fan_out(["1"], broken, method="x", deadline=deadline_in(1.0))


async def test_a_fan_out_over_nothing_is_empty() -> None:
    result = await fan_out([], lambda h: asyncio.sleep(0), method="x", deadline=deadline_in(1.0))
    assert result.replies == {}
    assert result.errors == {}


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
        reply = await client.call_for_hospitals(LABORATORY_REPORT, ["256", "257"], request)
    hospitals = {report.hospital_id for report in reply.report}
    assert hospitals == {"256", "257"}
    received = sim_admin.get("/admin/calls", params={"method": LABORATORY_REPORT.name}).json()
    # One HTTP call; the simulator records it once per hospital it answered for.
    assert {c["hospitalId"] for c in received} == {"256", "257"}
    assert {c["body"]["hospitalId"] for c in received} == {"256,257"}
