"""Queries about payment orders."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..access import NotFound
from ..context import Info
from .common import require_card
from .types import PaymentOrder, PaymentRefund


@strawberry.type
class PaymentQueries:
    @strawberry.field(description="A payment order of one of the caller's cards; null when there is none such.")
    async def payment_order(
        self, info: Info, out_trade_no: Annotated[str, strawberry.argument(description="The order's outTradeNo.")]
    ) -> PaymentOrder | None:
        order = await info.context.services.payments.get(out_trade_no.strip())
        if order is None:
            return None
        try:
            await require_card(info, order.medical_card_number)
        except NotFound:
            return None
        return PaymentOrder.of(order)

    @strawberry.field(
        description="The refunds of a payment order of one of the caller's cards, oldest first; "
        "empty when there is none such."
    )
    async def payment_refunds(
        self, info: Info, out_trade_no: Annotated[str, strawberry.argument(description="The order's outTradeNo.")]
    ) -> list[PaymentRefund]:
        payments = info.context.services.payments
        order = await payments.get(out_trade_no.strip())
        if order is None:
            return []
        try:
            await require_card(info, order.medical_card_number)
        except NotFound:
            return []
        return [PaymentRefund.of(refund) for refund in await payments.refunds(order.out_trade_no)]
