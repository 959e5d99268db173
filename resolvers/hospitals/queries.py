"""Queries about hospitals."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..arguments import OneHospital
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
    def hospitals(
        self,
        info: Info,
        hospital_id: Annotated[
            str | None,
            strawberry.argument(
                description='Hospital ids, comma-separated (e.g. "253,254"); leave it out for every hospital.'
            ),
        ] = None,
    ) -> list[Hospital]:
        registry = info.context.registry
        if hospital_id is None:
            return [Hospital.from_registry(h) for h in registry.hospitals]
        return [Hospital.from_registry(registry.by_id[h]) for h in hospital_ids_argument(info, hospital_id)]

    @strawberry.field(description="One hospital by its hospitalId; null when the registry has no such hospital.")
    def hospital(self, info: Info, hospital_id: OneHospital) -> Hospital | None:
        found = info.context.registry.hospital(str(hospital_id))
        return Hospital.from_registry(found) if found else None
