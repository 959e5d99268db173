"""StatisticsSeries.window: 30.1.2 over the series' whole window in one call per hospital (issue 15 item 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.payments.clock import CHINA_TIME
from tests.conftest import calls, inject, run_graphql, running_gateway, sign_in_operator

HOSPITAL_STATISTICS = "hospital.interface.hospitalStatistics"

SERIES = """
query ($from: Date!, $to: Date!, $hospitalId: String) {
  operator {
    statistics(from: $from, to: $to, bucket: MONTH, hospitalId: $hospitalId) {
      notAnswered { hospitalId }
      window { hospitalId hospital { id } hospitalName outpatientTransactions appointments healthCardVisits }
    }
  }
}
"""


@pytest.fixture
async def gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A 31-day series asks 30.1.1 for every day not kept yet: the request deadline is wide (a loaded machine)."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", registry=region, request_deadline_s=30.0
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


async def test_30_1_2_is_asked_once_over_the_window_per_hospital(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 6: a 31-day window asks 30.1.2 once per hospital, from the first day's 00:00:00 to the last
    day's 23:59:59, not once per day; a hospital that fails nulls its own entry."""
    today = datetime.now(CHINA_TIME).date()
    first, last = today - timedelta(days=30), today
    sign_in_operator(gateway, role="region")
    inject(sim_admin, hospitalId="255", method="*", kind="http500")

    window = {"from": first.isoformat(), "to": last.isoformat()}
    body = await run_graphql(gateway, SERIES, hospitalId="253,254,255", **window)
    series = body["data"]["operator"]["statistics"]
    entries = {entry["hospitalId"]: entry for entry in series["window"] if entry is not None}
    assert set(entries) == {"253", "254"}
    assert entries["253"]["hospital"] == {"id": "253"}
    assert isinstance(entries["253"]["appointments"], int)
    assert series["window"].count(None) == 1  # 255's entry
    assert any(e.get("extensions", {}).get("hospitalId") == "255" for e in body["errors"])

    asked = calls(sim_admin, method=HOSPITAL_STATISTICS)
    by_hospital: dict[str, list[dict[str, object]]] = {}
    for call in asked:
        by_hospital.setdefault(str(call["hospitalId"]), []).append(call)
    assert len(by_hospital["253"]) == 1
    assert by_hospital["253"][0]["body"]["startTime"] == f"{first} 00:00:00"  # type: ignore[index]
    assert by_hospital["253"][0]["body"]["endTime"] == f"{last} 23:59:59"  # type: ignore[index]

    sim_admin.delete("/admin/calls")
    body = await run_graphql(
        gateway,
        'query ($from: Date!, $to: Date!) { operator { statistics(from: $from, to: $to, hospitalId: "253") '
        "{ hospitalCalls } } }",
        **window,
    )
    assert "errors" not in body, body
    assert calls(sim_admin, method=HOSPITAL_STATISTICS) == []  # asked only when the field is read
