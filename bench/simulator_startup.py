"""How long the simulator's data model takes to build for many hospitals (benchmarks start 50 of them).

    .venv/bin/python bench/simulator_startup.py [--hospitals 50] [--repeat 5]

A speed figure, so it lives here and not in the test suite: a wall-clock assertion fails on a loaded machine.
"""

from __future__ import annotations

import argparse
import statistics
import time

from simulator.app import create_simulator_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hospitals", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ids = [str(300 + i) for i in range(args.hospitals)]
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        app = create_simulator_app(standalone=ids, regional=())
        timings.append(time.perf_counter() - started)
        assert len(app.state.simulator.hospitals) == args.hospitals
    median_ms, max_ms = statistics.median(timings) * 1000, max(timings) * 1000
    print(f"{args.hospitals} hospitals: median {median_ms:.0f} ms, max {max_ms:.0f} ms")


if __name__ == "__main__":
    main()
