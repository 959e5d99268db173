"""startCardBinding: check a physical card's holder and send a code to the phone the hospital holds (2.1.1)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.errors import HisError
from services.cards import card_number_from_qr
from services.identity.accounts import IdentityRefused

from ...arguments import OneHospital
from ...context import Info
from ...errors import refused_by_hospital
from ...refusal import Refusal
from ..types import CardBindingStarted
from .common import signed_in_account


@strawberry.type
class CardBindingStartMutation:
    @strawberry.mutation(
        description=(
            "Step 1 of binding a physical card (绑定实体就诊卡): the name and ID number typed must match the "
            "hospital's record of the card; then a one-time code goes by SMS to the phone number the hospital holds."
        )
    )
    async def start_card_binding(
        self,
        info: Info,
        hospital_id: OneHospital,
        medical_card_number: Annotated[str, strawberry.argument(description="The physical card's number.")],
        name: Annotated[str, strawberry.argument(description="The card holder's name, as typed.")],
        id_card_number: Annotated[str, strawberry.argument(description="The card holder's ID number, as typed.")],
    ) -> Annotated[
        CardBindingStarted | Refusal,
        strawberry.union(
            "StartCardBindingResult",
            description=(
                "The code was sent (to a masked phone), or why binding cannot start (Refusal: CARD_NOT_FOUND_20215 "
                "no such card or name and ID number do not match, THROTTLED too many checks or codes, SYSTEM_ERROR "
                "the SMS could not be sent, or the hospital's code)."
            ),
        ),
    ]:
        account_id = signed_in_account(info)
        # A scanned national e-health card's QR content may be passed as it is (section 1.1).
        card = card_number_from_qr(medical_card_number, index=info.context.services.national_card_qr_index)
        try:
            started = await info.context.services.accounts.start_binding(
                account_id=account_id,
                hospital_id=str(hospital_id).strip(),
                medical_card_number=card,
                name=name,
                id_number=id_card_number,
                deadline=info.context.deadline,
            )
        except IdentityRefused as refused:
            return Refusal.of(refused)
        except HisError as failure:
            return Refusal.of(refused_by_hospital(failure))
        return CardBindingStarted(masked_phone=started.masked_phone)
