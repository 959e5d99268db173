"""The payment chaos run (bench/chaos_payments.py), small: about 50 payments, the gateway killed mid-saga.

It runs as `make test` runs everything: three real processes (the simulated region, the fake WeChat
Pay that re-sends its notifications, and `hisgraph serve`), the hospitals failing in every way the
issue names, the gateway killed with SIGKILL and started again. The run judges itself from what WeChat,
the hospitals and the ledger hold; this test reads its last line. The deadlines are generous (a shared
two-core runner is slow to start a gateway), and nothing here asserts on timing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "chaos_payments.py"
COUNTS = re.compile(
    r"^payments=(?P<payments>\d+) notified=(?P<notified>\d+) refunded=(?P<refunded>\d+) parked=(?P<parked>\d+) "
    r"both=(?P<both>\d+) applied_twice=(?P<applied_twice>\d+) over_refunded=(?P<over_refunded>\d+) "
    r"reconciliation_diffs=(?P<reconciliation_diffs>\d+)$"
)


def test_fifty_payments_through_chaos_end_notified_or_refunded(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--payments",
            "50",
            "--kills",
            "1",
            "--seed",
            "20251126",
            "--workdir",
            str(tmp_path / "run"),
            "--settle-timeout",
            "400",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    told = f"exit {run.returncode}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-6000:]}"
    lines = run.stdout.strip().splitlines()
    found = COUNTS.match(lines[-1]) if lines else None
    assert found is not None, told
    counts = {name: int(value) for name, value in found.groupdict().items()}
    assert counts["payments"] == 50, told
    assert counts["notified"] + counts["refunded"] == counts["payments"], told
    assert {name: counts[name] for name in ("parked", "both", "applied_twice", "over_refunded")} == dict.fromkeys(
        ("parked", "both", "applied_twice", "over_refunded"), 0
    ), told
    assert counts["reconciliation_diffs"] == 0, told
    assert "kills=1 " in run.stdout, told
    assert run.returncode == 0, told
