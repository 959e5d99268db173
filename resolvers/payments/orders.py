"""The account's orders as a patient follows them (issue 12 item 10): newest first with a cursor, what each paid
for, its refunds, the state a patient reads (REFUNDED once the money went back), the registration it made (what
the queue lookup takes) and the electronic invoice the hospital issued for it (31.1.1)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from his_clients.models.invoices import ELECTRONIC_INVOICE_INFORMATION, ElectronicInvoiceInformationRequest
from services.payments.clock import CHINA_TIME
from services.payments.quotes import QuoteUnreadable, TodayRegistrationQuote
from services.payments.results import OrderSummary, RefundSummary
from services.refusals import RefusalCode, Refused
from store.orders import Order, OrderRepository, OrderState, Refund, RefundState

from ..arguments import beijing
from ..context import Info
from ..records.common import detail
from ..records.documents import Invoice
from ..tasks import in_task
from .types import PaidFor as PaidFor  # re-exported: it lived here before types.py
from .types import PaymentOrder, PaymentOrderState, PaymentRefund

MAX_PAGE = 50
_INVOICE_DAYS = 30
_INVOICED_FLOWS = {"outpatient": "1", "registration_today": "1", "registration_appointment": "1", "deposit": "3"}
_IN_PROGRESS_REFUNDS = {RefundState.AWAITING_HIS, RefundState.PENDING, RefundState.PARKED, RefundState.FAILED}


@strawberry.enum(description="Where an order stands, as the patient reads it (derived from the ledger and refunds).")
class OrderStatus(Enum):
    UNPAID = strawberry.enum_value("UNPAID", description="Waiting for payment (待支付).")
    PROCESSING = strawberry.enum_value("PROCESSING", description="Paid; the hospital is being told (处理中).")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Paid and the hospital has it (已完成).")
    REFUNDING = strawberry.enum_value("REFUNDING", description="Money is on its way back (退款中).")
    PARTLY_REFUNDED = strawberry.enum_value("PARTLY_REFUNDED", description="Part of the money went back (部分退款).")
    REFUNDED = strawberry.enum_value("REFUNDED", description="All the money paid went back (已退款).")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Closed before payment (已取消).")


def order_status(state: OrderState, online_amount: Decimal, refunds: list[RefundSummary]) -> OrderStatus:
    """The patient's state: an after-sale refund leaves the ledger NOTIFIED, so the refunds decide after payment."""
    if state is OrderState.CREATED:
        return OrderStatus.UNPAID
    if state is OrderState.CANCELLED:
        return OrderStatus.CANCELLED
    if state is OrderState.REFUNDED:
        return OrderStatus.REFUNDED
    if state is OrderState.REFUNDING or any(r.state in _IN_PROGRESS_REFUNDS for r in refunds):
        return OrderStatus.REFUNDING
    returned = sum((r.amount for r in refunds if r.state is RefundState.SUCCEEDED), Decimal(0))
    if returned > 0:
        return OrderStatus.REFUNDED if returned >= online_amount else OrderStatus.PARTLY_REFUNDED
    if state is OrderState.NOTIFIED:
        return OrderStatus.COMPLETED
    return OrderStatus.PROCESSING  # PAID, or PARKED: the patient waits either way (an operator decides)


@strawberry.type(
    description=(
        "The same-day registration an order made (20.1.x): pass these to Patient.registrationQueue "
        "(hospitalId, todayRegisterId, departmentId, doctorId) to see the patient's place in the queue."
    )
)
class OrderRegistration:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital registered at.")
    today_register_id: str = strawberry.field(description="The registration's id (todayRegisterId).")
    department_id: str = strawberry.field(description="The department registered with (departmentId).")
    department_name: str | None = strawberry.field(description="The department's name.")
    doctor_id: str | None = strawberry.field(description="The doctor, when one was chosen (doctorId).")
    doctor_name: str | None = strawberry.field(description="The doctor's name.")
    his_registration_id: str | None = strawberry.field(
        description="The hospital's registration id once it registered (hisRegistrationId)."
    )


def _registration_quote(order: Order) -> TodayRegistrationQuote | None:
    """A today's registration order's quote, through its model; None for another flow or an unreadable row (the
    order is still listed, without its registration)."""
    if order.flow != TodayRegistrationQuote.FLOW:
        return None
    try:
        return TodayRegistrationQuote.of(order)
    except QuoteUnreadable:
        return None


@strawberry.type(description="One order of the account, as a patient follows it.")
class AccountOrder(PaymentOrder):
    description: str = strawberry.field(description="What the order is for, in words (the order's subject).")
    created_at: datetime = strawberry.field(description="When the order was made (Beijing time, +08:00).")
    paid_at: datetime | None = strawberry.field(
        description="When the payment was confirmed (Beijing time, +08:00); null if unpaid."
    )
    status: OrderStatus = strawberry.field(
        description="Where the order stands for the patient: REFUNDED once the money paid went back, whatever the "
        "ledger's state (state)."
    )
    refunds: list[PaymentRefund] = strawberry.field(description="The order's refunds, oldest first.")
    registration: OrderRegistration | None = strawberry.field(
        description="The same-day registration this order made (what registrationQueue takes); null for other orders."
    )
    paid_day: strawberry.Private[date | None]
    invoice_type: strawberry.Private[str | None]

    @strawberry.field(
        description=(
            "The electronic invoice the hospital issued for this order (31.1.1 electronicInvoiceInformation: the "
            "invoice of the same amount and kind, issued from the day paid on); null until the hospital issues one."
        )
    )
    @in_task
    async def electronic_invoice_information(self, info: Info) -> Invoice | None:
        if self.paid_day is None or self.invoice_type is None or self.state is not PaymentOrderState.NOTIFIED:
            return None
        today = datetime.now(CHINA_TIME).date()
        request = ElectronicInvoiceInformationRequest(
            medical_card_number=self.medical_card_number,
            start_date=self.paid_day.isoformat(),
            end_date=min(today, self.paid_day + timedelta(days=_INVOICE_DAYS)).isoformat(),
        )
        reply = await detail(info, ELECTRONIC_INVOICE_INFORMATION, self.hospital_id, request)
        total = Decimal(str(self.total_amount))
        for invoice in reply or []:
            if invoice.invoice_amount == total and invoice.patient_type == self.invoice_type:
                return Invoice.from_reply(self.hospital_id, invoice)
        return None

    @classmethod
    def of_row(cls, order: Order, refunds: list[Refund]) -> AccountOrder:
        summary = OrderSummary.of(order)
        own_refunds = [RefundSummary.of(order, refund) for refund in refunds]
        base = PaymentOrder.of(summary)
        registration = None
        booked = _registration_quote(order)
        if booked is not None and booked.today_register_id:
            registration = OrderRegistration(
                hospital_id=strawberry.ID(order.hospital_id),
                today_register_id=booked.today_register_id,
                department_id=booked.department_id,
                department_name=booked.department_name or None,
                doctor_id=booked.doctor_id or None,
                doctor_name=booked.doctor_name or None,
                his_registration_id=order.his_serial,
            )
        paid_at = order.paid_at
        return cls(
            **{name: getattr(base, name) for name in _PAYMENT_ORDER_FIELDS},
            description=order.description,
            created_at=beijing(order.created_at),
            paid_at=beijing(paid_at) if paid_at is not None else None,
            status=order_status(summary.state, order.online_amount, own_refunds),
            refunds=[PaymentRefund.of(refund) for refund in own_refunds],
            registration=registration,
            paid_day=paid_at.astimezone(CHINA_TIME).date() if paid_at is not None else None,
            invoice_type=_INVOICED_FLOWS.get(order.flow),
        )


_PAYMENT_ORDER_FIELDS = (
    "out_trade_no",
    "paid_for",
    "state",
    "hospital_id",
    "medical_card_number",
    "total_amount",
    "balance_payment",
    "online_amount",
    "his_serial",
    "hospital_status",
)


@strawberry.type(description="One order in a page of the account's orders.")
class OrderEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read the orders older than this one.")
    node: AccountOrder = strawberry.field(description="The order.")


@strawberry.type(description="A page of the account's orders, newest first.")
class OrderConnection:
    edges: list[OrderEdge] = strawberry.field(description="The orders of this page, newest first.")
    has_next_page: bool = strawberry.field(description="True when older orders follow (read them with endCursor).")
    end_cursor: str | None = strawberry.field(description="The last order's cursor; null for an empty page.")


class BadCursor(Refused):
    """A cursor this gateway did not make: a refusal a client can act on (start again without `after`)."""

    def __init__(self) -> None:
        super().__init__(RefusalCode.PARAMETER_FORMAT, "分页游标无效，请不带 after 重新查询。", field="after")


def _cursor(order: Order) -> str:
    raw = f"{order.created_at.astimezone(UTC).isoformat()}|{order.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, order_id = raw.split("|")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(at)
        return when, int(order_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor() from None


First = Annotated[int, strawberry.argument(description=f"How many orders, 1 to {MAX_PAGE}.")]
After = Annotated[
    str | None, strawberry.argument(description="A cursor (endCursor of the previous page): orders older than it.")
]


async def account_orders(info: Info, first: int, after: str | None) -> OrderConnection:
    """The account's orders (every card it holds), newest first."""
    if not 1 <= first <= MAX_PAGE:
        raise RangeRefusal(f"first 须在 1 到 {MAX_PAGE} 之间。")
    before = _position(after) if after else None
    held = await info.context.held_cards()
    cards = sorted(held.cards) if held is not None else []
    async with info.context.services.db.session() as session:
        repository = OrderRepository(session)
        rows = await repository.of_cards(cards, before=before, limit=first + 1)
        page = rows[:first]
        refunds = await repository.refunds_of([order.id for order in page])
    edges = [OrderEdge(cursor=_cursor(order), node=AccountOrder.of_row(order, refunds[order.id])) for order in page]
    return OrderConnection(edges=edges, has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None)


class RangeRefusal(Refused):
    """An argument out of its range (附四 20004)."""

    def __init__(self, message: str, *, field: str = "first") -> None:
        super().__init__(RefusalCode.PARAMETER_RANGE, message, field=field)
