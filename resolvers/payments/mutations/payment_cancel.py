"""cancelPayment: give up an order before it is paid."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.orders import OrderNotCancellable, UnknownOrder
from services.refusals import RefusalCode, Refused

from ...access import NotFound
from ...context import Info
from ...refusal import Refusal
from ..common import NO_SUCH_ORDER, NOT_CANCELLABLE, for_patient, require_card
from ..types import PaymentOrder


@strawberry.type
class PaymentCancelMutation:
    @strawberry.mutation(description="Cancel an order that has not been paid (the provider's trade is closed first).")
    async def cancel_payment(
        self, info: Info, out_trade_no: Annotated[str, strawberry.argument(description="The order to cancel.")]
    ) -> Annotated[
        PaymentOrder | Refusal,
        strawberry.union(
            "CancelPaymentResult",
            description=(
                "The cancelled order, or why not (Refusal: NOT_FOUND no such order of the caller's cards, "
                "NOT_CANCELLABLE paid or closed already)."
            ),
        ),
    ]:
        payments = info.context.services.payments
        try:
            order = await payments.get(out_trade_no.strip())
            if order is None:
                raise UnknownOrder(out_trade_no)
            await require_card(info, order.medical_card_number)
            cancelled = await payments.cancel(order.out_trade_no)
        except (UnknownOrder, NotFound):
            return Refusal.of(Refused(RefusalCode.NOT_FOUND, NO_SUCH_ORDER, field="outTradeNo"))
        except OrderNotCancellable as refused:
            return Refusal.of(Refused(RefusalCode.NOT_CANCELLABLE, for_patient(refused, NOT_CANCELLABLE)))
        return PaymentOrder.of(cancelled)
