"""Queries about hospitals."""

from __future__ import annotations

import strawberry

from ..context import Info
from ..fanout import hospital_ids_argument
from .types import Hospital


@strawberry.type
class HospitalQueries:
    @strawberry.field(
        description=(
            "Hospitals of the region in registry order; hospitalId (comma-separated ids) picks some. Fields "
            "of each hospital are asked of that hospital alone, so one failing hospital nulls only its own fields."
        )
    )
    def hospitals(self, info: Info, hospital_id: str | None = None) -> list[Hospital]:
        registry = info.context.registry
        if hospital_id is None:
            return [Hospital.from_registry(h) for h in registry.hospitals]
        return [Hospital.from_registry(registry.by_id[h]) for h in hospital_ids_argument(info, hospital_id)]

    @strawberry.field(description="One hospital by id; null when the registry has no such hospital.")
    def hospital(self, info: Info, id: strawberry.ID) -> Hospital | None:
        found = info.context.registry.hospital(str(id))
        return Hospital.from_registry(found) if found else None
