"""Operators read the job runs (state, failures) and the survey results through GraphQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.jobs import JobScheduler, JobsConfig, JobSpec
from services.payments.clock import ManualClock
from services.surveys import SurveyInvite
from tests.conftest import inject, run_graphql, running_gateway, sign_in_operator

RUNS = """
query Runs($latestOnly: Boolean!) {
  operator {
    jobRuns(latestOnly: $latestOnly) {
      job task state hospitals queued attempt error scheduledFor finishedAt
      failures { hospitalId code message }
    }
  }
}"""

SURVEYS = """
query Surveys($hospitalId: String) {
  operator {
    surveyResults(hospitalId: $hospitalId) {
      hospitalId questionnaireType questionnaireName responses
      questions { questionId kind answered average choices { option count } }
    }
  }
}"""


@pytest.fixture
async def gateway_app(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", registry=region)
    async with running_gateway(settings, signed_in=False) as client:
        yield client


async def run_jobs(client: httpx.AsyncClient, clock: ManualClock) -> None:
    services = client._transport.app.state.services  # type: ignore[attr-defined]
    jobs = JobsConfig(jobs=(JobSpec(name="bills", task="12.1.1", at=time(8, 0), hospitals=("253", "254")),))
    scheduler = JobScheduler(
        db=services.db, his=services.his, config=jobs, survey_links=services.surveys.links, clock=clock
    )
    await scheduler.tick()


async def test_operators_see_job_runs_and_hospital_operators_only_their_failures(
    gateway_app: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    clock = ManualClock(datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    inject(sim_admin, hospitalId="254", method="hospital.interface.inpatientList", kind="code", code="10003")
    await run_jobs(gateway_app, clock)
    clock.advance(timedelta(days=1))
    await run_jobs(gateway_app, clock)

    sign_in_operator(gateway_app)
    body = await run_graphql(gateway_app, RUNS, latestOnly=False)
    assert "errors" not in body, body
    runs = body["data"]["operator"]["jobRuns"]
    assert [r["scheduledFor"][:10] for r in runs] == ["2026-03-11", "2026-03-10"]  # newest first (00:00 UTC)
    first = runs[0]
    assert (first["job"], first["task"], first["state"], first["hospitals"]) == ("bills", "12.1.1", "PARTIAL", 2)
    assert first["failures"] == [{"hospitalId": "254", "code": "10003", "message": first["failures"][0]["message"]}]
    assert first["error"].startswith("1 of 2 hospitals failed")
    latest = (await run_graphql(gateway_app, RUNS, latestOnly=True))["data"]["operator"]["jobRuns"]
    assert [r["scheduledFor"] for r in latest] == [first["scheduledFor"]]

    sign_in_operator(gateway_app, role="hospital", hospital_id="253")
    mine = (await run_graphql(gateway_app, RUNS, latestOnly=True))["data"]["operator"]["jobRuns"]
    assert mine[0]["failures"] == []
    assert mine[0]["error"] is None


async def test_operators_see_survey_results_of_their_hospitals(gateway_app: httpx.AsyncClient) -> None:
    surveys = gateway_app._transport.app.state.services.surveys  # type: ignore[attr-defined]
    for visit, overall in (("1", "5"), ("2", "3")):
        token = surveys.links.token(SurveyInvite(hospital_id="253", questionnaire_type="1", visit_key=visit))
        answers = {q.id: "4" for q in surveys.config.questionnaire("1").questions if q.kind == "rating"}
        outcome = await surveys.submit(token, {**answers, "overall": overall, "recommend": "愿意"})
        assert outcome.result.value == "stored"

    sign_in_operator(gateway_app)
    body = await run_graphql(gateway_app, SURVEYS, hospitalId=None)
    assert "errors" not in body, body
    [result] = body["data"]["operator"]["surveyResults"]
    shown = (result["hospitalId"], result["questionnaireType"], result["questionnaireName"])
    assert shown == ("253", "INPATIENT", "住院")
    assert result["responses"] == 2
    overall = next(q for q in result["questions"] if q["questionId"] == "overall")
    assert (overall["kind"], overall["answered"], overall["average"]) == ("RATING", 2, 4.0)
    recommend = next(q for q in result["questions"] if q["questionId"] == "recommend")
    assert {c["option"]: c["count"] for c in recommend["choices"]} == {"愿意": 2, "不确定": 0, "不愿意": 0}

    sign_in_operator(gateway_app, role="hospital", hospital_id="254")
    assert (await run_graphql(gateway_app, SURVEYS, hospitalId=None))["data"]["operator"]["surveyResults"] == []
    refused = await run_graphql(gateway_app, SURVEYS, hospitalId="253")
    assert refused["errors"]
