"""cancelPaidBooking: the user cancels a paid booking; the hospital cancels first, then the refund."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.orders import RefundNotPossible, UnknownOrder
from services.refusals import RefusalCode, Refused

from ...access import NotFound
from ...context import Info
from ...refusal import Refusal
from ..common import NO_SUCH_ORDER, NOT_REFUNDABLE, for_patient, require_card
from ..types import PaymentRefund


@strawberry.type
class PaidBookingCancelMutation:
    @strawberry.mutation(
        description=(
            "Cancel a paid booking (today's registration 20.1.8, appointment 21.2.3, physical exam 28.1.7, ...) "
            "with a refund of what was paid online: the hospital cancels first. Asking again returns the same refund."
        )
    )
    async def cancel_paid_booking(
        self, info: Info, out_trade_no: Annotated[str, strawberry.argument(description="The paid order to cancel.")]
    ) -> Annotated[
        PaymentRefund | Refusal,
        strawberry.union(
            "CancelPaidBookingResult",
            description=(
                "The refund under way, or why not (Refusal: NOT_FOUND no such order of the caller's cards, "
                "NOT_REFUNDABLE not a made booking paid online)."
            ),
        ),
    ]:
        payments = info.context.services.payments
        try:
            order = await payments.get(out_trade_no.strip())
            if order is None:
                raise UnknownOrder(out_trade_no)
            await require_card(info, order.medical_card_number)
            refund = await payments.request_cancel(order.out_trade_no)
        except (UnknownOrder, NotFound):
            return Refusal.of(Refused(RefusalCode.NOT_FOUND, NO_SUCH_ORDER, field="outTradeNo"))
        except RefundNotPossible as refused:
            return Refusal.of(Refused(RefusalCode.NOT_REFUNDABLE, for_patient(refused, NOT_REFUNDABLE)))
        return PaymentRefund.of(refund)
