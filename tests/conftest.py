"""Fixtures shared by the whole suite: a simulated region on a loopback port, and the gateway in front of it.

Servers bind port 0 and databases get names of their own, so two runs on one machine never collide.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.demo import simulated_region
from api.settings import Settings
from his_clients.registry import Registry
from simulator.server import RunningSimulator, start_in_thread


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    running = start_in_thread(host="127.0.0.1", port=0)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sim_admin(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    """The simulator's admin API; faults and the call record are cleared after each test."""
    with httpx.Client(base_url=simulator.base_url, timeout=5.0) as client:
        client.delete("/admin/faults")
        client.delete("/admin/calls")
        try:
            yield client
        finally:
            client.delete("/admin/faults")
            client.delete("/admin/calls")


def inject(admin: httpx.Client, **fault: Any) -> None:
    response = admin.post("/admin/faults", json=fault)
    response.raise_for_status()


def calls(admin: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = admin.get("/admin/calls", params=filters)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


@pytest.fixture
def region(simulator: RunningSimulator) -> Registry:
    return simulated_region(simulator.base_url, timeout_s=2.0)


@contextlib.asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app with its lifespan (migrations, clients), spoken to over httpx."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30.0) as client:
            yield client


@pytest.fixture
async def gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=1.5,
    )
    async with running_gateway(settings) as client:
        yield client


async def run_graphql(gateway: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST one operation to /graphql; the decoded body (data and errors)."""
    response = await gateway.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text[:500]
    body: dict[str, Any] = response.json()
    return body
