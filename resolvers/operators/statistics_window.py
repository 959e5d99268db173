"""``StatisticsSeries.window``: 30.1.2 over the series' whole window, asked as the spec defines it (issue 15 item 6).

30.1.2 (hospitalStatistics, 根据时间查询各医院交易数量) counts each hospital's transactions and appointments over a time
range: one call over [from 00:00:00, to 23:59:59] per hospital, and one for every hospital behind one regional
endpoint, never one call per day. It is asked only when a client reads the field.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import Any

import strawberry

from his_clients.models.statistics import HOSPITAL_STATISTICS, HospitalStatisticsRequest, HospitalTransactionStatistics

from ..context import Info
from ..fanout import per_hospital
from .statistics import TransactionCountsAtHospital, row_for


def _hospitals_asked(series: Any) -> list[str]:
    """The hospitals the series asked: those that answered (their rows) and those that did not."""
    asked = [str(row.hospital_id) for row in series.rows] + [str(silent.hospital_id) for silent in series.not_answered]
    return list(dict.fromkeys(asked))


def window_counts(root: Any, info: Info) -> list[Awaitable[TransactionCountsAtHospital]]:
    hospitals = _hospitals_asked(root)
    first, last = date.fromisoformat(str(root.from_day)), date.fromisoformat(str(root.to_day))
    request = HospitalStatisticsRequest(start_time=f"{first} 00:00:00", end_time=f"{last} 23:59:59")
    registry = info.context.registry

    def name_of(hospital: str) -> str:
        found = registry.hospital(hospital)
        return found.name if found else ""

    def convert(hospital: str, rows: list[HospitalTransactionStatistics]) -> TransactionCountsAtHospital:
        found = registry.hospital(hospital)
        row = row_for(hospital, rows, regional=found is not None and found.is_regional)
        if row is None:
            return TransactionCountsAtHospital.nothing(hospital, name_of(hospital))
        counts = TransactionCountsAtHospital.from_row(hospital, row)
        counts.hospital_name = counts.hospital_name or name_of(hospital)
        return counts

    if not hospitals:
        return []
    return per_hospital(
        info,
        ",".join(hospitals),
        method=HOSPITAL_STATISTICS,
        request=request,
        convert=convert,
        empty=lambda hospital: TransactionCountsAtHospital.nothing(hospital, name_of(hospital)),
    )


window_field = strawberry.field(
    resolver=window_counts,
    graphql_type=list[TransactionCountsAtHospital | None],
    description=(
        "The hospitals' own transaction and appointment counts over the whole window (30.1.2 hospitalStatistics), "
        "asked as the spec defines it: one call over from 00:00:00 to to 23:59:59 per hospital (one for all the "
        "hospitals behind one regional endpoint), never one per day; only when this field is read. One entry per "
        "hospital of the series; a hospital that fails gives a null entry and its own error."
    ),
)
