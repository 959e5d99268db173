"""Queries about patients: only through cards the caller's account has proven."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.identity.principal import PatientPrincipal

from ..access import Unauthenticated, refuse_invalid_session
from ..context import Info
from .types import Patient


@strawberry.type
class PatientQueries:
    @strawberry.field(
        description=(
            "A patient by medical card number (就诊卡号). Null unless the signed-in account holds the card "
            "(its own or a family member's, proven by binding or creation): someone else's card looks exactly "
            "like a card that does not exist."
        )
    )
    async def patient(
        self,
        info: Info,
        medical_card_number: Annotated[
            str, strawberry.argument(description="The patient's medical card number (就诊卡号) or e-health card id.")
        ],
    ) -> Patient | None:
        context = info.context
        refuse_invalid_session(context.principal)
        if not isinstance(context.principal, PatientPrincipal):
            raise Unauthenticated("请先以患者身份登录: sign in as a patient to see a card")
        held = await context.held_cards()
        card = medical_card_number.strip()
        if held is None or card not in held.cards:
            return None
        return Patient(medical_card_number=card)
