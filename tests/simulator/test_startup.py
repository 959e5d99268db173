"""The simulator's data model: many hospitals, and the same data for the same seed.

How fast it builds is a benchmark (bench/simulator_startup.py), not a test.
"""

from __future__ import annotations

from simulator.app import create_simulator_app


def test_fifty_hospitals_build() -> None:
    app = create_simulator_app(standalone=[str(i) for i in range(300, 350)], regional=())
    assert sorted(app.state.simulator.hospitals) == [str(i) for i in range(300, 350)]


def test_same_seed_same_data() -> None:
    first = create_simulator_app(seed=3).state.simulator.hospitals["253"]
    second = create_simulator_app(seed=3).state.simulator.hospitals["253"]
    assert [p.name for p in first.patients] == [p.name for p in second.patients]
