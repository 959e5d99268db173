"""createInsurancePayment: bills settled by medical insurance, the rest paid online (5.1.1 -> 5.1.2 -> 5.1.4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from services.payments.entry_insurance import InsuranceOrderCreated
from services.payments.orders import CreatedOrder

from ...context import Info
from ...records.outpatient import InsurancePayment
from ...refusal import Refusal
from ...scalars import Money
from ..common import create, openid_of, require_card
from ..types import CreatedPayment, PaymentOrder


@strawberry.type(
    description=(
        "A medical-insurance order (线上医保): the insurer has settled its part at the hospital (5.1.2 医保结算); "
        "the self-pay part is paid with payParams, then the hospital is told (5.1.4)."
    )
)
class CreatedInsurancePayment:
    order: PaymentOrder = strawberry.field(
        description="Our order for the self-pay part: onlineAmount is paid online, balancePayment from the card."
    )
    pay_params: JSON | None = strawberry.field(
        description="wx.requestPayment's parameters as they are; null when nothing is left to pay online."
    )
    his_trade_id: str = strawberry.field(description="The hospital's order number (hisTradeId).")
    trade_amount: Money = strawberry.field(description="The order's amount (tradeAmount).")
    preferential_amount: Money = strawberry.field(description="Discount (preferentialAmount).")
    insurance_amount: Money = strawberry.field(description="Settled by medical insurance (medAmount).")
    self_pay_amount: Money = strawberry.field(
        description="Left for the patient: tradeAmount - preferentialAmount - medAmount (online + card balance)."
    )
    insurance_payments: list[InsurancePayment] = strawberry.field(
        description="How the insurer paid its part (medPayList: 医保统筹, 医保余额...)."
    )

    @classmethod
    def of(cls, payment: CreatedPayment, made: InsuranceOrderCreated) -> CreatedInsurancePayment:
        settlement = made.settlement
        return cls(
            order=payment.order,
            pay_params=payment.pay_params,
            his_trade_id=settlement.his_trade_id,
            trade_amount=Money(settlement.trade_amount),
            preferential_amount=Money(settlement.preferential_amount),
            insurance_amount=Money(settlement.insurance_amount),
            self_pay_amount=Money(settlement.self_pay),
            insurance_payments=[
                InsurancePayment(pay_type_name=part.pay_type_name, amount=Money(part.amount))
                for part in settlement.insurance_parts
            ],
        )


CreateInsurancePaymentResult = Annotated[
    CreatedInsurancePayment | Refusal,
    strawberry.union(
        "CreateInsurancePaymentResult",
        description="A new insurance order to pay, or why none was made (Refusal, as for CreatePaymentResult).",
    ),
]


@strawberry.type
class InsurancePaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "Pay pending bills (3.1.1) with medical insurance (chapter 5 线上医保支付): the hospital makes and "
            "pre-settles the order (5.1.1), the insurer settles its part (5.1.2), and the patient pays the rest "
            "with payParams. An order left unfinished at the hospital (5.1.5) for the same bills is resumed."
        )
    )
    async def create_insurance_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital whose bills are paid.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card the bills are on.")],
        detail_ids: Annotated[
            list[str] | None,
            strawberry.argument(description="The bills' detail ids (3.1.1 detail id); every pending bill when null."),
        ] = None,
        balance_payment: Annotated[
            Money | None,
            strawberry.argument(description="Part of the self-pay part paid from the card's balance; 0 when none."),
        ] = None,
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number, when the hospital asks.")
        ] = None,
        phone: Annotated[str | None, strawberry.argument(description="The patient's phone (phoneNo).")] = None,
        social_card_tail: Annotated[
            str | None,
            strawberry.argument(description="Last 6 digits of the social-security card's bank number (socialCardNo)."),
        ] = None,
    ) -> CreateInsurancePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()
        made: list[InsuranceOrderCreated] = []

        async def make() -> CreatedOrder:
            await require_card(info, card)
            created = await info.context.services.payments.create_insurance_order(
                hospital_id=hospital,
                medical_card_number=card,
                detail_ids=detail_ids,
                id_card=id_card_number,
                phone_no=phone,
                social_card_no=social_card_tail,
                balance_payment=Decimal(balance_payment or 0),
                payer_openid=openid_of(info),
            )
            made.append(created)
            return created.created

        result = await create(info, hospital, make)
        if isinstance(result, Refusal):
            return result
        return CreatedInsurancePayment.of(result, made[0])
