"""Chapter 30 figures as a series of days, buckets and a region total (issue 15 item 6).

A past Beijing day's figures do not change, so each (hospital, past day) is asked once with 30.1.1 over
that day and kept in ``statistics_days``; every later request reads it from there and makes no hospital
call. Today is always asked fresh (one 30.1.1 call per hospital over today so far) and never kept.
The figures are kept as the hospital wrote them (amounts as Decimal text, counts as text), so a count in
the wrong shape stays an error on that figure when it is read, never a silent null or zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from his_clients.client import HisClient
from his_clients.errors import HisError, HisNoData
from his_clients.models.statistics import DATA_STATISTICS, DataStatisticsRequest, TransactionStatistics
from services.payments.clock import CHINA_TIME
from store.db import Database
from store.statistics import StatisticsDays

AMOUNTS = ("outpatientTotalAmount", "inpatientTotalAmount")
COUNTS = ("outpatientTotalTrans", "inpatientTotalTrans", "regCardAmount")
MAX_DAYS = 366
"""The longest window one request may ask for."""
CONCURRENCY = 8
"""Day calls in flight at once for one request (the HIS bulkhead still applies on top)."""


def beijing_today(now: datetime | None = None) -> date:
    return (now or datetime.now(CHINA_TIME)).astimezone(CHINA_TIME).date()


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def bucket_of(day: date, bucket: str) -> str:
    """The bucket a day falls in: the day itself, the Monday of its ISO week, or its month (yyyy-MM)."""
    if bucket == "WEEK":
        return (day - timedelta(days=day.weekday())).isoformat()
    if bucket == "MONTH":
        return day.strftime("%Y-%m")
    return day.isoformat()


def figures_of(reply: TransactionStatistics | None) -> dict[str, str | None]:
    """What is kept for one day: amounts as Decimal text with two places, counts as the hospital wrote them."""
    if reply is None:  # 10002 未查询到数据: nothing happened that day
        return {**dict.fromkeys(AMOUNTS, "0.00"), **dict.fromkeys(COUNTS, "0")}
    return {
        "outpatientTotalAmount": str(Decimal(reply.outpatient_total_amount).quantize(Decimal("0.01"))),
        "inpatientTotalAmount": str(Decimal(reply.inpatient_total_amount).quantize(Decimal("0.01"))),
        "outpatientTotalTrans": reply.outpatient_total_trans,
        "inpatientTotalTrans": reply.inpatient_total_trans,
        "regCardAmount": reply.reg_card_amount,
    }


def whole(text: str | None) -> int | None:
    """A count written as text ("200", "200.0"); None when it is not a whole number."""
    try:
        number = Decimal((text or "0").strip() or "0")
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


@dataclass
class Totals:
    """Sums over some days. A count some day sent in the wrong shape is named in ``malformed``."""

    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(AMOUNTS, Decimal("0.00")))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    malformed: dict[str, tuple[str, str]] = field(default_factory=dict)
    """figure name -> (the hospital, the text it sent), the first seen."""

    def add_day(self, hospital_id: str, figures: dict[str, Any]) -> None:
        for name in AMOUNTS:
            self.amounts[name] += Decimal(str(figures.get(name) or "0"))
        for name in COUNTS:
            value = whole(figures.get(name))
            if value is None:
                self.malformed.setdefault(name, (hospital_id, str(figures.get(name))))
            else:
                self.counts[name] += value

    def add(self, other: Totals) -> None:
        for name in AMOUNTS:
            self.amounts[name] += other.amounts[name]
        for name in COUNTS:
            self.counts[name] += other.counts[name]
        for name, seen in other.malformed.items():
            self.malformed.setdefault(name, seen)


@dataclass
class Failure:
    hospital_id: str
    code: str
    message: str


@dataclass
class Series:
    """Per hospital and bucket, per bucket for the region (the hospitals that answered), and who did not."""

    rows: dict[tuple[str, str], Totals]
    region: dict[str, Totals]
    failures: list[Failure]
    calls: int


async def statistics_series(
    *,
    his: HisClient,
    db: Database,
    hospital_ids: Iterable[str],
    first: date,
    last: date,
    bucket: str,
    deadline: float | None,
    today: date | None = None,
) -> Series:
    """The series for these hospitals over [first, last] (Beijing days, inclusive); days after today are empty."""
    today = today or beijing_today()
    hospitals = list(dict.fromkeys(hospital_ids))
    past_last = min(last, today - timedelta(days=1))
    kept: dict[tuple[str, date], Any] = {}
    if first <= past_last:
        async with db.session() as session:
            kept = await StatisticsDays(session).kept(hospitals, first, past_last)
    wanted = [(h, d) for h in hospitals for d in days_between(first, past_last) if (h, d) not in kept]
    if first <= today <= last:
        wanted += [(h, today) for h in hospitals]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def ask(hospital_id: str, day: date) -> dict[str, Any] | HisError:
        request = DataStatisticsRequest(start_time=f"{day} 00:00:00", end_time=f"{day} 23:59:59")
        async with gate:
            try:
                reply: TransactionStatistics | None = await his.call(
                    DATA_STATISTICS, hospital_id, request, deadline=deadline
                )
            except HisNoData:
                reply = None
            except HisError as error:
                return error
        return figures_of(reply)

    answers = await asyncio.gather(*(ask(h, d) for h, d in wanted))
    fresh: dict[tuple[str, date], dict[str, Any]] = {}
    failures: dict[str, Failure] = {}
    for (hospital_id, day), answer in zip(wanted, answers, strict=True):
        if isinstance(answer, HisError):
            failures.setdefault(hospital_id, Failure(hospital_id, answer.code, answer.message))
        else:
            fresh[(hospital_id, day)] = answer
    past_fresh = [(key, figures) for key, figures in fresh.items() if key[1] < today]
    if past_fresh:
        async with db.session() as session:
            days = StatisticsDays(session)
            for (hospital_id, day), figures in past_fresh:
                await days.keep(hospital_id, day, figures)
    everything = {**kept, **fresh}
    rows: dict[tuple[str, str], Totals] = {}
    region: dict[str, Totals] = {}
    for day in days_between(first, last):
        key = bucket_of(day, bucket)
        region.setdefault(key, Totals())
        for hospital_id in hospitals:
            if hospital_id in failures:
                continue
            totals = rows.setdefault((hospital_id, key), Totals())
            found = everything.get((hospital_id, day))
            if found is not None:
                totals.add_day(hospital_id, found)
    for (_, key), totals in rows.items():
        region[key].add(totals)
    return Series(rows=rows, region=region, failures=list(failures.values()), calls=len(wanted))
