"""payInSandbox: in the demo, pay an order as the user would (the sandbox provider's notification)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.providers.sandbox import SandboxProvider
from services.refusals import RefusalCode, Refused

from ...access import Forbidden, NotFound
from ...context import Info
from ..common import NO_SUCH_ORDER, require_card
from ..types import PaymentOrder


@strawberry.type
class SandboxPayMutation:
    @strawberry.mutation(
        description=(
            "Development mode with the sandbox provider only: pay an order as the user would on their phone "
            "(refused with 50001 elsewhere; NOT_FOUND for an order that is not one of the caller's cards)."
        )
    )
    async def pay_in_sandbox(
        self, info: Info, out_trade_no: Annotated[str, strawberry.argument(description="The order to pay.")]
    ) -> PaymentOrder:
        services = info.context.services
        provider = services.payment_provider
        if not services.dev_login or not isinstance(provider, SandboxProvider):
            raise Forbidden("payInSandbox 仅在开发模式下、使用沙箱支付时可用。")
        order = await services.payments.get(out_trade_no.strip())
        try:
            if order is None:
                raise NotFound()
            await require_card(info, order.medical_card_number)
        except NotFound:  # an unknown order and another account's are refused alike
            raise Refused(RefusalCode.NOT_FOUND, NO_SUCH_ORDER, field="outTradeNo") from None
        recorded = await services.payments.record_payment(provider.pay(order.out_trade_no))
        return PaymentOrder.of(recorded.order)
