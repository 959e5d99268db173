"""Jobs ask a regional endpoint once for the methods that take several hospital ids (issue 11 item 5)."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from store.db import Database
from store.jobs import JobRunState
from tests.conftest import calls, inject

from .conftest import SchedulerFactory, messages_of, spec

METHODS = {
    "11.1.1": "hospital.interface.hospitalizationDepositIsLowerThan",
    "12.1.1": "hospital.interface.inpatientList",
}


@pytest.mark.parametrize("task", ["11.1.1", "12.1.1"])
async def test_one_comma_separated_call_behind_the_regional_endpoint(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client, task: str
) -> None:
    """issue 11 item 5: 256 and 257 share the regional endpoint: one call with hospitalId "256,257", each
    hospital's messages queued from its own labelled rows; 253 (standalone) is asked on its own."""
    [report] = await make_scheduler(spec(task, hospitals=("253", "256", "257"))).tick()
    assert report.state is JobRunState.SUCCEEDED, report.failures
    received = calls(sim_admin, method=METHODS[task])
    # The simulator logs a group call once per hospital it carries: 256 and 257, each with the same body.
    assert sorted((c["hospitalId"], c["body"]["hospitalId"]) for c in received) == [
        ("253", "253"),
        ("256", "256,257"),
        ("257", "256,257"),
    ]
    queued_at = Counter(m.hospital_id for m in await messages_of(db))
    assert set(queued_at) == {"253", "256", "257"}
    assert sum(queued_at.values()) == report.queued


async def test_a_failed_group_call_fails_each_hospital_of_the_group(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client
) -> None:
    """issue 11 item 5: the group's one call failing is each of its hospitals' failure, the others served."""
    inject(sim_admin, hospitalId="256", method=METHODS["12.1.1"], kind="code", code="10003", msg="HIS busy")
    [report] = await make_scheduler(spec("12.1.1", hospitals=("253", "256", "257"))).tick()
    assert report.state is JobRunState.PARTIAL
    assert sorted((f["hospitalId"], f["code"]) for f in report.failures) == [("256", "10003"), ("257", "10003")]
    assert {m.hospital_id for m in await messages_of(db)} == {"253"}
