"""GraphQL types of payment orders."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from services.payments.orders import CardRefundRequested, OrderSummary, RefundSummary

from ..scalars import Money
from .hospital_status import OrderHospitalStatus


@strawberry.type(description="A payment order (支付订单) and where it stands.")
class PaymentOrder:
    out_trade_no: str = strawberry.field(
        description="The order's id (outTradeNo), starting with its business type code."
    )
    flow: str = strawberry.field(description="What is paid: outpatient, recharge, deposit, ...")
    state: str = strawberry.field(
        description="CREATED (waiting for payment), PAID, NOTIFIED (the hospital has it), REFUNDING, REFUNDED, "
        "PARKED (an operator will sort it out), CANCELLED."
    )
    hospital_id: str = strawberry.field(description="The hospital paid.")
    medical_card_number: str = strawberry.field(description="The card paid for.")
    total_amount: Money = strawberry.field(description="The total, as the hospital quoted it.")
    balance_payment: Money = strawberry.field(description="Paid from the card's balance (balancePayment).")
    online_amount: Money = strawberry.field(description="Paid online: total - balance - unified settlement.")
    his_serial: str | None = strawberry.field(description="The hospital's serial number once notified (outPrepayId).")
    hospital_status: list[OrderHospitalStatus] = strawberry.field(
        description="What the hospital said about the order since it was made (20.2.1, 25.2.2), oldest first."
    )

    @classmethod
    def of(cls, order: OrderSummary) -> PaymentOrder:
        return cls(
            out_trade_no=order.out_trade_no,
            flow=order.flow,
            state=str(order.state),
            hospital_id=order.hospital_id,
            medical_card_number=order.medical_card_number,
            total_amount=Money(order.total_amount),
            balance_payment=Money(order.balance_payment),
            online_amount=Money(order.online_amount),
            his_serial=order.his_serial,
            hospital_status=[OrderHospitalStatus.of(status) for status in order.hospital_status],
        )


@strawberry.type(description="A new order and what the mini-program passes to wx.requestPayment.")
class CreatedPayment:
    order: PaymentOrder = strawberry.field(description="The order, written before the provider was asked.")
    pay_params: JSON | None = strawberry.field(
        description="wx.requestPayment's parameters as they are; null when nothing is left to pay online."
    )


@strawberry.type(description="Why an order could not be made or changed.")
class PaymentRefusal:
    code: str = strawberry.field(description="附四 code (e.g. 60102 no bill to pay) or ours (PROVIDER_UNAVAILABLE).")
    message: str = strawberry.field(description="What went wrong, in words.")


@strawberry.type(description="Money going back to the payer for an order (退款), and where it stands.")
class PaymentRefund:
    out_refund_no: str = strawberry.field(description="Our refund number, sent on every try (退款单号).")
    out_trade_no: str = strawberry.field(description="The order the money was paid for.")
    amount: Money = strawberry.field(description="Yuan going back through the payment provider.")
    state: str = strawberry.field(
        description="AWAITING_HIS (the hospital acts first), PENDING (the provider refunds), SUCCEEDED, "
        "REFUSED (the hospital said no: nothing goes back), FAILED or PARKED (an operator will sort it out)."
    )
    reason: str = strawberry.field(description="Why the money goes back.")
    his_refund_no: str | None = strawberry.field(
        description="The hospital's refund voucher (8.1.2 outRefundId, 20.1.8 / 21.2.3 refundNo), once it answered."
    )
    note: str | None = strawberry.field(description="Why the refund stands where it does, in words.")

    @classmethod
    def of(cls, refund: RefundSummary) -> PaymentRefund:
        return cls(
            out_refund_no=refund.out_refund_no,
            out_trade_no=refund.out_trade_no,
            amount=Money(refund.amount),
            state=str(refund.state),
            reason=refund.reason,
            his_refund_no=refund.his_refund_no,
            note=refund.note,
        )


@strawberry.type(description="A card-balance refund the user asked for (chapter 8): one refund per recharge order.")
class CardRefund:
    amount: Money = strawberry.field(description="Yuan asked back in all.")
    refunds: list[PaymentRefund] = strawberry.field(
        description="One refund per recharge order the balance came from; each is driven on its own."
    )

    @classmethod
    def of(cls, requested: CardRefundRequested) -> CardRefund:
        return cls(amount=Money(requested.amount), refunds=[PaymentRefund.of(r) for r in requested.refunds])
