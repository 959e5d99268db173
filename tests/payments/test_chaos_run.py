"""The payment chaos run (bench/chaos_payments.py), small: 50 payments, the gateway killed mid-saga; and
20 payments across two gateways on PostgreSQL behind the run's round-robin proxy, one of them killed.

It runs as `make test` runs everything: three real processes (the simulated region, the fake WeChat
Pay that re-sends its notifications, and `hisgraph serve`), the hospitals failing in every way the
issue names, the gateway killed with SIGKILL and started again. The run judges itself from what WeChat,
the hospitals and the ledger hold; this test reads its last line. The deadlines are generous (a shared
two-core runner is slow to start a gateway), and nothing here asserts on timing.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos_payments.py"
COUNTS = re.compile(
    r"^payments=(?P<payments>\d+) notified=(?P<notified>\d+) refunded=(?P<refunded>\d+) parked=(?P<parked>\d+) "
    r"both=(?P<both>\d+) applied_twice=(?P<applied_twice>\d+) over_refunded=(?P<over_refunded>\d+) "
    r"reconciliation_diffs=(?P<reconciliation_diffs>\d+)$"
)


def chaos_run(tmp_path: Path, payments: int, *options: str) -> tuple[subprocess.CompletedProcess[str], str]:
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--payments",
            str(payments),
            "--kills",
            "1",
            "--seed",
            "20251126",
            "--workdir",
            str(tmp_path / "run"),
            "--settle-timeout",
            "400",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return run, f"exit {run.returncode}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-6000:]}"


def assert_clean(run: subprocess.CompletedProcess[str], told: str, payments: int) -> None:
    lines = run.stdout.strip().splitlines()
    found = COUNTS.match(lines[-1]) if lines else None
    assert found is not None, told
    counts = {name: int(value) for name, value in found.groupdict().items()}
    assert counts["payments"] == payments, told
    assert counts["notified"] + counts["refunded"] == counts["payments"], told
    assert {name: counts[name] for name in ("parked", "both", "applied_twice", "over_refunded")} == dict.fromkeys(
        ("parked", "both", "applied_twice", "over_refunded"), 0
    ), told
    assert counts["reconciliation_diffs"] == 0, told
    assert "kills=1 " in run.stdout, told
    assert run.returncode == 0, told


def test_fifty_payments_through_chaos_end_notified_or_refunded(tmp_path: Path) -> None:
    run, told = chaos_run(tmp_path, 50)
    assert_clean(run, told, 50)


async def _postgres_reachable() -> str | None:
    try:
        await (await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=5)).close()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return repr(error)
    return None


@pytest.mark.postgres
def test_two_gateways_on_postgresql_one_killed_lose_nothing(tmp_path: Path) -> None:
    """issue 14 "Many instances": gateways behind a balancer on one PostgreSQL database, one SIGKILLed
    while payments flow: the same invariants hold."""
    error = asyncio.run(_postgres_reachable())
    if error is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at 127.0.0.1:5432: {error} (CI is set)")
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432: {error}")
    run, told = chaos_run(tmp_path, 20, "--gateways", "2", "--database", "postgresql")
    assert_clean(run, told, 20)
    assert "gateways=2 database=postgresql" in run.stdout, told
