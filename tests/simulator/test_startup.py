"""The data model builds fast enough for benchmarks with many hospitals."""

from __future__ import annotations

import time

from simulator.app import create_simulator_app


def test_fifty_hospitals_start_quickly() -> None:
    started = time.monotonic()
    app = create_simulator_app(standalone=[str(i) for i in range(300, 350)], regional=())
    assert time.monotonic() - started < 3
    assert len(app.state.simulator.hospitals) == 50


def test_same_seed_same_data() -> None:
    first = create_simulator_app(seed=3).state.simulator.hospitals["253"]
    second = create_simulator_app(seed=3).state.simulator.hospitals["253"]
    assert [p.name for p in first.patients] == [p.name for p in second.patients]
