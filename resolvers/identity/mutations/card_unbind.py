"""unbindCard: the account lets go of a card (a bound card is unlinked at its hospital first, 2.1.4)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.errors import HisError

from ...access import NotFound
from ...context import Info
from ...errors import refused_by_hospital
from ...refusal import Refusal
from ..types import Me
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
    ) -> Annotated[
        Me | Refusal,
        strawberry.union(
            "UnbindCardResult",
            description="The account's cards now, or why not (Refusal: CARD_NOT_FOUND_20215, or the hospital's code).",
        ),
    ]:
        account_id = signed_in_account(info)
        accounts = info.context.services.accounts
        try:
            removed = await accounts.unbind(
                account_id=account_id, medical_card_number=medical_card_number.strip(), deadline=info.context.deadline
            )
        except HisError as failure:
            return Refusal.of(refused_by_hospital(failure))
        if not removed:
            return Refusal.of(NotFound())
        return Me(cards=[card_type(c) for c in await accounts.cards(account_id)])
