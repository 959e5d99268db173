"""Hospital health behind the reference-data cache (issue 15 item 5): the age of each hospital's reference data,
and a slow hospital that a cached answer no longer hides.

The real app and the simulated region over loopback. In the demo, a cached query answered at once while 254 took
1.8 s to answer the call that filled the cache, and nothing showed it. HIS timeouts and the request deadline are
wide (the machine running the suite may be loaded); the injected latency is the only time asserted, as a floor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.demo import simulated_region
from api.settings import Settings
from simulator.server import RunningSimulator
from tests.conftest import calls, inject, run_graphql, running_gateway, sign_in_operator

DEPARTMENTS = "query ($h: ID!) { hospital(hospitalId: $h) { todayDepartments { id name } } }"
HEALTH = """{ operator { hospitalHealth {
  hospitalId degraded degradedBecause referenceDataLoadedAt referenceDataAgeSeconds windows { minutes calls p95Ms }
} } }"""
LATENCY_MS = 3000


@pytest.fixture
async def gateway(
    simulator: RunningSimulator, tmp_path: Path, sim_admin: httpx.Client
) -> AsyncIterator[httpx.AsyncClient]:
    """HIS calls allowed 5 s each (so 2.5 s at p95 is slow), requests 30 s."""
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=simulated_region(simulator.base_url, timeout_s=5.0),
        request_deadline_s=30.0,
        run_payment_worker=False,
    )
    try:
        async with running_gateway(settings, signed_in=False) as client:
            sign_in_operator(client, role="region")
            yield client
    finally:
        sim_admin.post("/admin/reset").raise_for_status()


async def test_reference_data_age_and_a_slow_hospital_behind_the_cache(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 5: 254's departments, asked slowly once and then answered from the cache, leave 254 degraded
    by its p95 with its reference data's age; 253, never asked, has no reference data age; nothing calls a
    hospital to say so."""
    inject(sim_admin, hospitalId="254", method="*", kind="latency", latencyMs=LATENCY_MS)
    first = await run_graphql(gateway, DEPARTMENTS, h="254")
    assert "errors" not in first, first
    sim_admin.delete("/admin/calls")
    again = await run_graphql(gateway, DEPARTMENTS, h="254")
    assert again == first
    assert calls(sim_admin) == []  # the cache answered

    body = await run_graphql(gateway, HEALTH)
    assert "errors" not in body, body
    health = {entry["hospitalId"]: entry for entry in body["data"]["operator"]["hospitalHealth"]}
    slow, unasked = health["254"], health["253"]
    five_minutes = slow["windows"][0]
    assert five_minutes["calls"] >= 1
    assert five_minutes["p95Ms"] >= LATENCY_MS  # the slow call that filled the cache is not hidden by it
    assert slow["degraded"] is True
    assert any("p95" in why for why in slow["degradedBecause"])
    assert slow["referenceDataLoadedAt"] is not None
    assert slow["referenceDataAgeSeconds"] >= 0
    assert (unasked["referenceDataLoadedAt"], unasked["referenceDataAgeSeconds"]) == (None, None)
    assert calls(sim_admin) == []  # health is read from the gateway's own records

    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    assert "254" in {entry["hospitalId"] for entry in ready.json()["degradedHospitals"]}
