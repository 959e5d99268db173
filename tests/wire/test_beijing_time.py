"""Times sent to hospitals are Beijing time whatever the host's zone (issue 11 item 2).

Each case runs with the process in UTC and in a zone west of it (TZ and time.tzset, restored after):
the gateway and the simulator share the process, so a naive ``datetime.now()`` anywhere on the path
would show up as a time 8 or 16 hours behind Beijing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from resolvers.reports.common import window
from services.payments.clock import CHINA_TIME
from tests.conftest import calls, run_graphql
from tests.graph.test_mutations import BY_FIELD, send

CARD = "001000056254587"
SPEC_TIME = "%Y-%m-%d %H:%M:%S"


@pytest.fixture(params=["UTC", "America/Los_Angeles"])
def host_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def beijing_now() -> datetime:
    return datetime.now(UTC).astimezone(CHINA_TIME).replace(tzinfo=None)


def close_to_beijing_now(text: str) -> bool:
    """Within a few minutes of Beijing's clock (the zones under test are 8 and 16 hours away)."""
    return abs(datetime.strptime(text, SPEC_TIME) - beijing_now()) < timedelta(minutes=10)


def test_the_default_report_window_ends_now_in_beijing(host_zone: str) -> None:
    """issue 11 item 2: 16.1.1/17.1.1/40.1.1/41.1.1 windows end at Beijing's now, so a report issued in the
    last 8 hours is inside the default window."""
    start, end = window(None, None)
    assert close_to_beijing_now(end)
    assert datetime.strptime(end, SPEC_TIME) - datetime.strptime(start, SPEC_TIME) >= timedelta(days=1)


PATHOLOGY = """
query Pathology($card: String!) {
  patient(medicalCardNumber: $card) { pathologyReports(hospitalId: "253") { hospitalId } }
}"""


async def test_report_lists_ask_up_to_beijing_now(
    host_zone: str, gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 11 item 2: the endTime 41.1.1 receives on the wire is Beijing time."""
    body = await run_graphql(gateway, PATHOLOGY, card=CARD)
    assert "errors" not in body, body
    [call] = calls(sim_admin, method="hospital.interface.pathologyReportRecord")
    assert close_to_beijing_now(call["body"]["endTime"])


async def test_caregiver_pass_create_time_and_validity_are_beijing_time(
    host_zone: str, gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 11 item 2: 37.1.3 createTime is Beijing time, and a pass that expired an hour ago in Beijing
    is refused (20004) even where the host's clock is hours behind."""
    write = BY_FIELD["caregiverPassCreate"]
    expired = (beijing_now() - timedelta(hours=1)).strftime(SPEC_TIME)
    result = await send(gateway, write, caregiver={**write.input["caregiver"], "validUntil": expired})
    assert result["__typename"] == "InvalidInput", result
    assert result["code"] == "20004"
    assert calls(sim_admin, method=write.method) == []

    created = await send(gateway, write)
    assert created["__typename"].endswith("Success"), created
    [call] = calls(sim_admin, method=write.method)
    assert close_to_beijing_now(call["body"]["createTime"])
