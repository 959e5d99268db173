"""Times sent to hospitals are Beijing time whatever the host's zone (issue 11 item 2).

Each case runs with the process in UTC and in a zone west of it (TZ and time.tzset, restored after):
the gateway and the simulator share the process, so a naive ``datetime.now()`` anywhere on the path
would show up as a time 8 or 16 hours behind Beijing.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import api.demo
from api.shims.validation import id_birth_date
from resolvers.reports.common import window
from resolvers.results import InputRefused, id_number
from services.payments.clock import CHINA_TIME
from simulator.state import Simulator
from simulator.validation import valid_id_card
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


async def test_create_caregiver_pass_time_and_validity_are_beijing_time(
    host_zone: str, gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 11 item 2: 37.1.3 createTime is Beijing time, and a pass that expired an hour ago in Beijing
    is refused (20004, PARAMETER_RANGE) even where the host's clock is hours behind."""
    write = BY_FIELD["createCaregiverPass"]
    expired = (beijing_now() - timedelta(hours=1)).strftime(SPEC_TIME)  # no offset: Beijing time
    result = await send(gateway, write, caregiver={**write.input["caregiver"], "validUntil": expired})
    assert result["__typename"] == "Refusal", result
    assert result["code"] == "PARAMETER_RANGE"
    assert calls(sim_admin, method=write.method) == []

    created = await send(gateway, write)
    assert created["__typename"].endswith("Success"), created
    [call] = calls(sim_admin, method=write.method)
    assert close_to_beijing_now(call["body"]["createTime"])


@pytest.fixture(params=["Etc/GMT+12", "Pacific/Kiritimati"])
def far_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The host 20 hours behind Beijing, or 6 hours ahead: at any hour, in one of the two the host's calendar
    date differs from Beijing's, so a ``date.today()`` left on a path fails one of the cases."""
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


def _id_born(day: date) -> str:
    return f"370102{day:%Y%m%d}523X"


def _birth_checks() -> dict[str, Callable[[str], bool]]:
    def graph(number: str) -> bool:
        try:
            id_number("idCardNumber", number)
        except InputRefused:
            return False
        return True

    return {
        "graph (resolvers/results.py)": graph,
        "shims (api/shims/validation.py)": lambda number: id_birth_date(number) is not None,
        "simulator (simulator/validation.py)": valid_id_card,
    }


def test_an_id_number_born_today_in_beijing_is_accepted_and_tomorrow_refused(far_zone: str) -> None:
    """issue 11 item 2: the ID number birth-date checks of the graph, the shims and the simulated HIS use
    Beijing's date: a baby born today in Beijing is accepted, one 'born' tomorrow in Beijing is refused,
    whatever the host's calendar says."""
    today = datetime.now(UTC).astimezone(CHINA_TIME).date()
    for where, accepts in _birth_checks().items():
        assert accepts(_id_born(today)), where
        assert not accepts(_id_born(today + timedelta(days=1))), where


def test_the_simulated_hospitals_clock_is_beijing_time(far_zone: str) -> None:
    """issue 11 item 2: the simulator's data and calls are stamped with Beijing's now (simulator/state.py)."""
    simulator = Simulator(seed=7, standalone=("253",), regional=())
    [added] = simulator.prescribe(hospital_id="253", medical_card_number=CARD, count=1)
    patient = simulator.hospitals["253"].by_card[CARD]
    [item] = [p for p in patient.pending if p.item_id == added]
    assert close_to_beijing_now(item.created.strftime(SPEC_TIME))


def test_the_demos_sample_day_is_beijing_today(far_zone: str) -> None:
    """issue 11 item 2: the demo's sample dailyFees date is Beijing's date (evaluated at import)."""
    spec = importlib.util.spec_from_file_location("demo_in_another_zone", Path(api.demo.__file__))
    assert spec is not None
    assert spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)  # a private copy: api.demo itself stays as imported
    spec.loader.exec_module(fresh)
    assert datetime.now(UTC).astimezone(CHINA_TIME).date().isoformat() == fresh._TODAY
