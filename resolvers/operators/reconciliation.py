"""The hospitals' side of reconciliation (14.2.x 对账, 院内提供接口): what each HIS says it received."""

from __future__ import annotations

from enum import Enum

import strawberry

from his_clients.models.reconciliation import TradeOrder as TradeOrderReply
from his_clients.models.reconciliation import TradeRecord as TradeRecordReply
from his_clients.models.reconciliation import TradeRefundRecord as TradeRefundReply
from resolvers.hospitals.entry import HospitalEntry

from ..scalars import Money

PAY_TYPE = "How it was paid: WeChatPay (微信), AliPay (支付宝), SelfBuiltPlatformPay (自建支付平台), or a 附六 code."


@strawberry.enum(description="Whether a transaction took money in or gave it back (14.1.1 tradeType).")
class TradeKind(Enum):
    PAYMENT = strawberry.enum_value("PAY", description="A payment (支付).")
    REFUND = strawberry.enum_value("REFUND", description="A refund (退款): the record carries a refund number.")


@strawberry.type(description="One transaction as the hospital recorded it (14.2.1 reconciliation.detail, 交易记录).")
class TradeRecord:
    out_trade_no: str = strawberry.field(description="The payment's order number, our outTradeNo (tradeNo, 订单号).")
    refund_no: str | None = strawberry.field(description="The refund number (退款单号); null for a payment.")
    kind: TradeKind = strawberry.field(description="Payment or refund: a refund is a record with a refund number.")
    amount: Money = strawberry.field(description="The amount as the hospital writes it; refunds are usually negative.")
    trade_time: str = strawberry.field(description="When it happened, yyyy-MM-dd HH:mm:ss (tradeTime, 交易时间).")
    pay_type: str = strawberry.field(description=PAY_TYPE)
    description: str = strawberry.field(description="What was paid for, e.g. 诊间支付 (body, 商品名称).")
    patient_name: str = strawberry.field(description="The patient's name (name, 姓名).")
    medical_card_number: str = strawberry.field(description="The patient's card number (hisCardCode, 卡号).")
    complete: bool = strawberry.field(
        description="Whether the hospital considers the transaction complete (交易是否完成)."
    )

    @classmethod
    def from_reply(cls, record: TradeRecordReply) -> TradeRecord:
        refund_no = record.refund_no or None
        return cls(
            out_trade_no=record.trade_no,
            refund_no=refund_no,
            kind=TradeKind.REFUND if refund_no else TradeKind.PAYMENT,
            amount=Money(record.amount),
            trade_time=record.trade_time,
            pay_type=record.pay_type,
            description=record.body,
            patient_name=record.name,
            medical_card_number=record.his_card_code,
            complete=record.complete,
        )


@strawberry.type(description="One hospital's transactions in a time window (14.2.1 指定时间段内交易记录查询).")
class TradeRecordsAtHospital(HospitalEntry):
    records: list[TradeRecord] = strawberry.field(
        description="Its transactions with tradeTime inside the window, filtered by kind and payType when asked."
    )


@strawberry.type(description="An order as the hospital recorded it (14.2.2 reconciliation.queryByOutTradeNo).")
class TradeOrder:
    out_trade_no: str = strawberry.field(description="The order number, our outTradeNo (tradeNo, 订单号).")
    amount: Money = strawberry.field(description="The amount (金额).")
    trade_time: str = strawberry.field(description="When it was paid, yyyy-MM-dd HH:mm:ss (tradeTime, 支付时间).")
    pay_type: str = strawberry.field(description=PAY_TYPE)
    description: str = strawberry.field(description="What was paid for (body, 商品名称).")
    complete: bool = strawberry.field(description="Whether the hospital considers it complete (交易是否完成).")

    @classmethod
    def from_reply(cls, order: TradeOrderReply) -> TradeOrder:
        return cls(
            out_trade_no=order.trade_no,
            amount=Money(order.amount),
            trade_time=order.trade_time,
            pay_type=order.pay_type,
            description=order.body,
            complete=order.complete,
        )


@strawberry.type(description="What one hospital holds under an order number (14.2.2 根据订单号查询订单).")
class TradeOrdersAtHospital(HospitalEntry):
    orders: list[TradeOrder] = strawberry.field(
        description="The hospital's records of the order; empty when it knows none (10002)."
    )


@strawberry.type(description="A refund as the hospital recorded it (14.2.3 queryByOutTradeNoAndRefundNo).")
class TradeRefund:
    out_trade_no: str = strawberry.field(description="The refunded payment's order number (tradeNo, 订单号).")
    refund_no: str = strawberry.field(description="The refund number (refundNo, 退款单号).")
    amount: Money = strawberry.field(description="The amount refunded, as the hospital writes it (金额).")
    trade_time: str = strawberry.field(description="When, yyyy-MM-dd HH:mm:ss (tradeTime).")
    pay_type: str = strawberry.field(description=PAY_TYPE)
    description: str = strawberry.field(description="What had been paid for (body, 商品名称).")
    complete: bool = strawberry.field(description="Whether the hospital considers the refund complete (交易是否完成).")

    @classmethod
    def from_reply(cls, refund: TradeRefundReply) -> TradeRefund:
        return cls(
            out_trade_no=refund.trade_no,
            refund_no=refund.refund_no,
            amount=Money(refund.amount),
            trade_time=refund.trade_time,
            pay_type=refund.pay_type,
            description=refund.body,
            complete=refund.complete,
        )


@strawberry.type(description="What one hospital holds under an order and refund number (14.2.3).")
class TradeRefundAtHospital(HospitalEntry):
    refund: TradeRefund | None = strawberry.field(
        description="The refund record; null when the hospital knows none (10002)."
    )
