"""A simulator on a free port, shared by the module's tests, and an HTTP client to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator.server import RunningSimulator, start_in_thread


@pytest.fixture(scope="session")
def running_simulator() -> Iterator[RunningSimulator]:
    running = start_in_thread(port=0)
    yield running
    running.stop()


@pytest.fixture
def client(running_simulator: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running_simulator.base_url, timeout=30) as http:
        http.post("/admin/reset")
        http.delete("/admin/faults")
        http.delete("/admin/latency")
        yield http
