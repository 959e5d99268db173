"""unbindCard: the account lets go of a card (a bound card is unlinked at its hospital first, 2.1.4)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.errors import HisError

from ...context import Info
from ...errors import told_to_patient
from ..types import IdentityRefusal, Me
from .common import card_type, signed_in_account


@strawberry.type
class CardUnbindMutation:
    @strawberry.mutation(
        description="Remove a card from the account. A card bound from a physical card is unlinked at its hospital "
        "first (解绑关联的院内卡信息, 2.1.4); the hospital's own records are kept."
    )
    async def unbind_card(
        self,
        info: Info,
        medical_card_number: Annotated[str, strawberry.argument(description="The card (e-card or physical).")],
    ) -> Annotated[Me | IdentityRefusal, strawberry.union("UnbindResult", description="The account's cards now.")]:
        account_id = signed_in_account(info)
        accounts = info.context.services.accounts
        try:
            removed = await accounts.unbind(
                account_id=account_id, medical_card_number=medical_card_number.strip(), deadline=info.context.deadline
            )
        except HisError as failure:
            return IdentityRefusal(code=failure.code, message=told_to_patient(failure))
        if not removed:
            return IdentityRefusal(code="20215", message="卡号信息不存在: no such card")
        return Me(cards=[card_type(c) for c in await accounts.cards(account_id)])
