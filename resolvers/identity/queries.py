"""The signed-in account."""

from __future__ import annotations

import strawberry

from services.identity.principal import OperatorPrincipal, PatientPrincipal

from ..access import refuse_invalid_session
from ..context import Info
from ..operators.accounts import OperatorAccount
from .types import AccountCard, Me, Relation


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
                    role=operator.role,
                    hospital_id=operator.hospital_id,
                    disabled=operator.disabled_at is not None,
                    last_login_at=operator.last_login_at,
                ),
            )
        if not isinstance(principal, PatientPrincipal):
            return None
        cards = await info.context.services.accounts.cards(principal.account_id)
        return Me(
            cards=[
                AccountCard(
                    medical_card_number=c.medical_card_number,
                    hospital_id=c.hospital_id,
                    relation=Relation.of(c.relation),
                    how=c.how,
                    physical_card_number=c.physical_card_number,
                )
                for c in cards
            ]
        )
