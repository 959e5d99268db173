"""GraphQL types of payment orders: the order, its refunds, and the one result union of every payment creation."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from services.payments.orders import CardRefundRequested, OrderSummary, RefundSummary
from store.orders import OrderState as StoredOrderState
from store.orders import RefundState as StoredRefundState

from ..refusal import Refusal
from ..scalars import Money
from .hospital_status import OrderHospitalStatus


@strawberry.enum(name="OrderState", description="Where a payment order stands in the ledger.")
class PaymentOrderState(Enum):
    CREATED = strawberry.enum_value("CREATED", description="Waiting for payment: nothing paid yet.")
    PAID = strawberry.enum_value("PAID", description="Paid; the hospital is being told.")
    NOTIFIED = strawberry.enum_value("NOTIFIED", description="The hospital has the payment (its serial: hisSerial).")
    REFUNDING = strawberry.enum_value("REFUNDING", description="The money is on its way back.")
    REFUNDED = strawberry.enum_value("REFUNDED", description="The money went back to the payer.")
    PARKED = strawberry.enum_value("PARKED", description="No automatic step is safe: an operator will sort it out.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Closed before payment.")

    @classmethod
    def of(cls, state: StoredOrderState | str) -> PaymentOrderState:
        return cls(str(state))


@strawberry.enum(name="RefundState", description="Where a refund stands.")
class PaymentRefundState(Enum):
    AWAITING_HIS = strawberry.enum_value(
        "AWAITING_HIS", description="The hospital acts first (cancels the booking, deducts the card balance)."
    )
    PENDING = strawberry.enum_value("PENDING", description="The payment provider is refunding.")
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="The money went back.")
    FAILED = strawberry.enum_value(
        "FAILED", description="The provider could not return the money: an operator will sort it out."
    )
    REFUSED = strawberry.enum_value("REFUSED", description="The hospital said no: nothing goes back.")
    PARKED = strawberry.enum_value(
        "PARKED", description="The hospital gave no clear answer in time: an operator will sort it out."
    )

    @classmethod
    def of(cls, state: StoredRefundState | str) -> PaymentRefundState:
        return cls(str(state))


@strawberry.enum(description="What an order paid for (its flow).")
class PaidFor(Enum):
    BILLS = strawberry.enum_value("outpatient", description="Outpatient bills (门诊缴费, 3.1.1 pendingPayments).")
    REGISTRATION_TODAY = strawberry.enum_value("registration_today", description="A same-day registration (当日挂号).")
    REGISTRATION_APPOINTMENT = strawberry.enum_value(
        "registration_appointment", description="A booked appointment's registration (预约挂号)."
    )
    DEPOSIT = strawberry.enum_value("deposit", description="An inpatient deposit (住院押金).")
    RECHARGE = strawberry.enum_value("recharge", description="A card balance recharge (就诊卡充值).")
    ADMISSION = strawberry.enum_value("admission", description="An admission's payment (入院缴费).")
    CONSULTATION = strawberry.enum_value("consultation", description="An online consultation (在线问诊).")
    INSURANCE = strawberry.enum_value("insurance", description="A medical-insurance settlement (医保结算).")
    LAB_APPOINTMENT = strawberry.enum_value("lab_appointment", description="A lab test appointment (检验预约).")
    MEDICAL_RECORD = strawberry.enum_value("medical_record", description="A medical-record copy (病案复印).")
    PHYSICAL_EXAM = strawberry.enum_value("physical_exam", description="A physical examination (体检).")
    SELF_ORDER = strawberry.enum_value("self_order", description="Items the patient ordered (自助开单).")
    OTHER = strawberry.enum_value("other", description="Anything else.")

    @classmethod
    def of(cls, flow: str) -> PaidFor:
        return next((member for member in cls if str(member.value) == flow), cls.OTHER)


@strawberry.type(description="A payment order (支付订单) and where it stands.")
class PaymentOrder:
    out_trade_no: str = strawberry.field(
        description="The order's id (outTradeNo), starting with its business type code."
    )
    paid_for: PaidFor = strawberry.field(description="What the order pays for: bills, a registration, a deposit...")
    state: PaymentOrderState = strawberry.field(description="Where the order stands in the ledger.")
    hospital_id: strawberry.ID = strawberry.field(description="The hospital paid.")
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
            paid_for=PaidFor.of(order.flow),
            state=PaymentOrderState.of(order.state),
            hospital_id=strawberry.ID(order.hospital_id),
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


CreatePaymentResult = Annotated[
    CreatedPayment | Refusal,
    strawberry.union(
        "CreatePaymentResult",
        description=(
            "A new order to pay, or why none was made (Refusal: a 附四 code such as 60102 no bill, 60202 the fee "
            "changed, 20003 / 20004 an amount not allowed; HIS_* when the hospital gave no usable answer; "
            "PROVIDER_UNAVAILABLE when the payment provider could not be reached). Every create*Payment answers it."
        ),
    ),
]


@strawberry.type(description="Money going back to the payer for an order (退款), and where it stands.")
class PaymentRefund:
    out_refund_no: str = strawberry.field(description="Our refund number, sent on every try (退款单号).")
    out_trade_no: str = strawberry.field(description="The order the money was paid for.")
    amount: Money = strawberry.field(description="Yuan going back through the payment provider.")
    state: PaymentRefundState = strawberry.field(description="Where the refund stands.")
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
            state=PaymentRefundState.of(refund.state),
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
