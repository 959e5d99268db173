"""The metrics tally (api/metrics.py ``_Tally``: under several workers the request path's series are added up in
memory between writes) holds no more than the series themselves: a client flooding the gateway with ever new
operation names, or a hospital with ever new codes, cannot grow it past the bounded labels, and it empties on
every write."""

from __future__ import annotations

import pytest

from api import metrics


async def test_a_flood_of_new_names_and_codes_cannot_grow_the_tally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_operation_children", {})  # other tests' names stay as they were
    metrics.defer_writes(True)
    try:
        metrics.flush()  # start from an empty tally
        for n in range(metrics.MAX_OPERATION_NAMES * 3):
            metrics.record_operation(f"Flood{n}", 0.001, failed=True)
        recorder = metrics.HisCallMetrics().bind("253", "hospital.interface.flooded")
        for n in range(2_000):
            recorder.started()
            recorder.finished(0.001, f"H{n}", "rejected", "closed")
        # One histogram per operation label ("other" included) and one for the HIS call; one error counter per
        # operation label, the in-flight gauge, and the hospital's outcomes, all of which collapse to "other".
        assert metrics._tally.histograms  # held in the tally, not yet written
        assert len(metrics._tally.histograms) <= metrics.MAX_OPERATION_NAMES + 2
        assert len(metrics._tally.counts) <= metrics.MAX_OPERATION_NAMES + 1 + 2
        metrics.flush()
        assert not metrics._tally.histograms
        assert not metrics._tally.counts
    finally:
        metrics.defer_writes(False)
