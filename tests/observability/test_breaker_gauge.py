"""The breaker's gauge (api/metrics.py) is written when its value changes, and always shows the last state any of
the hospital's methods saw: the methods' recorders share one note of what was written."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY

from api.metrics import HisCallMetrics


def gauge(hospital: str) -> float | None:
    return REGISTRY.get_sample_value("his_breaker_state", {"hospital": hospital})


def test_the_gauge_follows_the_breaker_whichever_method_saw_it() -> None:
    hospital = f"test-{uuid.uuid4().hex[:8]}"
    metrics = HisCallMetrics()
    deposits, bills = metrics.bind(hospital, "m.deposits"), metrics.bind(hospital, "m.bills")
    deposits.started()
    deposits.finished(0.01, "ok", "ok", "closed")
    assert gauge(hospital) == 0.0
    deposits.started()
    deposits.finished(2.0, "HIS_TIMEOUT", "timeout", "open")
    assert gauge(hospital) == 2.0
    bills.started()
    bills.finished(0.01, "ok", "ok", "closed")  # the breaker closed again (a half-open trial passed)
    assert gauge(hospital) == 0.0
    deposits.started()
    deposits.finished(2.0, "HIS_TIMEOUT", "timeout", "open")  # the same value this recorder wrote before
    assert gauge(hospital) == 2.0
    bills.started()
    bills.finished(0.0, "HIS_CIRCUIT_OPEN", "circuit_open", "half_open")
    assert gauge(hospital) == 1.0
    assert REGISTRY.get_sample_value("his_inflight_calls", {"hospital": hospital}) == 0.0
