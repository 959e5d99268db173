"""The request path's series added up in memory and written every FLUSH_EVERY_S (api/metrics.py ``_Tally``).

In multi-process mode each write to the shared files costs a lock, a pid check and a pack into the mapped file;
the tally makes a HIS call's five writes a few dictionary updates. What it writes must be what the direct writes
would have written, it must be written without anyone asking, and nothing may be lost or counted twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from api import metrics
from api.metrics import FLUSH_EVERY_S, HisCallMetrics

# Latencies on and around every bucket bound, below the first and past the last.
LATENCIES = [0.0, 0.001, *metrics.LATENCY_BUCKETS, *(bound + 1e-9 for bound in metrics.LATENCY_BUCKETS), 30.0]
METHOD = "hospital.interface.queryWaitPay"
COUNT = ("his_call_seconds_count", (("method", METHOD),))
INFLIGHT = ("his_inflight_calls", ())
OUTCOMES = [("10001", "ok"), ("10002", "rejected"), ("HIS_TIMEOUT", "timeout"), ("BESPOKE", "rejected")]


@pytest.fixture
def tally_on() -> Iterator[None]:
    metrics.defer_writes(True)
    try:
        yield
    finally:
        metrics.defer_writes(False)


def his_samples(hospital: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the HIS call series for one hospital, by name and labels (the hospital's left out)."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in REGISTRY.collect():
        if family.name not in ("his_call_seconds", "his_calls", "his_inflight_calls"):
            continue
        for s in family.samples:
            if s.labels.get("hospital") == hospital and not s.name.endswith("_created"):
                found[(s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "hospital")))] = s.value
    return found


def record_calls(hospital: str) -> None:
    recorder = HisCallMetrics().bind(hospital, METHOD)
    for index, seconds in enumerate(LATENCIES):
        code, kind = OUTCOMES[index % len(OUTCOMES)]
        recorder.started()
        recorder.finished(seconds, code, kind, "closed")
    recorder.started()  # one still in flight


async def test_the_tally_writes_what_direct_writes_write(tally_on: None) -> None:
    """Every bucket, sum, outcome and the in-flight gauge come out as prometheus-client's own observe/inc give them
    (the tally writes a histogram's sum and buckets itself: this holds it to the pinned client's arithmetic)."""
    record_calls("tally-on")
    assert not any(his_samples("tally-on").values())  # nothing written yet (the series made, at 0): the tally holds it
    metrics.flush()
    metrics.defer_writes(False)
    record_calls("tally-off")
    on, off = his_samples("tally-on"), his_samples("tally-off")
    assert on == off
    assert on[COUNT] == len(LATENCIES)
    assert on[INFLIGHT] == 1.0
    bespoke = ("his_calls_total", (("code", "other"), ("kind", "rejected"), ("method", METHOD)))
    assert on[bespoke] == len(LATENCIES[3::4])  # a hospital's own code: "other"


async def test_the_tally_is_written_without_a_scrape(tally_on: None) -> None:
    """A worker that never answers a scrape still writes what it counted, within about FLUSH_EVERY_S (polled with a
    wide margin: a loaded machine runs timers late)."""
    record_calls("tally-timer")
    assert not any(his_samples("tally-timer").values())
    deadline = time.monotonic() + 30 * FLUSH_EVERY_S
    while not any(his_samples("tally-timer").values()) and time.monotonic() < deadline:  # noqa: ASYNC110 - polled
        await asyncio.sleep(FLUSH_EVERY_S / 10)
    assert his_samples("tally-timer")[COUNT] == len(LATENCIES)
    record_calls("tally-timer")  # a second period: added once, not twice
    metrics.flush()
    metrics.flush()
    assert his_samples("tally-timer")[COUNT] == 2 * len(LATENCIES)
    assert his_samples("tally-timer")[INFLIGHT] == 2.0


async def test_a_call_off_the_loop_is_written_at_once(tally_on: None) -> None:
    """Only the loop that holds the tally adds to it: a thread (no loop) writes straight away."""
    record_calls("tally-loop")  # the tally is now this loop's
    thread = threading.Thread(target=record_calls, args=("tally-thread",))
    thread.start()
    thread.join()
    assert his_samples("tally-thread")[COUNT] == len(LATENCIES)
    assert not any(his_samples("tally-loop").values())
    metrics.flush()
    assert his_samples("tally-loop") == his_samples("tally-thread")


def test_a_finished_loops_tally_is_written_by_the_next_one() -> None:
    """A loop that ended with counts pending (its timer never ran): the next loop to count writes them first."""
    metrics.defer_writes(True)
    try:

        async def count(hospital: str) -> None:
            record_calls(hospital)

        first = asyncio.new_event_loop()
        try:
            first.run_until_complete(count("tally-first"))
        finally:
            first.close()
        assert not any(his_samples("tally-first").values())
        second = asyncio.new_event_loop()
        try:
            second.run_until_complete(count("tally-second"))
        finally:
            second.close()
        assert his_samples("tally-first")[COUNT] == len(LATENCIES)
    finally:
        metrics.defer_writes(False)  # the second loop's, written when the tally is turned off
    assert his_samples("tally-second") == his_samples("tally-first")
