"""Queries about hospitals."""

from __future__ import annotations

import strawberry

from ..context import Info
from .types import Hospital


@strawberry.type
class HospitalQueries:
    @strawberry.field(description="Every hospital of the region, in registry order.")
    def hospitals(self, info: Info) -> list[Hospital]:
        return [Hospital.from_registry(h) for h in info.context.registry.hospitals]
