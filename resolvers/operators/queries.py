"""Queries for regional operators' dashboards: statistics (30.x) and the HIS side of reconciliation (14.2.x)."""

from __future__ import annotations

import strawberry

from services.identity.principal import OperatorPrincipal

from ..access import Forbidden, refuse_invalid_session
from ..context import Info
from .views import OperatorViews


@strawberry.type
class OperatorQueries:
    """Operator fields of Query."""

    @strawberry.field(
        description=(
            "Regional operators' dashboards: statistics and reconciliation across hospitals. "
            "Every operator view hangs off this one field, so the operator role is checked here. Every view is "
            "nullable: one view's error (a hospital outside the operator's scope, a bad argument) nulls that view "
            "alone, and the rest of the dashboard's request still answers."
        )
    )
    def operator(self, info: Info) -> OperatorViews | None:
        # Checked once here for every view below; a hospital operator's hospital ids are checked where
        # every view reads them (resolvers.fanout.hospital_ids_argument).
        refuse_invalid_session(info.context.principal)  # an ended or revoked session: sign in again
        if not isinstance(info.context.principal, OperatorPrincipal):
            raise Forbidden("operators only: sign in with logInOperator")
        return OperatorViews()
