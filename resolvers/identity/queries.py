"""The signed-in account."""

from __future__ import annotations

import strawberry

from services.identity.principal import PatientPrincipal

from ..access import refuse_invalid_session
from ..context import Info
from .types import AccountCard, Me


@strawberry.type
class IdentityQueries:
    @strawberry.field(description="The signed-in patient account and its cards; null when not signed in as a patient.")
    async def me(self, info: Info) -> Me | None:
        principal = info.context.principal
        refuse_invalid_session(principal)
        if not isinstance(principal, PatientPrincipal):
            return None
        cards = await info.context.services.accounts.cards(principal.account_id)
        return Me(
            cards=[
                AccountCard(
                    medical_card_number=c.medical_card_number,
                    hospital_id=c.hospital_id,
                    relation=c.relation,
                    how=c.how,
                    physical_card_number=c.physical_card_number,
                )
                for c in cards
            ]
        )
