"""The money ledger: orders, their state changes, refunds and the outbox (store.outbox) that drives the sagas.

Every state change of an order is a row in `order_events`, written in the same transaction as the
change itself and as the outbox job that carries out what comes next (the "transactional outbox"), so
a crash at any point leaves a store from which the worker resumes.

    CREATED ──> PAID ──> NOTIFIED
       │          ├────> REFUNDING ──> REFUNDED
       │          └────> PARKED (operators decide; from there NOTIFIED, REFUNDING, or PAID to notify again)
       └──> CANCELLED (before payment)

NOTIFIED and REFUNDED are final, and neither leads to the other: an order is never both.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Dialect,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from store.models import Base, BigIntegerId, TimestampedMixin, UtcDateTime
from store.outbox import JobState as JobState
from store.outbox import OutboxJob as OutboxJob
from store.outbox import OutboxRepository as OutboxRepository

CENT: Final = Decimal("0.01")


class MoneyAmount(TypeDecorator[Decimal]):
    """Yuan with two decimal places: NUMERIC(12, 2) on PostgreSQL, exact text on SQLite.

    SQLite has no decimal type: a NUMERIC column there turns "0.10" into a binary float. Text keeps the
    exact value; sums are done in Python on SQLite (the single-machine default), in SQL on PostgreSQL.
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(24))
        return dialect.type_descriptor(Numeric(12, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"amounts are Decimal, not {type(value).__name__}")
        exact = value.quantize(CENT)
        if exact != value:
            raise ValueError(f"{value} has more than two decimal places")
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


class OrderState(StrEnum):
    CREATED = "CREATED"
    """Written before the payment provider is asked; nothing paid yet."""
    PAID = "PAID"
    """The provider's paid notification was recorded; the hospital is being told."""
    NOTIFIED = "NOTIFIED"
    """The hospital applied the payment (we hold its serial number, outPrepayId). Final."""
    REFUNDING = "REFUNDING"
    """The hospital said the payment may be refunded; the provider refund is under way."""
    REFUNDED = "REFUNDED"
    """The money went back to the payer. Final."""
    PARKED = "PARKED"
    """No automatic step is safe: waits for an operator."""
    CANCELLED = "CANCELLED"
    """Closed before payment. Final unless money arrives anyway (then PARKED)."""


FINAL_STATES: Final = frozenset({OrderState.NOTIFIED, OrderState.REFUNDED})

ALLOWED_TRANSITIONS: Final[dict[OrderState, frozenset[OrderState]]] = {
    OrderState.CREATED: frozenset({OrderState.PAID, OrderState.CANCELLED, OrderState.PARKED}),
    OrderState.PAID: frozenset({OrderState.NOTIFIED, OrderState.REFUNDING, OrderState.PARKED}),
    OrderState.REFUNDING: frozenset({OrderState.REFUNDED, OrderState.PARKED}),
    OrderState.PARKED: frozenset({OrderState.NOTIFIED, OrderState.REFUNDING, OrderState.PAID}),
    OrderState.CANCELLED: frozenset({OrderState.PARKED}),
    OrderState.NOTIFIED: frozenset(),
    OrderState.REFUNDED: frozenset(),
}
"""The only state changes the ledger accepts. Operators leave PARKED by the same two doors, or send it back to
PAID to tell the hospital again (resolveParkedOrder RETRY_NOTIFY); PAID never leads to both NOTIFIED and REFUNDED."""


class RefundState(StrEnum):
    """A refund's state. After-sale refunds (the order stays NOTIFIED) start at AWAITING_HIS.

    A refund of a NOTIFIED order (the user cancels a registration, takes back card balance) never
    changes the order's state: NOTIFIED stays final, the refund row carries the after-sale saga.

        AWAITING_HIS ──> PENDING ──> SUCCEEDED
             │              └──────> FAILED
             ├──> REFUSED (the hospital said no: nothing was taken back, nothing goes back)
             └──> PARKED  (no safe automatic step: operators decide)
    """

    AWAITING_HIS = "AWAITING_HIS"
    """The hospital must act first (cancel the booking, deduct the card balance) before money goes back."""
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    """The provider could not return the money (closed card...): operators step in."""
    REFUSED = "REFUSED"
    """The hospital refused to cancel: the booking stands, nothing is refunded (the amount is free again)."""
    PARKED = "PARKED"
    """The hospital gave no clear answer within the window, or may have kept the money: operators decide."""


RELEASED_REFUND_STATES: Final = frozenset({RefundState.FAILED, RefundState.REFUSED})
"""Refunds that took nothing back: their amount may be refunded again under another number."""


class IllegalTransition(Exception):
    """A state change the ledger does not allow (e.g. NOTIFIED -> REFUNDING)."""

    def __init__(self, out_trade_no: str, from_state: str, to_state: str) -> None:
        super().__init__(f"order {out_trade_no}: {from_state} -> {to_state} is not allowed")
        self.from_state = from_state
        self.to_state = to_state


class RefundExceedsPayment(Exception):
    """A refund that would return more than was paid online for the order."""


class AmountsDoNotAddUp(ValueError):
    """online + balancePayment + unifiedPayAmount must equal the total, every part >= 0."""


def check_amounts(*, total: Decimal, balance_payment: Decimal, unified_pay_amount: Decimal, online: Decimal) -> None:
    """The spec's equation (3.1.2): amount (online) = total - balancePayment - unifiedPayAmount."""
    parts = (total, balance_payment, unified_pay_amount, online)
    if any(part < 0 or part.quantize(CENT) != part for part in parts):
        raise AmountsDoNotAddUp(f"amounts must be >= 0 with two decimal places: {parts}")
    if online + balance_payment + unified_pay_amount != total:
        raise AmountsDoNotAddUp(
            f"online {online} + balance {balance_payment} + unified {unified_pay_amount} != total {total}"
        )


def refundable_left(paid_online: Decimal, refunds: list[Decimal]) -> Decimal:
    """What may still go back through the provider: the online part less every refund not failed."""
    return paid_online - sum(refunds, Decimal("0"))


class Order(TimestampedMixin, Base):
    """One payment the platform takes for a hospital (a bill, a recharge, a deposit, ...)."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "total_amount >= 0 AND balance_payment >= 0 AND unified_pay_amount >= 0 AND online_amount >= 0",
            name="amounts_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    """公众号系统订单号: the payment's unique id, starting with its business-type code (ZJZF, JZKCZ, ZYYJ...)."""
    business_type: Mapped[str] = mapped_column(String(16))
    """The code out_trade_no starts with (14.1.1 filters on it)."""
    flow: Mapped[str] = mapped_column(String(32))
    """Which saga drives the order: outpatient, recharge, deposit, ..."""
    hospital_id: Mapped[str] = mapped_column(String(32), index=True)
    medical_card_number: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(String(128))
    total_amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    """The whole amount due, as the hospital quoted it (never re-added from the items)."""
    discount_amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    balance_payment: Mapped[Decimal] = mapped_column(MoneyAmount)
    """Paid from the card's balance at the hospital (balancePayment)."""
    unified_pay_amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    """Paid through the unified settlement platform (unifiedPayAmount, 附六)."""
    unified_pay_trade_no: Mapped[str | None] = mapped_column(String(64))
    online_amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    """Paid through the payment provider: total - balance_payment - unified_pay_amount."""
    state: Mapped[str] = mapped_column(String(16), index=True)
    quote: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What the hospital quoted and the flow needs later (3.1.1 detail ids, admission number, ...)."""
    provider: Mapped[str] = mapped_column(String(32))
    prepay_id: Mapped[str | None] = mapped_column(String(128))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    """The provider's id of the payment."""
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    his_serial: Mapped[str | None] = mapped_column(String(64))
    """The hospital's serial number of the applied payment (outPrepayId)."""
    notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    state_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    """Optimistic concurrency: an UPDATE that finds another version changed nothing and fails."""

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute

    def __repr__(self) -> str:
        return f"Order(out_trade_no={self.out_trade_no!r}, state={self.state!r})"


class OrderEvent(Base):
    """One state change of an order, with why it happened. Append-only."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    order_id: Mapped[int] = mapped_column(BigIntegerId, ForeignKey("orders.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Refund(TimestampedMixin, Base):
    """Money going back to the payer through the provider, under a refund number we chose once."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(BigIntegerId, ForeignKey("orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MoneyAmount)
    reason: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    succeeded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OrderRepository:
    """Reads and writes the ledger inside the caller's session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, order: Order, *, at: datetime, reason: str = "order created") -> Order:
        """Insert a new CREATED order and its first event."""
        check_amounts(
            total=order.total_amount,
            balance_payment=order.balance_payment,
            unified_pay_amount=order.unified_pay_amount,
            online=order.online_amount,
        )
        order.state = OrderState.CREATED
        order.created_at = order.updated_at = at
        self._session.add(order)
        await self._session.flush()
        self._session.add(OrderEvent(order_id=order.id, from_state=None, to_state=order.state, reason=reason, at=at))
        return order

    async def get(self, out_trade_no: str, *, for_update: bool = False) -> Order | None:
        """The order, locked until the transaction ends when `for_update` (PostgreSQL; SQLite locks the file)."""
        query = select(Order).where(Order.out_trade_no == out_trade_no)
        if for_update:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def get_by_id(self, order_id: int, *, for_update: bool = False) -> Order | None:
        query = select(Order).where(Order.id == order_id)
        if for_update:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def transition(self, order: Order, to_state: OrderState, *, reason: str, at: datetime) -> None:
        """Change the order's state (refused unless ALLOWED_TRANSITIONS has it) and record why."""
        from_state = OrderState(order.state)
        if to_state not in ALLOWED_TRANSITIONS[from_state]:
            raise IllegalTransition(order.out_trade_no, from_state, to_state)
        order.state = to_state
        order.state_reason = reason
        order.updated_at = at
        self._session.add(OrderEvent(order_id=order.id, from_state=from_state, to_state=to_state, reason=reason, at=at))
        await self._session.flush()

    async def events(self, order: Order) -> list[OrderEvent]:
        result = await self._session.execute(
            select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
        )
        return list(result.scalars())

    async def add_refund(
        self,
        order: Order,
        *,
        out_refund_no: str,
        amount: Decimal,
        reason: str,
        at: datetime,
        state: RefundState = RefundState.PENDING,
    ) -> Refund:
        """A new refund (PENDING, or AWAITING_HIS after sale); refused when it returns more than was paid online."""
        existing = await self.refunds(order)
        taken = [refund.amount for refund in existing if refund.state not in RELEASED_REFUND_STATES]
        if amount <= 0 or amount > refundable_left(order.online_amount, taken):
            raise RefundExceedsPayment(
                f"order {order.out_trade_no}: refund {amount} exceeds what is left of {order.online_amount}"
            )
        refund = Refund(
            out_refund_no=out_refund_no,
            order_id=order.id,
            amount=amount,
            reason=reason,
            state=state,
            created_at=at,
            updated_at=at,
        )
        self._session.add(refund)
        await self._session.flush()
        return refund

    async def get_refund(self, refund_id: int, *, for_update: bool = False) -> Refund | None:
        query = select(Refund).where(Refund.id == refund_id)
        if for_update:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def get_refund_by_no(self, out_refund_no: str) -> Refund | None:
        return (
            await self._session.execute(select(Refund).where(Refund.out_refund_no == out_refund_no))
        ).scalar_one_or_none()

    async def refunds(self, order: Order) -> list[Refund]:
        result = await self._session.execute(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
        return list(result.scalars())

    async def count_by_state(self) -> dict[str, int]:
        result = await self._session.execute(select(Order.state, func.count()).group_by(Order.state))
        return {state: count for state, count in result.tuples()}

    async def of_cards(
        self, medical_card_numbers: Collection[str], *, before: tuple[datetime, int] | None, limit: int
    ) -> list[Order]:
        """The orders of these cards, newest first (created_at, then id), those older than ``before`` only."""
        if not medical_card_numbers:
            return []
        query = select(Order).where(Order.medical_card_number.in_(list(medical_card_numbers)))
        if before is not None:
            at, order_id = before
            query = query.where(or_(Order.created_at < at, and_(Order.created_at == at, Order.id < order_id)))
        query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit)
        return list((await self._session.execute(query)).scalars())

    async def refunds_of(self, order_ids: Collection[int]) -> dict[int, list[Refund]]:
        """The refunds of these orders, oldest first, by order id (one query for a page of orders)."""
        found: dict[int, list[Refund]] = {order_id: [] for order_id in order_ids}
        if not found:
            return found
        result = await self._session.execute(select(Refund).where(Refund.order_id.in_(list(found))).order_by(Refund.id))
        for refund in result.scalars():
            found[refund.order_id].append(refund)
        return found
