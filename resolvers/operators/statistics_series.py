"""``operator { statistics(from, to, bucket, hospitalId) }``: chapter 30 as a series (issue 15 item 6).

Per-hospital rows per bucket, a region total per bucket and the hospitals that did not answer. Past
Beijing days come from ``statistics_days`` once asked (services/operations/statistics.py); today is
asked fresh. Every figure is described; a count in the wrong shape is an error on that figure.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, timedelta
from enum import Enum
from typing import Annotated, Any

import strawberry

from his_clients.codes import ReturnCode
from services.operations.statistics import MAX_DAYS, Totals, beijing_today, statistics_series

from ..arguments import From, To, in_order
from ..context import Info
from ..fanout import hospital_ids_argument
from ..hospitals.entry import HospitalEntry
from ..results import InputRefused
from ..scalars import Money
from .orders import signed_in
from .statistics import FigureMalformed, TransactionCountsAtHospital
from .statistics_window import window_field


@strawberry.enum(description="How the days of a statistics window are grouped.")
class StatisticsBucket(Enum):
    DAY = strawberry.enum_value("DAY", description="One bucket per Beijing calendar day (yyyy-MM-dd).")
    WEEK = strawberry.enum_value("WEEK", description="One bucket per ISO week, named by its Monday (yyyy-MM-dd).")
    MONTH = strawberry.enum_value("MONTH", description="One bucket per calendar month (yyyy-MM).")


FIGURES = {
    "outpatientTotalTrans": "outpatient_transactions",
    "inpatientTotalTrans": "inpatient_transactions",
    "regCardAmount": "health_card_visits",
}


def _count(totals: Totals, name: str) -> Any:
    """The summed count, or a FigureMalformed that graphql-core reports on that field alone."""
    seen = totals.malformed.get(name)
    if seen is not None:
        return FigureMalformed(seen[0], name, seen[1])
    return totals.counts[name]


def _figures(totals: Totals) -> dict[str, Any]:
    return {
        "outpatient_amount": Money(totals.amounts["outpatientTotalAmount"]),
        "inpatient_amount": Money(totals.amounts["inpatientTotalAmount"]),
        **{attribute: _count(totals, name) for name, attribute in FIGURES.items()},
    }


OUTPATIENT_AMOUNT = "Outpatient transactions' amount (门诊总交易金额, outpatientTotalAmount), two decimal places."
OUTPATIENT_COUNT = (
    "Outpatient transactions (门诊总交易笔数, outpatientTotalTrans); an error on this figure alone when a day's "
    "count was not a whole number (HIS_PROTOCOL_ERROR, extensions.figure)."
)
INPATIENT_AMOUNT = "Inpatient transactions' amount (住院总交易金额, inpatientTotalAmount), two decimal places."
INPATIENT_COUNT = (
    "Inpatient transactions (住院总交易笔数, inpatientTotalTrans); an error on this figure alone when malformed."
)
CARD_VISITS = (
    "Visits with an electronic health card (具有电子健康卡的就诊人次, regCardAmount: a count despite its name); "
    "an error on this figure alone when malformed."
)


@strawberry.type(description="One hospital's 30.1.1 figures summed over one bucket of the window.")
class StatisticsRow(HospitalEntry):
    bucket: str = strawberry.field(
        description="The bucket: yyyy-MM-dd for DAY and WEEK (its Monday), yyyy-MM for MONTH."
    )
    outpatient_amount: Money = strawberry.field(description=OUTPATIENT_AMOUNT)
    outpatient_transactions: int | None = strawberry.field(description=OUTPATIENT_COUNT)
    inpatient_amount: Money = strawberry.field(description=INPATIENT_AMOUNT)
    inpatient_transactions: int | None = strawberry.field(description=INPATIENT_COUNT)
    health_card_visits: int | None = strawberry.field(description=CARD_VISITS)


@strawberry.type(description="The region's total for one bucket: the sum over the hospitals that answered.")
class StatisticsRegionTotal:
    bucket: str = strawberry.field(description="The bucket, named as in the rows.")
    hospitals: int = strawberry.field(description="How many hospitals answered and are summed here.")
    outpatient_amount: Money = strawberry.field(description=OUTPATIENT_AMOUNT)
    outpatient_transactions: int | None = strawberry.field(description=OUTPATIENT_COUNT)
    inpatient_amount: Money = strawberry.field(description=INPATIENT_AMOUNT)
    inpatient_transactions: int | None = strawberry.field(description=INPATIENT_COUNT)
    health_card_visits: int | None = strawberry.field(description=CARD_VISITS)


@strawberry.type(description="A hospital that did not answer for some day of the window: it is left out of the sums.")
class StatisticsSilentHospital:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    code: str = strawberry.field(
        description="Why: the gateway's code (HIS_TIMEOUT, HIS_CIRCUIT_OPEN, HIS_CALL_BUDGET...) or the hospital's "
        "附四 code when it refused."
    )


@strawberry.type(
    description=(
        "Chapter 30 figures as a series (30.1.1 per hospital and Beijing day). Past days are asked once and kept, "
        "so asking the same history again makes no hospital call; today is always asked fresh; days after today "
        "count as nothing yet."
    )
)
class StatisticsSeries:
    from_day: date = strawberry.field(name="from", description="The first day of the window (a Beijing day).")
    to_day: date = strawberry.field(name="to", description="The last day of the window (a Beijing day).")
    bucket: StatisticsBucket = strawberry.field(description="How the days are grouped.")
    rows: list[StatisticsRow] = strawberry.field(
        description="One row per hospital that answered and bucket: hospitals in the order asked, "
        "buckets in time order."
    )
    region: list[StatisticsRegionTotal] = strawberry.field(description="The region's total per bucket, in time order.")
    not_answered: list[StatisticsSilentHospital] = strawberry.field(
        description="The hospitals that did not answer, with why; their figures are in no row and no total."
    )
    hospital_calls: int = strawberry.field(
        description="Hospital calls this answer needed (0 when every day was already kept and today is not in it)."
    )
    window: list[Awaitable[TransactionCountsAtHospital]] = window_field


def _hospitals(info: Info, raw: str | None) -> list[str]:
    principal = signed_in(info)
    if raw is None:
        return [h.id for h in info.context.registry.hospitals if principal.may_see(h.id)]
    if not any(part.strip() for part in raw.split(",")):
        raise InputRefused("hospitalId", ReturnCode.MISSING_PARAMETER, "name at least one hospital")
    return hospital_ids_argument(info, raw)


async def statistics(
    info: Info,
    from_day: From,
    to_day: To,
    bucket: Annotated[
        StatisticsBucket, strawberry.argument(description="How the days are grouped: DAY, WEEK or MONTH.")
    ] = StatisticsBucket.DAY,
    hospital_id: Annotated[
        str | None,
        strawberry.argument(
            description="One hospital id or several, comma-separated; omitted: every hospital the operator may see. "
            "An empty one is an error (20001)."
        ),
    ] = None,
) -> StatisticsSeries:
    first, last = from_day, to_day
    in_order(first, last)
    if last - first >= timedelta(days=MAX_DAYS):
        raise InputRefused("to", ReturnCode.PARAMETER_RANGE, f"a window is at most {MAX_DAYS} days")
    hospitals = _hospitals(info, hospital_id)
    context = info.context
    context.charge_hospitals(len(hospitals))
    series = await statistics_series(
        his=context.his,
        db=context.services.db,
        hospital_ids=hospitals,
        first=first,
        last=last,
        bucket=bucket.name,
        deadline=context.deadline,
        today=beijing_today(),
    )
    order = {h: n for n, h in enumerate(hospitals)}
    rows = [
        StatisticsRow(hospital_id=strawberry.ID(h), bucket=key, **_figures(totals))
        for (h, key), totals in sorted(series.rows.items(), key=lambda item: (order[item[0][0]], item[0][1]))
    ]
    answered = len(hospitals) - len(series.failures)
    return StatisticsSeries(
        from_day=first,
        to_day=last,
        bucket=bucket,
        rows=rows,
        region=[
            StatisticsRegionTotal(bucket=key, hospitals=answered, **_figures(totals))
            for key, totals in sorted(series.region.items())
        ],
        not_answered=[
            StatisticsSilentHospital(hospital_id=strawberry.ID(f.hospital_id), code=f.code) for f in series.failures
        ],
        hospital_calls=series.calls,
    )


statistics_field = strawberry.field(
    resolver=statistics,
    description=(
        "Chapter 30 figures over a window of Beijing days as a series: per-hospital rows per bucket (DAY, WEEK, "
        "MONTH), the region's total per bucket, and the hospitals that did not answer with their code. Each past "
        "day is asked once per hospital (30.1.1 over that day) and kept; today is asked fresh. A hospital operator "
        "sees only their hospital. from/to are Beijing days (20004 when reversed or longer than a year); an empty "
        "hospitalId is refused (20001)."
    ),
)
