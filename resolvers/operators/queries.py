"""Queries for regional operators' dashboards: statistics (30.x) and the HIS side of reconciliation (14.2.x)."""

from __future__ import annotations

import strawberry


@strawberry.type
class OperatorQueries:
    """Operator fields of Query."""
