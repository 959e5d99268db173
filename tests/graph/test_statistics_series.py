"""``operator { statistics(from, to, bucket, hospitalId) }`` through GraphQL against the simulator (issue 15 item 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.models.statistics import DATA_STATISTICS
from his_clients.registry import Registry
from services.operations.statistics import beijing_today
from store.statistics import StatisticsDays
from tests.conftest import calls, inject, run_graphql, running_gateway, sign_in_operator

SERIES = """
query Series($from: Date!, $to: Date!, $bucket: StatisticsBucket!, $ids: String) {
  operator {
    statistics(from: $from, to: $to, bucket: $bucket, hospitalId: $ids) {
      from to bucket hospitalCalls
      rows { hospitalId bucket outpatientAmount outpatientTransactions inpatientAmount inpatientTransactions }
      region { bucket hospitals outpatientAmount outpatientTransactions inpatientAmount inpatientTransactions }
      notAnswered { hospitalId code }
    }
  }
}"""
FOUR = "253,254,255,256"


def last_full_month() -> tuple[date, date]:
    """The month before this one in Beijing time: 28-31 past days."""
    last = beijing_today().replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def a_past_31_day_window() -> tuple[date, date]:
    """31 past days ending the day before yesterday (a 31-day month's worth, whatever the calendar)."""
    last = beijing_today() - timedelta(days=2)
    return last - timedelta(days=30), last


@pytest.fixture
async def console(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'series.sqlite3'}", registry=region, request_deadline_s=30.0
    )
    async with running_gateway(settings, signed_in=False) as client:
        sign_in_operator(client)
        yield client


def day_calls(sim_admin: httpx.Client, hospital_id: str) -> list[dict[str, Any]]:
    return calls(sim_admin, method=DATA_STATISTICS.name, hospitalId=hospital_id)


async def series(client: httpx.AsyncClient, first: date, last: date, bucket: str, ids: str | None) -> dict[str, Any]:
    return await run_graphql(client, SERIES, **{"from": str(first), "to": str(last), "bucket": bucket, "ids": ids})


async def test_a_31_day_month_for_four_hospitals_fits_in_one_request(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 6: 31 days x 4 hospitals answer in one request under the hospital-call budget, per
    hospital and day, with a region total per bucket equal to the hospitals' sum (money with two places)."""
    first, last = a_past_31_day_window()
    body = await series(console, first, last, "DAY", FOUR)
    answer = body["data"]["operator"]["statistics"]
    assert answer["notAnswered"] == []
    assert answer["hospitalCalls"] == 31 * 4
    assert len(answer["rows"]) == 31 * 4
    assert [r["bucket"] for r in answer["region"]] == [str(first + timedelta(days=n)) for n in range(31)]
    for total in answer["region"]:
        mine = [r for r in answer["rows"] if r["bucket"] == total["bucket"]]
        assert total["hospitals"] == 4
        for name in ("outpatientAmount", "inpatientAmount"):
            assert Decimal(total[name]) == sum((Decimal(r[name]) for r in mine), Decimal("0"))
            assert Decimal(total[name]).as_tuple().exponent == -2
    for hospital_id in FOUR.split(","):
        assert len(day_calls(sim_admin, hospital_id)) == 31


async def test_the_same_past_window_again_makes_no_hospital_call(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 6: past days are stored once in statistics_days; asking the same history again (in
    another bucket) reads them and makes no hospital call, with the same sums."""
    first, last = last_full_month()
    days = await series(console, first, last, "DAY", FOUR)
    assert days["data"]["operator"]["statistics"]["notAnswered"] == []
    sim_admin.delete("/admin/calls")
    month = await series(console, first, last, "MONTH", FOUR)
    answer = month["data"]["operator"]["statistics"]
    assert answer["hospitalCalls"] == 0
    for hospital_id in FOUR.split(","):
        assert day_calls(sim_admin, hospital_id) == []
    [total] = answer["region"]
    assert total["bucket"] == first.strftime("%Y-%m")
    daily = days["data"]["operator"]["statistics"]["region"]
    assert Decimal(total["outpatientAmount"]) == sum((Decimal(d["outpatientAmount"]) for d in daily), Decimal("0"))


async def test_a_window_beyond_the_call_budget_is_finished_by_the_next_request(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 6 (sibling): 60 past days x 4 hospitals is more calls than one request may make (200): the
    hospital cut off is listed with HIS_CALL_BUDGET, never a 500, and every day already fetched is kept, so the
    next request asks only the days left and no day is asked twice."""
    last = beijing_today() - timedelta(days=40)
    first = last - timedelta(days=59)
    body = await series(console, first, last, "MONTH", FOUR)
    answer = body["data"]["operator"]["statistics"]
    assert answer["notAnswered"] == [{"hospitalId": "256", "code": "HIS_CALL_BUDGET"}]
    assert {r["hospitalId"] for r in answer["rows"]} == {"253", "254", "255"}
    again = await series(console, first, last, "MONTH", FOUR)
    assert again["data"]["operator"]["statistics"]["notAnswered"] == []
    assert again["data"]["operator"]["statistics"]["hospitalCalls"] == 4 * 60 - 200
    for hospital_id in FOUR.split(","):
        assert len(day_calls(sim_admin, hospital_id)) == 60


async def test_today_is_always_asked_fresh(console: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 15 item 6: today (Beijing) is never kept: each request asks it again, once per hospital."""
    today = beijing_today()
    for _ in range(2):
        body = await series(console, today, today, "DAY", "253")
        assert body["data"]["operator"]["statistics"]["hospitalCalls"] == 1
    assert len(day_calls(sim_admin, "253")) == 2


async def test_a_failing_hospital_is_listed_and_the_others_sum(
    console: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 15 item 6: a hospital that fails is listed in notAnswered with its code; the region total is the
    others' sum; its failed days are not kept, so it is asked again next time."""
    first = beijing_today() - timedelta(days=7)
    last = first + timedelta(days=2)
    inject(sim_admin, hospitalId="254", method=DATA_STATISTICS.name, kind="http500")
    body = await series(console, first, last, "WEEK", "253,254,255")
    answer = body["data"]["operator"]["statistics"]
    assert answer["notAnswered"] == [{"hospitalId": "254", "code": "HIS_HTTP_ERROR"}]
    assert {r["hospitalId"] for r in answer["rows"]} == {"253", "255"}
    for total in answer["region"]:
        assert total["hospitals"] == 2
        mine = [r for r in answer["rows"] if r["bucket"] == total["bucket"]]
        assert Decimal(total["outpatientAmount"]) == sum((Decimal(r["outpatientAmount"]) for r in mine), Decimal(0))
    sim_admin.delete("/admin/faults")
    sim_admin.delete("/admin/calls")
    again = await series(console, first, last, "DAY", "253,254,255")
    assert again["data"]["operator"]["statistics"]["notAnswered"] == []
    assert again["data"]["operator"]["statistics"]["hospitalCalls"] == 3
    assert len(day_calls(sim_admin, "254")) == 3
    assert day_calls(sim_admin, "253") == []


async def test_a_kept_count_in_the_wrong_shape_is_an_error_on_that_figure(console: httpx.AsyncClient) -> None:
    """issue 15 item 6: a count a hospital sent as something other than a whole number stays an error on that
    figure (HIS_PROTOCOL_ERROR, extensions.figure), in its row and in the region total, never a silent null or
    zero; the other figures of the same row answer."""
    day = beijing_today() - timedelta(days=10)
    figures = {
        "outpatientTotalAmount": "12.30",
        "inpatientTotalAmount": "0.00",
        "outpatientTotalTrans": "2.5",
        "inpatientTotalTrans": "0",
        "regCardAmount": "1",
    }
    services = console._transport.app.state.services  # type: ignore[attr-defined]
    async with services.db.session() as session:
        await StatisticsDays(session).keep("253", day, figures)
    body = await series(console, day, day, "DAY", "253")
    answer = body["data"]["operator"]["statistics"]
    assert answer["hospitalCalls"] == 0
    [row] = answer["rows"]
    assert row["outpatientAmount"] == "12.30"
    assert row["outpatientTransactions"] is None
    assert row["inpatientTransactions"] == 0
    assert answer["region"][0]["outpatientTransactions"] is None
    assert sorted((e["path"][2], e["path"][-1]) for e in body["errors"]) == [
        ("region", "outpatientTransactions"),
        ("rows", "outpatientTransactions"),
    ]
    for error in body["errors"]:
        assert error["extensions"]["code"] == "HIS_PROTOCOL_ERROR"
        assert error["extensions"]["figure"] == "outpatientTotalTrans"
        assert error["extensions"]["hospitalId"] == "253"


async def test_bad_arguments_are_refused_in_the_specs_codes(console: httpx.AsyncClient) -> None:
    """issue 15 item 6: an empty hospitalId is an error (20001), never []; a reversed window 20004. No 500, and
    the rest of the request still answers. A malformed day is not a Date: the operation is refused whole."""
    cases = [("2026-01-01", "2026-01-31", " , ", "20001"), ("2026-02-01", "2026-01-31", "253", "20004")]
    query = (
        "query S($f: Date!, $t: Date!, $i: String) { operator { "
        "statistics(from: $f, to: $t, bucket: DAY, hospitalId: $i) { hospitalCalls } jobRuns { id } } }"
    )
    malformed = await run_graphql(console, query, f="2026/01/01", t="2026-01-31", i="253")
    assert malformed["data"] is None
    assert "Date" in malformed["errors"][0]["message"]
    for first, last, ids, code in cases:
        body = await run_graphql(console, query, f=first, t=last, i=ids)
        assert body["data"]["operator"]["statistics"] is None
        assert body["data"]["operator"]["jobRuns"] == []
        assert [e["extensions"]["code"] for e in body["errors"]] == [code]


async def test_a_hospital_operator_sees_only_their_hospital(console: httpx.AsyncClient) -> None:
    """issue 15 item 6 (scope): without hospitalId a hospital operator's series holds their hospital only."""
    sign_in_operator(console, role="hospital", hospital_id="255")
    first = beijing_today() - timedelta(days=3)
    body = await series(console, first, first, "DAY", None)
    answer = body["data"]["operator"]["statistics"]
    assert {r["hospitalId"] for r in answer["rows"]} == {"255"}
    refused = await series(console, first, first, "DAY", "253")
    assert refused["data"]["operator"]["statistics"] is None
