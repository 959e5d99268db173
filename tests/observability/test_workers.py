"""`serve --workers 2` adds every worker's series up at /metrics (issue 14, "Metrics": multi-process mode)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from api.metrics import FLUSH_EVERY_S
from tests.conftest import free_port
from tests.observability.test_metrics_and_traces import sample

ROOT = Path(__file__).resolve().parents[2]


def test_two_workers_report_one_sum(tmp_path: Path) -> None:
    """issue 14 (metrics): whichever worker answers a scrape counts the operations both workers served: its own at
    once, the other's once that worker has written its tally (at most FLUSH_EVERY_S later, api/metrics.py); and
    what each counted is in the shared files after they stop, however soon they were stopped."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {
        **{name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"},
        "PROMETHEUS_MULTIPROC_DIR": str(shared),  # an operator's own directory is used as given (api/cli.py)
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'workers.sqlite3'}",
        "HISGRAPH_RUN_JOBS": "false",
        "HISGRAPH_RUN_PAYMENT_WORKER": "false",
        "HISGRAPH_OVERLOAD_MAX_LAG_MS": "0",  # a loaded test machine's loop lag is not what this test sees
    }
    port = free_port()
    config = ("--config", str(ROOT / "hospitals.example.toml"))
    command = [sys.executable, "-m", "api.cli", "--log-level", "INFO", "serve", *config, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:  # until both workers have started their app
            lines.append(line)
            if sum("Application startup complete" in seen for seen in lines) == 2:
                break
        base = f"http://127.0.0.1:{port}"
        for _ in range(6):  # a new connection each: the kernel spreads them over the two workers
            reply = httpx.post(f"{base}/graphql", json={"query": "query WorkersProbe { __typename }"}, timeout=10)
            assert reply.status_code == 200, reply.text[:300]
        deadline = time.monotonic() + 30 * FLUSH_EVERY_S  # a wide margin: a loaded machine's timers run late
        while scraped(base) != 6.0 and time.monotonic() < deadline:
            time.sleep(FLUSH_EVERY_S / 4)
        counts = [scraped(base) for _ in range(4)]
        for _ in range(5):  # counted, then stopped at once: neither worker's tally has been written by its timer
            reply = httpx.post(f"{base}/graphql", json={"query": "query WorkersProbe { __typename }"}, timeout=10)
            assert reply.status_code == 200, reply.text[:300]
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert counts == [6.0] * 4, "".join(lines)[-2000:]
    stopped = CollectorRegistry()
    MultiProcessCollector(stopped, path=str(shared))  # type: ignore[no-untyped-call]
    assert stopped.get_sample_value("graphql_operation_seconds_count", {"operation": "WorkersProbe"}) == 11.0


def scraped(base: str) -> float | None:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return sample(text, "graphql_operation_seconds_count", operation="WorkersProbe")


def test_a_gone_workers_live_gauges_stop_counting(tmp_path: Path) -> None:
    """issue 14 (metrics): a worker that died (crashed, replaced) leaves its breaker and in-flight gauges out of
    the sums; what it counted (counters, histograms) stays, and a live worker's gauges stay."""
    from api.metrics import forget_dead_workers

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive = int(gone.stdout), os.getpid()
    for name in (f"gauge_livesum_{dead}", f"gauge_livemax_{dead}", f"counter_{dead}", f"gauge_livesum_{alive}"):
        (tmp_path / f"{name}.db").write_bytes(b"")
    forget_dead_workers(str(tmp_path))
    assert sorted(path.stem for path in tmp_path.iterdir()) == [f"counter_{dead}", f"gauge_livesum_{alive}"]
