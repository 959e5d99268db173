"""Queries for regional operators' dashboards: statistics (30.x) and the HIS side of reconciliation (14.2.x)."""

from __future__ import annotations

import strawberry

from .views import OperatorViews


@strawberry.type
class OperatorQueries:
    """Operator fields of Query."""

    @strawberry.field(
        description=(
            "Regional operators' dashboards: statistics and reconciliation across hospitals. "
            "Every operator view hangs off this one field, so the operator role is checked here."
        )
    )
    def operator(self) -> OperatorViews:
        # The role check (issue: operators' access) belongs here, once, for every view below.
        return OperatorViews()
