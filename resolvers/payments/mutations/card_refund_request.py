"""requestCardRefund: take card balance back to where it was paid from (chapter 8, 8.1.1 -> 8.1.2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from his_clients.errors import HisError
from services.payments.orders import RefundNotPossible
from services.refusals import RefusalCode, Refused

from ...access import NotFound
from ...context import Info
from ...errors import refused_by_hospital
from ...refusal import Refusal
from ...scalars import Money
from ..common import for_patient, require_card
from ..types import CardRefund


@strawberry.type
class CardRefundRequestMutation:
    @strawberry.mutation(
        description=(
            "Take card balance back (就诊卡余额退款, 8.1.1-8.1.3): the hospital deducts it first, then the money "
            "goes back to the recharges it came from. Only balance recharged online through this platform."
        )
    )
    async def request_card_refund(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital of the card.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card whose balance goes back.")],
        amount: Annotated[
            Money | None,
            strawberry.argument(description="Yuan to take back; null for all the hospital calls refundable (8.1.1)."),
        ] = None,
    ) -> Annotated[
        CardRefund | Refusal,
        strawberry.union(
            "RequestCardRefundResult",
            description=(
                "The refunds under way, or why not (Refusal: CARD_NOT_FOUND_20215, PARAMETER_RANGE with field "
                "amount, or the hospital's code)."
            ),
        ),
    ]:
        card = medical_card_number.strip()
        try:
            await require_card(info, card)
            requested = await info.context.services.payments.request_card_refund(
                hospital_id=str(hospital_id).strip(),
                medical_card_number=card,
                amount=None if amount is None else Decimal(amount),
            )
        except NotFound as refused:
            return Refusal.of(refused)
        except RefundNotPossible as refused:
            message = for_patient(refused, "退款金额超出可退余额。")
            return Refusal.of(Refused(RefusalCode.PARAMETER_RANGE, message, field="amount"))
        except HisError as failure:
            return Refusal.of(refused_by_hospital(failure))
        return CardRefund.of(requested)
