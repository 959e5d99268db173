"""sandboxPay: in the demo, pay an order as the user would (the sandbox provider's notification)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.providers.sandbox import SandboxProvider

from ...access import Forbidden
from ...context import Info
from ..common import require_card
from ..types import PaymentOrder


@strawberry.type
class SandboxPayMutation:
    @strawberry.mutation(
        description="Development mode with the sandbox provider only: pay an order as the user would on their phone."
    )
    async def sandbox_pay(
        self, info: Info, out_trade_no: Annotated[str, strawberry.argument(description="The order to pay.")]
    ) -> PaymentOrder:
        services = info.context.services
        provider = services.payment_provider
        if not services.dev_login or not isinstance(provider, SandboxProvider):
            raise Forbidden("sandboxPay exists only in development mode with the sandbox provider")
        order = await services.payments.get(out_trade_no.strip())
        if order is None:
            raise Forbidden("no such order")
        await require_card(info, order.medical_card_number)
        recorded = await services.payments.record_payment(provider.pay(order.out_trade_no))
        return PaymentOrder.of(recorded.order)
