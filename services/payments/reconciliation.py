"""The ledger's answers to the platform-side reconciliation queries hospitals call (14.1.1-14.1.3).

The shims (api/shims, 14.1.x) read the hospital's JSON, call these functions and wrap what they return
in the spec's envelope (`to_wire()` gives each record in the spec's field names; the records are in
reconciliation_records.py). Amounts are Decimal;
times are the spec's `yyyy-MM-dd HH:mm:ss` in Beijing time.

Only money that really moved through the payment provider counts in 14.1.1:

- a **payment line** for each order the provider paid (`paid_at` set, state PAID, NOTIFIED, REFUNDING,
  REFUNDED or PARKED) with something paid online, timed by `paid_at`, amount +online part;
- a **refund line** for each SUCCEEDED refund, timed by `succeeded_at`, amount -refund (its own line,
  as 14.1.2 and 14.1.3 write refunds: outTradeNo is the refund number, sourceOutTradeNo the order).

Nothing else is a line: a CREATED or CANCELLED order took no money, a pending, failed or refused refund
gave none back. 14.1.2 and 14.1.3 answer about one refund or order whatever its state (they are state
queries: refundSuccess / state tell it).

`hospital_id` scopes every query when given: a hospital only ever sees its own orders, even where the
spec says other conditions are void (14.1.1 with outTradeNo).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database
from store.orders import Order, OrderEvent, OrderState, Refund, RefundState

from .after_sale import after_sale_note
from .clock import CHINA_TIME, spec_time
from .quotes import QuoteUnreadable, quote_of
from .reconciliation_records import OrderLogEntry, PaymentRecord, RecordState, RefundRecord, TradeLine
from .sagas.base import pay_type

MAX_WINDOW: Final = timedelta(days=7)
"""14.1.1: 每次查询的时间段不可超过7天."""

MONEY_MOVED_STATES: Final = frozenset(
    {OrderState.PAID, OrderState.NOTIFIED, OrderState.REFUNDING, OrderState.REFUNDED, OrderState.PARKED}
)
"""Order states in which the provider's payment was recorded (PARKED orders also need `paid_at`)."""

ZERO: Final = Decimal("0.00")


class TradeType(StrEnum):
    """14.1.1 tradeType: only payments, or only refunds (empty: both)."""

    PAY = "PAY"
    REFUND = "REFUND"


class QueryRefused(ValueError):
    """A query the spec does not allow: `code` is the 附四 code the shim answers, `field` the parameter."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def parse_spec_time(text: str) -> datetime:
    """`yyyy-MM-dd HH:mm:ss` (Beijing time) as an aware datetime; ValueError when malformed."""
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME)


def split_codes(raw: str | None) -> list[str]:
    """`"ZJZF,JZKCZ"` (14.1.1 businessType) as `["ZJZF", "JZKCZ"]`; Chinese commas too, blanks dropped."""
    return [part.strip() for part in (raw or "").replace("，", ",").split(",") if part.strip()]


def payment_state_description(order: Order, refunded: Decimal) -> str:
    """14.1.1's stateDes of a payment line: how the order stands now."""
    state = OrderState(order.state)
    if state is OrderState.REFUNDED or (refunded > 0 and refunded >= order.online_amount):
        return "已退款"
    if refunded > 0:
        return "部分退款"
    if state is OrderState.REFUNDING:
        return "退款中"
    if state is OrderState.PARKED:
        return "支付成功，待人工处理"
    return "支付成功"


REFUND_STATE_DESCRIPTIONS: Final = {
    RefundState.AWAITING_HIS: "退款处理中",
    RefundState.PENDING: "退款处理中",
    RefundState.SUCCEEDED: "退款成功",
    RefundState.FAILED: "退款失败",
    RefundState.REFUSED: "退款失败",
    RefundState.PARKED: "退款处理中，待人工处理",
}


def _names(order: Order) -> tuple[str | None, str | None]:
    """customName and payerName, where the order's quote kept them (the ledger stores no other). Read through the
    flow's quote model, as every other reader does (a physical exam's old rows wrote ``name``: its OLD_KEYS); an
    unreadable quote names nobody rather than failing a reconciliation answer."""
    try:
        name = getattr(quote_of(order), "patient_name", None)
    except (KeyError, QuoteUnreadable):
        return None, None
    return (name or None), None


def moved_money(order: Order) -> bool:
    """Whether the provider took money for this order (the ledger recorded the paid notification)."""
    return OrderState(order.state) in MONEY_MOVED_STATES and order.paid_at is not None and order.online_amount > 0


def his_refund_no(order: Order, refund: Refund) -> str | None:
    """The hospital's own number of the refund (its voucher, 对账用), when the after-sale saga got one."""
    noted = after_sale_note(order, refund.out_refund_no).get("his_refund_no")
    return str(noted) if noted else None


def payment_line(order: Order, refunded: Decimal = ZERO) -> TradeLine:
    assert order.paid_at is not None
    custom_name, payer_name = _names(order)
    return TradeLine(
        out_trade_no=order.out_trade_no,
        source_out_trade_no=order.out_trade_no,
        refund_order_no=None,
        pay_time=spec_time(order.paid_at),
        state_des=payment_state_description(order, refunded),
        amount=order.online_amount,
        custom_name=custom_name,
        payer_name=payer_name,
        transaction_id=order.transaction_id or "",
        pay_type=pay_type(order),
        hospital_id=order.hospital_id,
        business_type=order.business_type,
        at=order.paid_at,
    )


def refund_line(order: Order, refund: Refund) -> TradeLine:
    assert refund.succeeded_at is not None
    custom_name, payer_name = _names(order)
    return TradeLine(
        out_trade_no=refund.out_refund_no,
        source_out_trade_no=order.out_trade_no,
        refund_order_no=his_refund_no(order, refund) or refund.out_refund_no,
        pay_time=spec_time(refund.succeeded_at),
        state_des=REFUND_STATE_DESCRIPTIONS[RefundState(refund.state)],
        amount=-refund.amount,
        custom_name=custom_name,
        payer_name=payer_name,
        transaction_id=refund.provider_refund_id or order.transaction_id or "",
        pay_type=pay_type(order),
        hospital_id=order.hospital_id,
        business_type=order.business_type,
        at=refund.succeeded_at,
    )


def _refunded(refunds: Iterable[Refund]) -> Decimal:
    return sum((r.amount for r in refunds if r.state == RefundState.SUCCEEDED), ZERO)


class ReconciliationService:
    """14.1.1-14.1.3 from the ledger; read-only."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def trades(
        self,
        *,
        start: datetime,
        end: datetime,
        business_types: Collection[str] | None,
        hospital_id: str | None = None,
        trade_type: TradeType | None = None,
        pay_type: str | None = None,
        out_trade_no: str | None = None,
    ) -> list[TradeLine]:
        """14.1.1: payments and refunds with payTime in [start, end], oldest first.

        `business_types` are the outTradeNo prefixes (ZJZF, JZKCZ, ...); None or empty: every type.
        `pay_type` is compared ignoring case (the spec's own example writes "WechatPay").
        With `out_trade_no` (an order or a refund number) only that line is looked for: every other
        condition is void, except the hospital's scope. The window must not be longer than 7 days
        nor reversed (QueryRefused 20004), unless `out_trade_no` is given.
        """
        if out_trade_no:
            return await self._trades_by_number(out_trade_no.strip(), hospital_id)
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        if end < start:
            raise QueryRefused("20004", "endTime", "endTime is before startTime")
        if end - start > MAX_WINDOW:
            raise QueryRefused("20004", "endTime", "the window may not be longer than 7 days")
        types = [code for code in business_types or [] if code]
        lines: list[TradeLine] = []
        async with self._db.session() as session:
            if trade_type is not TradeType.REFUND:
                query = select(Order).where(
                    Order.paid_at >= start,
                    Order.paid_at <= end,
                    Order.state.in_([s.value for s in MONEY_MOVED_STATES]),
                )
                if hospital_id:
                    query = query.where(Order.hospital_id == hospital_id)
                if types:
                    query = query.where(Order.business_type.in_(types))
                orders = list((await session.execute(query)).scalars())
                refunds = await self._refunds_of(session, [o.id for o in orders])
                lines.extend(
                    payment_line(order, _refunded(refunds.get(order.id, []))) for order in orders if moved_money(order)
                )
            if trade_type is not TradeType.PAY:
                refund_query = (
                    select(Refund, Order)
                    .join(Order, Order.id == Refund.order_id)
                    .where(
                        Refund.state == RefundState.SUCCEEDED.value,
                        Refund.succeeded_at >= start,
                        Refund.succeeded_at <= end,
                    )
                )
                if hospital_id:
                    refund_query = refund_query.where(Order.hospital_id == hospital_id)
                if types:
                    refund_query = refund_query.where(Order.business_type.in_(types))
                lines.extend(
                    refund_line(order, refund) for refund, order in (await session.execute(refund_query)).all()
                )
        if pay_type:
            lines = [line for line in lines if line.pay_type.lower() == pay_type.strip().lower()]
        return sorted(lines, key=lambda line: (line.at, line.out_trade_no))

    async def _trades_by_number(self, number: str, hospital_id: str | None) -> list[TradeLine]:
        async with self._db.session() as session:
            order = (await session.execute(select(Order).where(Order.out_trade_no == number))).scalar_one_or_none()
            if order is not None:
                if (hospital_id and order.hospital_id != hospital_id) or not moved_money(order):
                    return []
                refunds = await self._refunds_of(session, [order.id])
                return [payment_line(order, _refunded(refunds.get(order.id, [])))]
            found = (
                await session.execute(
                    select(Refund, Order).join(Order, Order.id == Refund.order_id).where(Refund.out_refund_no == number)
                )
            ).first()
            if found is None:
                return []
            refund, order = found
            if (hospital_id and order.hospital_id != hospital_id) or refund.state != RefundState.SUCCEEDED:
                return []
            return [refund_line(order, refund)]

    async def refunds_by_hospital_refund_no(
        self, hospital_refund_no: str, *, hospital_id: str | None = None
    ) -> list[RefundRecord]:
        """14.1.2: the refunds the hospital knows by this number, whatever their state; [] when none.

        The hospital's refund number is ours when the refund was made under it, or the voucher the
        hospital gave when it cancelled or deducted (20.1.8 refundNo, 8.1.2 outRefundId...).
        """
        number = hospital_refund_no.strip()
        if not number:
            return []
        async with self._db.session() as session:
            query = select(Refund, Order).join(Order, Order.id == Refund.order_id)
            if hospital_id:
                query = query.where(Order.hospital_id == hospital_id)
            by_ours = (await session.execute(query.where(Refund.out_refund_no == number))).all()
            matches: list[tuple[Refund, Order]] = [(r, o) for r, o in by_ours]
            if not matches:
                # The hospital's voucher lives in the order's after-sale notes: only orders with refunds.
                candidates = (await session.execute(query.order_by(Refund.id))).all()
                matches = [(r, o) for r, o in candidates if his_refund_no(o, r) == number]
            records = []
            for refund, order in matches:
                events = (
                    (
                        await session.execute(
                            select(OrderEvent)
                            .where(
                                and_(
                                    OrderEvent.order_id == order.id,
                                    OrderEvent.to_state.in_([OrderState.REFUNDING.value, OrderState.REFUNDED.value]),
                                )
                            )
                            .order_by(OrderEvent.id)
                        )
                    )
                    .scalars()
                    .all()
                )
                records.append(self._refund_record(order, refund, list(events)))
            return records

    @staticmethod
    def _refund_record(order: Order, refund: Refund, events: list[OrderEvent]) -> RefundRecord:
        state = RefundState(refund.state)
        custom_name, payer_name = _names(order)
        log = [OrderLogEntry(description="生成退款单", create_time=spec_time(refund.created_at))]
        log.extend(
            OrderLogEntry(description=f"订单{event.to_state}: {event.reason}", create_time=spec_time(event.at))
            for event in events
        )
        voucher = his_refund_no(order, refund)
        if voucher:
            log.append(
                OrderLogEntry(
                    description=f"退款-业务系统处理成功,院内退款单号:{voucher}",
                    create_time=spec_time(refund.updated_at),
                )
            )
        if state is RefundState.SUCCEEDED and refund.succeeded_at is not None:
            log.append(
                OrderLogEntry(
                    description=f"费用退还成功,第三方单据号:{refund.provider_refund_id or ''}",
                    create_time=spec_time(refund.succeeded_at),
                )
            )
            log.append(OrderLogEntry(description="退款成功", create_time=spec_time(refund.succeeded_at)))
        elif state is not RefundState.PENDING and state is not RefundState.AWAITING_HIS:
            log.append(
                OrderLogEntry(description=REFUND_STATE_DESCRIPTIONS[state], create_time=spec_time(refund.updated_at))
            )
        return RefundRecord(
            refund_success=state is RefundState.SUCCEEDED,
            out_trade_no=refund.out_refund_no,
            source_out_trade_no=order.out_trade_no,
            refund_order_no=voucher or refund.out_refund_no,
            pay_time=spec_time(refund.succeeded_at or refund.created_at),
            state_des=REFUND_STATE_DESCRIPTIONS[state],
            amount=-refund.amount,
            custom_name=custom_name,
            payer_name=payer_name,
            transaction_id=refund.provider_refund_id or order.transaction_id or "",
            order_log=log,
        )

    async def payment_record(self, out_trade_no: str, *, hospital_id: str | None = None) -> PaymentRecord | None:
        """14.1.3: the payment (an order number) or the refund (a refund number); None when unknown."""
        number = out_trade_no.strip()
        async with self._db.session() as session:
            order = (await session.execute(select(Order).where(Order.out_trade_no == number))).scalar_one_or_none()
            if order is not None:
                if hospital_id and order.hospital_id != hospital_id:
                    return None
                refunds = (await self._refunds_of(session, [order.id])).get(order.id, [])
                return self._order_record(order, refunds)
            found = (
                await session.execute(
                    select(Refund, Order).join(Order, Order.id == Refund.order_id).where(Refund.out_refund_no == number)
                )
            ).first()
            if found is None:
                return None
            refund, order = found
            if hospital_id and order.hospital_id != hospital_id:
                return None
            return self._refund_payment_record(order, refund)

    @staticmethod
    def _order_record(order: Order, refunds: list[Refund]) -> PaymentRecord:
        state = OrderState(order.state)
        paid = order.paid_at is not None and state in MONEY_MOVED_STATES
        if not paid:
            record_state = RecordState.NOT_PAID
        elif state in (OrderState.REFUNDING, OrderState.REFUNDED) or any(
            r.state == RefundState.SUCCEEDED for r in refunds
        ):
            record_state = RecordState.REFUND
        else:
            record_state = RecordState.SUCCESS
        return PaymentRecord(
            out_trade_no=order.out_trade_no,
            pay_time=spec_time(order.paid_at) if paid and order.paid_at is not None else None,
            state=record_state,
            amount=order.online_amount,
            transaction_id=order.transaction_id,
        )

    @staticmethod
    def _refund_payment_record(order: Order, refund: Refund) -> PaymentRecord:
        state = RefundState(refund.state)
        if state is RefundState.SUCCEEDED:
            record_state = RecordState.REFUND_SUCCESS
        elif state in (RefundState.FAILED, RefundState.REFUSED):
            record_state = RecordState.REFUND_FAIL
        else:
            record_state = RecordState.PROCESSING
        return PaymentRecord(
            out_trade_no=refund.out_refund_no,
            pay_time=spec_time(refund.succeeded_at) if refund.succeeded_at is not None else None,
            state=record_state,
            amount=-refund.amount,
            transaction_id=refund.provider_refund_id or order.transaction_id,
        )

    @staticmethod
    async def _refunds_of(session: AsyncSession, order_ids: list[int]) -> dict[int, list[Refund]]:
        if not order_ids:
            return {}
        grouped: dict[int, list[Refund]] = {}
        for start in range(0, len(order_ids), 500):
            chunk = order_ids[start : start + 500]
            result = await session.execute(select(Refund).where(Refund.order_id.in_(chunk)).order_by(Refund.id))
            for refund in result.scalars():
                grouped.setdefault(refund.order_id, []).append(refund)
        return grouped


__all__ = [
    "MAX_WINDOW",
    "MONEY_MOVED_STATES",
    "OrderLogEntry",
    "PaymentRecord",
    "QueryRefused",
    "ReconciliationService",
    "RecordState",
    "RefundRecord",
    "TradeLine",
    "TradeType",
    "moved_money",
    "parse_spec_time",
    "payment_line",
    "refund_line",
    "split_codes",
]
