"""The interface catalog as the simulator reads it: which methods a hospital answers and how."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).resolve().parents[1] / "spec" / "interfaces.json"
DICTIONARIES_PATH = Path(__file__).resolve().parents[1] / "spec" / "dictionaries.json"

# The nine `his` entries whose section names no method. The client side uses the same names.
UNNAMED_METHODS: dict[str, str] = {
    "4.1.1": "hospital.interface.queryGuideSheet",
    "5.1.1": "hospital.interface.medicalInsurance.createOrder",
    "5.1.2": "hospital.interface.medicalInsurance.settle",
    "5.1.3": "hospital.interface.medicalInsurance.cancelOrder",
    # 5.1.4 is titled 支付成功通知 (payment notification), not a refund: see README.md.
    "5.1.4": "hospital.interface.medicalInsurance.paySuccess",
    "5.1.5": "hospital.interface.medicalInsurance.queryUnfinishedOrders",
    "5.1.6": "hospital.interface.medicalInsurance.queryOrderState",
    "16.1.4": "hospital.interface.pacsReportDcmFile",
    "24.1.7": "hospital.interface.appointment.changeSchedule",
}

DCM_FILE_METHOD = UNNAMED_METHODS["16.1.4"]

# Sections where one regional call may carry several hospitalIds ("256,257").
MULTI_HOSPITAL_SECTIONS = frozenset(
    {"11.1.1", "12.1.1", "16.1.1", "18.1.1", "18.1.2", "32.1.1", "38.1.1", "40.1.1", "41.1.1"}
)


@dataclass(frozen=True, slots=True)
class Param:
    """One row of a 参数说明 or 返回值说明 table."""

    name: str
    required: bool | None
    description: str


@dataclass(frozen=True, slots=True, eq=False)
class Entry:
    """One `direction: his` interface as the simulator serves it."""

    section: str
    title: str
    variant: str | None
    method: str
    params: tuple[Param, ...]
    response_fields: tuple[Param, ...]
    request_example: Any
    response_example: Any

    @property
    def multi_hospital(self) -> bool:
        return self.section in MULTI_HOSPITAL_SECTIONS


def _params(rows: list[dict[str, Any]]) -> tuple[Param, ...]:
    return tuple(Param(row["name"], row["required"], row["description"]) for row in rows)


@cache
def his_entries() -> tuple[Entry, ...]:
    """Every `direction: his` entry, with the unnamed ones given their agreed method names."""
    raw = json.loads(CATALOG_PATH.read_text(encoding="utf-8"))
    entries = []
    for row in raw:
        if row["direction"] != "his":
            continue
        method = row["method"] or UNNAMED_METHODS[row["section"]]
        entries.append(
            Entry(
                section=row["section"],
                title=row["title"],
                variant=row["variant"],
                method=method,
                params=_params(row["params"]),
                response_fields=_params(row["response_fields"]),
                request_example=row["request_example"],
                response_example=row["response_example"],
            )
        )
    return tuple(entries)


@cache
def entries_by_method() -> dict[str, Entry]:
    """Method name (exactly as the catalog writes it) to its entry."""
    return {entry.method: entry for entry in his_entries()}


@cache
def return_code_meanings() -> dict[str, str]:
    """附四: business return code to its meaning."""
    raw = json.loads(DICTIONARIES_PATH.read_text(encoding="utf-8"))
    return {row["code"]: row["meaning"] for row in raw["return_codes"]["entries"]}
