"""The signed-in account."""

from __future__ import annotations

import strawberry

from services.identity.principal import OperatorPrincipal, PatientPrincipal

from ..access import refuse_invalid_session
from ..arguments import beijing
from ..context import Info
from ..operators.accounts import OperatorAccount, OperatorRole
from .types import AccountCard, CardOrigin, Me, Relation


@strawberry.type
class IdentityQueries:
    @strawberry.field(
        description=(
            "Who is signed in: a patient account and its cards, or an operator (Me.operator: username, role, "
            "hospital); null when nobody is."
        )
    )
    async def me(self, info: Info) -> Me | None:
        principal = info.context.principal
        refuse_invalid_session(principal)
        if isinstance(principal, OperatorPrincipal):
            operator = await info.context.services.operators.get(principal.operator_id)
            if operator is None:  # pragma: no cover - the session check found it a moment ago
                return None
            return Me(
                cards=[],
                operator=OperatorAccount(
                    username=operator.username,
                    role=OperatorRole(operator.role),
                    hospital_id=strawberry.ID(operator.hospital_id) if operator.hospital_id else None,
                    disabled=operator.disabled_at is not None,
                    last_login_at=beijing(operator.last_login_at) if operator.last_login_at else None,
                ),
            )
        if not isinstance(principal, PatientPrincipal):
            return None
        cards = await info.context.services.accounts.cards(principal.account_id)
        return Me(
            cards=[
                AccountCard(
                    medical_card_number=c.medical_card_number,
                    hospital_id=strawberry.ID(c.hospital_id) if c.hospital_id else None,
                    relation=Relation.of(c.relation),
                    origin=CardOrigin.of(c.how),
                    physical_card_number=c.physical_card_number,
                )
                for c in cards
            ]
        )
