"""The operators' console, second part, through GraphQL: jobs, messages, the inbound ledger, statistics
(issue 15 items 6-9)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.jobs import JobScheduler, JobsConfig, JobSpec
from services.payments.clock import ManualClock
from tests.conftest import inject, run_graphql, running_gateway, sign_in_operator

RUNS = """
query Runs($failedOnly: Boolean!) {
  operator {
    jobRuns(failedOnly: $failedOnly) {
      id job state hospitals queued nextRunAt error
      failures { hospitalId code }
    }
  }
}"""
RUN_NOW = """
mutation Run($job: String!) { runJobNow(job: $job) { id job state nextRunAt } }"""
AUDIT = """{ operator { auditLog(action: "job-run-started", first: 5) { entries { operator action target } } } }"""


def services_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.services  # type: ignore[attr-defined]


@pytest.fixture
async def console(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}", registry=region)
    async with running_gateway(settings, signed_in=False) as client:
        yield client


def scheduler_of(client: httpx.AsyncClient, clock: ManualClock) -> JobScheduler:
    services = services_of(client)
    jobs = JobsConfig(jobs=(JobSpec(name="bills", task="12.1.1", at=time(8, 0), hospitals=("253", "254")),))
    return JobScheduler(db=services.db, his=services.his, config=jobs, survey_links=services.surveys.links, clock=clock)


async def test_job_runs_are_scoped_for_hospital_operators_show_the_next_run_and_filter_failures(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 9: a hospital operator sees the run as it went for their hospital (not the region's
    figures), every run shows its job's next run, and failedOnly keeps the runs that failed."""
    clock = ManualClock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))  # 10:00 Beijing: the 08:00 slot is due
    inject(sim_admin, hospitalId="254", method="hospital.interface.inpatientList", kind="code", code="10003")
    await scheduler_of(console, clock).tick()

    sign_in_operator(console)
    body = await run_graphql(console, RUNS, failedOnly=False)
    assert "errors" not in body, body
    [run] = body["data"]["operator"]["jobRuns"]
    assert (run["state"], run["hospitals"]) == ("PARTIAL", 2)
    assert run["nextRunAt"].startswith("2026-03-11T00:00:00")  # 08:00 Beijing tomorrow
    region_queued = run["queued"]
    failed = (await run_graphql(console, RUNS, failedOnly=True))["data"]["operator"]["jobRuns"]
    assert [r["id"] for r in failed] == [run["id"]]

    sign_in_operator(console, role="hospital", hospital_id="253")
    [mine] = (await run_graphql(console, RUNS, failedOnly=False))["data"]["operator"]["jobRuns"]
    assert (mine["state"], mine["hospitals"], mine["failures"], mine["error"]) == ("SUCCEEDED", 1, [], None)
    assert mine["queued"] == region_queued  # 254 failed: every message queued is 253's
    assert (await run_graphql(console, RUNS, failedOnly=True))["data"]["operator"]["jobRuns"] == []

    sign_in_operator(console, role="hospital", hospital_id="254")
    [theirs] = (await run_graphql(console, RUNS, failedOnly=True))["data"]["operator"]["jobRuns"]
    assert (theirs["state"], theirs["hospitals"], theirs["queued"]) == ("FAILED", 1, 0)
    assert [f["hospitalId"] for f in theirs["failures"]] == ["254"]

    sign_in_operator(console, role="hospital", hospital_id="255")  # a hospital the job does not serve
    assert (await run_graphql(console, RUNS, failedOnly=False))["data"]["operator"]["jobRuns"] == []


async def test_run_job_now_is_for_region_operators_and_audited(console: httpx.AsyncClient) -> None:
    """issue 15 item 9: runJobNow starts a job at once for a region operator, audited; a hospital operator
    is refused, and an unknown job is a clear error."""
    clock = ManualClock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    scheduler = scheduler_of(console, clock)

    sign_in_operator(console, role="hospital", hospital_id="253")
    refused = await run_graphql(console, RUN_NOW, job="bills")
    assert refused["data"] is None
    assert "region operators only" in refused["errors"][0]["message"]

    sign_in_operator(console)
    unknown = await run_graphql(console, RUN_NOW, job="nope")
    assert unknown["errors"][0]["extensions"]["code"] == "20004"
    started = await run_graphql(console, RUN_NOW, job="bills")
    assert "errors" not in started, started
    assert (started["data"]["runJobNow"]["job"], started["data"]["runJobNow"]["state"]) == ("bills", "RUNNING")
    await scheduler.wait_manual_runs()
    body = await run_graphql(console, RUNS, failedOnly=False)
    [run] = body["data"]["operator"]["jobRuns"]
    assert (run["id"], run["state"], run["hospitals"]) == (started["data"]["runJobNow"]["id"], "SUCCEEDED", 2)
    [entry] = (await run_graphql(console, AUDIT))["data"]["operator"]["auditLog"]["entries"]
    assert (entry["operator"], entry["action"], entry["target"]) == ("test.region.all", "job-run-started", "job bills")
