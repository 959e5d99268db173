"""confirmCardBinding: the code came back; the platform makes the e-card and pushes it (2.1.2)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.errors import HisError
from services.identity.accounts import IdentityRefused

from ...arguments import OneHospital
from ...context import Info
from ...errors import refused_by_hospital
from ...refusal import Refusal
from ..types import CardResult, Relation
from .common import card_type, signed_in_account


@strawberry.type
class CardBindingConfirmMutation:
    @strawberry.mutation(
        description=(
            "Step 2 of binding a physical card: with the code from the SMS, the platform makes an e-health card "
            "from the physical card, pushes it to the hospital (2.1.2 bindCard) and the account holds it. "
            "Refusal: SMS_CODE_INVALID (field "
            "code) when the code is wrong, expired, used or out of attempts; or the hospital's code."
        )
    )
    async def confirm_card_binding(
        self,
        info: Info,
        hospital_id: OneHospital,
        medical_card_number: Annotated[str, strawberry.argument(description="The physical card of step 1.")],
        code: Annotated[str, strawberry.argument(description="The six-digit code from the SMS.")],
        relation: Annotated[
            Relation,
            strawberry.argument(
                description="Whose card: SELF (default) for the account holder's own, else the 附五 relation."
            ),
        ] = Relation.SELF,
    ) -> CardResult:
        account_id = signed_in_account(info)
        try:
            card = await info.context.services.accounts.confirm_binding(
                account_id=account_id,
                hospital_id=str(hospital_id).strip(),
                medical_card_number=medical_card_number.strip(),
                code=code,
                relation=relation.stored,
                deadline=info.context.deadline,
            )
        except IdentityRefused as refused:
            return Refusal.of(refused)
        except HisError as failure:
            return Refusal.of(refused_by_hospital(failure))
        return card_type(card)
