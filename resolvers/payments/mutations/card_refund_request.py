"""requestCardRefund: take card balance back to where it was paid from (chapter 8, 8.1.1 -> 8.1.2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from his_clients.errors import HisError
from services.payments.orders import RefundNotPossible

from ...access import NotFound
from ...context import Info
from ...errors import told_to_patient
from ...scalars import Money
from ..common import for_patient, require_card
from ..types import CardRefund, PaymentRefusal


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
        hospital_id: Annotated[str, strawberry.argument(description="The hospital of the card.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card whose balance goes back.")],
        amount: Annotated[
            Money | None,
            strawberry.argument(description="Yuan to take back; null for all the hospital calls refundable (8.1.1)."),
        ] = None,
    ) -> Annotated[
        CardRefund | PaymentRefusal,
        strawberry.union("CardRefundResult", description="The refunds under way, or why not."),
    ]:
        card = medical_card_number.strip()
        try:
            await require_card(info, card)
            requested = await info.context.services.payments.request_card_refund(
                hospital_id=hospital_id.strip(),
                medical_card_number=card,
                amount=None if amount is None else Decimal(amount),
            )
        except NotFound as refused:
            return PaymentRefusal(code="20215", message=str(refused))
        except RefundNotPossible as refused:
            return PaymentRefusal(code="20004", message=for_patient(refused, "退款金额超出可退余额。"))
        except HisError as failure:
            return PaymentRefusal(code=str(failure.code or "HIS_UNAVAILABLE"), message=told_to_patient(failure))
        return CardRefund.of(requested)
