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


MESSAGES = """
{ operator {
    messageDeliveries { dedupeKey state lastError nextAttemptAt sentAt updatedAt }
    messaging { workerRunning officialAccountConfigured tokenExpiresAt pending lastWorkerBeatAt }
} }"""
COUNTS = """
query Counts($from: DateTime, $to: DateTime) {
  operator { messageCounts(from: $from, to: $to) { hospitalId kind state count } }
}"""


async def test_messages_say_why_and_when_and_whether_anything_delivers(console: httpx.AsyncClient) -> None:
    """issue 15 item 7: each delivery gives lastError, nextAttemptAt and sentAt; counts group by hospital and
    kind over a time range; operator { messaging } says whether a worker delivers at all."""
    import asyncio

    from services.messages import MemoryDirectory, OfficialFollower
    from tests.messages.support import add_patients, make_worker, queue

    db = services_of(console).db
    await add_patients(db)
    await queue(db, "r1", card="card-zhang")
    await queue(db, "r4", card="card-wang")  # follows no official account

    sign_in_operator(console)
    before = (await run_graphql(console, MESSAGES))["data"]["operator"]
    assert before["messaging"]["workerRunning"] is False  # 109 PENDING and nothing said delivery was off
    assert before["messaging"]["officialAccountConfigured"] is False
    assert before["messaging"]["pending"] == 2
    assert {m["state"] for m in before["messageDeliveries"]} == {"PENDING"}
    assert all(m["nextAttemptAt"] for m in before["messageDeliveries"])

    clock = ManualClock(datetime.now(UTC))
    directory = MemoryDirectory({"union-zhang": OfficialFollower("oa-zhang")})
    apis: list[Any] = []
    worker = make_worker(db, "http://127.0.0.1:9", clock, directory, apis)  # WeChat unreachable
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(idle_s=0.05, stop=stop))
    try:
        for _ in range(200):
            body = (await run_graphql(console, MESSAGES))["data"]["operator"]
            # Both fields settled: one operation reads them concurrently, so the deliveries can show the worker's
            # commit while the pending count, read a moment earlier, does not yet.
            delivered = {m["state"] for m in body["messageDeliveries"]} == {"RETRY", "UNDELIVERABLE"}
            if delivered and body["messaging"]["pending"] == 0:
                break
            await asyncio.sleep(0.05)
        assert body["messaging"]["workerRunning"] is True
        assert body["messaging"]["officialAccountConfigured"] is True
        assert body["messaging"]["pending"] == 0
    finally:
        stop.set()
        await task
        for api in apis:
            await api.aclose()
    by_key = {m["dedupeKey"].rsplit(":", 1)[-1]: m for m in body["messageDeliveries"]}
    retry, never = by_key["r1"], by_key["r4"]
    assert retry["state"] == "RETRY"
    assert retry["lastError"]
    assert retry["sentAt"] is None
    waited = datetime.fromisoformat(retry["nextAttemptAt"]) - datetime.fromisoformat(retry["updatedAt"])
    assert waited.total_seconds() == 30  # the worker's first backoff
    assert (never["state"], never["nextAttemptAt"]) == ("UNDELIVERABLE", None)
    assert "openid" in never["lastError"]
    after = (await run_graphql(console, MESSAGES))["data"]["operator"]["messaging"]
    assert after["workerRunning"] is False  # the worker stopped: its beat ended

    counts = await run_graphql(console, COUNTS, **{"from": "2020-01-01 00:00:00", "to": "2099-01-01 00:00:00"})
    assert counts["data"]["operator"]["messageCounts"] == [
        {"hospitalId": "253", "kind": "lisReport", "state": "RETRY", "count": 1},
        {"hospitalId": "253", "kind": "lisReport", "state": "UNDELIVERABLE", "count": 1},
    ]
    earlier = await run_graphql(console, COUNTS, **{"from": "2020-01-01 00:00:00", "to": "2020-01-02 00:00:00"})
    assert earlier["data"]["operator"]["messageCounts"] == []
    backwards = await run_graphql(console, COUNTS, **{"from": "2020-01-02 00:00:00", "to": "2020-01-01 00:00:00"})
    assert backwards["data"]["operator"]["messageCounts"] is None
    assert backwards["errors"][0]["extensions"]["code"] == "20004"
    sign_in_operator(console, role="hospital", hospital_id="254")
    theirs = await run_graphql(console, COUNTS, **{"from": None, "to": None})
    assert theirs["data"]["operator"]["messageCounts"] == []


async def test_an_empty_hospital_id_is_an_error_not_an_empty_list(console: httpx.AsyncClient) -> None:
    """issue 15 item 6: statistics (and every per-hospital view beside them) refuse an empty hospitalId with
    20001 instead of answering [] as if nothing happened; the rest of the request still answers."""
    sign_in_operator(console)
    window = 'from: "2026-03-01 00:00:00", to: "2026-03-31 23:59:59"'
    for raw in ("", " , "):
        query = f"""{{ operator {{
            transactionStatistics(hospitalId: "{raw}", {window}) {{ hospitalId }}
            hospitalTransactionCounts(hospitalId: "{raw}", {window}) {{ hospitalId }}
            reconciliationOrders(hospitalId: "{raw}", outTradeNo: "X-1") {{ hospitalId }}
            jobRuns {{ id }}
        }} }}"""
        body = await run_graphql(console, query)
        views = body["data"]["operator"]
        assert views["transactionStatistics"] is None
        assert views["hospitalTransactionCounts"] is None
        assert views["reconciliationOrders"] is None
        assert views["jobRuns"] == []
        assert {e["extensions"]["code"] for e in body["errors"]} == {"20001"}
        assert {e["path"][-1] for e in body["errors"]} == {
            "transactionStatistics",
            "hospitalTransactionCounts",
            "reconciliationOrders",
        }


async def test_a_figure_in_the_wrong_shape_is_an_error_on_that_figure(console: httpx.AsyncClient) -> None:
    """issue 15 item 6: a count the hospital sent as something other than a whole number (the simulator writes
    totalCardAmount as an amount, 30.1.1's example as a count) is an error on that figure, not a silent null;
    the hospital's other figures still answer."""
    sign_in_operator(console)
    query = """{ operator { transactionStatistics(hospitalId: "253", from: "2020-01-01 00:00:00",
        to: "2030-12-31 23:59:59") { hospitalId outpatientTransactions inpatientTransactions patientsSeen } } }"""
    body = await run_graphql(console, query)
    [entry] = body["data"]["operator"]["transactionStatistics"]
    assert entry["hospitalId"] == "253"
    assert isinstance(entry["outpatientTransactions"], int)
    assert isinstance(entry["inpatientTransactions"], int)
    assert entry["patientsSeen"] is None
    [error] = body["errors"]
    assert error["path"][-1] == "patientsSeen"
    assert error["extensions"]["code"] == "HIS_PROTOCOL_ERROR"
    assert error["extensions"]["figure"] == "totalCardAmount"
