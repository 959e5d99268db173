"""operator { orders order }: the money ledger for operators, newest first (issue 15 item 1).

Each order with its amounts, state and why (stateReason), its state changes, its outbox job (retries, the
last error, the next try and the end of its retry window), its refunds (our number and the hospital's) and
its patient, masked. A hospital operator sees only their hospital's orders. Every read that returns orders
is audited per patient (resolvers/operators/audit_reads.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

import strawberry
from sqlalchemy import select

from his_clients.codes import ReturnCode
from services.audit import mask_card
from services.identity.principal import OperatorPrincipal
from services.masking import mask_name
from services.operations.ledger_reads import LedgerOrder as LedgerOrderRecord
from services.operations.ledger_reads import OrderFilter, order_page, window_ended
from store.models import HealthCard
from store.orders import OrderState

from ..access import Forbidden
from ..arguments import MaybeFromTime, MaybeToTime, beijing, in_order
from ..context import Info
from ..payments.orders import PaidFor
from ..results import InputRefused
from ..scalars import Money
from .audit_reads import audit_patients

MAX_PAGE = 100


@strawberry.enum(description="A ledger order's state (store/orders.py).")
class LedgerOrderState(Enum):
    CREATED = strawberry.enum_value("CREATED", description="Written before the provider was asked; nothing paid yet.")
    PAID = strawberry.enum_value("PAID", description="Paid; the hospital is being told (in flight).")
    NOTIFIED = strawberry.enum_value("NOTIFIED", description="The hospital applied the payment. Final.")
    REFUNDING = strawberry.enum_value("REFUNDING", description="The money is going back through the provider.")
    REFUNDED = strawberry.enum_value("REFUNDED", description="The money went back to the payer. Final.")
    PARKED = strawberry.enum_value("PARKED", description="No automatic step is safe: waits for an operator.")
    CANCELLED = strawberry.enum_value("CANCELLED", description="Closed before payment.")


@strawberry.enum(description="Where a ledger refund stands (store/orders.py RefundState).")
class LedgerRefundState(Enum):
    AWAITING_HIS = strawberry.enum_value(
        "AWAITING_HIS", description="The hospital must act first (cancel the booking, deduct the balance)."
    )
    PENDING = strawberry.enum_value("PENDING", description="The money is going back through the provider.")
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="The money went back. Final.")
    FAILED = strawberry.enum_value("FAILED", description="The provider could not return the money: operators step in.")
    REFUSED = strawberry.enum_value(
        "REFUSED", description="The hospital refused to cancel: the booking stands, nothing goes back. Final."
    )
    PARKED = strawberry.enum_value("PARKED", description="No clear answer from the hospital: operators decide.")


@strawberry.enum(description="Whether an outbox job still has to run (store/outbox.py JobState).")
class LedgerJobState(Enum):
    PENDING = strawberry.enum_value("PENDING", description="To run (again) at nextTryAt.")
    DONE = strawberry.enum_value("DONE", description="Ran to its end.")


@strawberry.enum(description="What an outbox job does for its order (services/payments/worker.py).")
class LedgerJobKind(Enum):
    NOTIFY_HIS = strawberry.enum_value("notify_his", description="Tell the hospital of the payment.")
    REFUND_QUERY = strawberry.enum_value("refund_query", description="Ask the hospital whether to refund (13.1.1).")
    PROVIDER_REFUND = strawberry.enum_value("provider_refund", description="Send the money back through the provider.")
    EXPIRE_UNPAID = strawberry.enum_value("expire_unpaid", description="Close an order nobody paid in time.")
    RELEASE_HELD = strawberry.enum_value("release_held", description="Release what the hospital held for an order.")
    CARD_REFUND = strawberry.enum_value("card_refund", description="Take card balance back at the hospital first.")
    HIS_CANCEL = strawberry.enum_value("his_cancel", description="Have the hospital cancel a paid booking first.")
    REFUND_PAYOUT = strawberry.enum_value("refund_payout", description="Pay out a refund the hospital agreed to.")


@strawberry.type(description="One state change of an order (append-only).")
class LedgerOrderEvent:
    from_state: LedgerOrderState | None = strawberry.field(
        description="The state before; null for the order's creation."
    )
    to_state: LedgerOrderState = strawberry.field(description="The state after.")
    reason: str = strawberry.field(description="Why, as the ledger recorded it.")
    at: datetime = strawberry.field(description="When (UTC).")


@strawberry.type(description="The outbox job that carries the order's next step (the worker runs it).")
class LedgerOutboxJob:
    kind: LedgerJobKind | None = strawberry.field(description="What the job does; null for a kind this build lacks.")
    state: LedgerJobState = strawberry.field(description="PENDING (to run) or DONE.")
    attempts: int = strawberry.field(description="How many times a worker took it.")
    last_error: str | None = strawberry.field(description="The last failure or note, as the worker wrote it.")
    next_try_at: datetime | None = strawberry.field(description="When it runs next (UTC); null once done.")
    started_at: datetime = strawberry.field(description="When the step was first queued: its retry window's start.")
    retry_window_ends_at: datetime | None = strawberry.field(
        description="When it stops retrying on its own and the flow's rule decides (park, ask 13.1.1); null for "
        "steps retried until they succeed."
    )


@strawberry.type(description="Money going back for an order.")
class LedgerRefund:
    out_refund_no: str = strawberry.field(description="Our refund number (sent to the provider).")
    his_refund_no: str | None = strawberry.field(
        description="The hospital's refund number beside ours (its voucher, or the number it refunded under); "
        "null when the hospital gave none."
    )
    amount: Money = strawberry.field(description="The amount going back, in yuan.")
    state: LedgerRefundState = strawberry.field(description="Where the refund stands.")
    reason: str = strawberry.field(description="Why it was made.")
    provider_refund_id: str | None = strawberry.field(description="The provider's id of the refund, once known.")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    succeeded_at: datetime | None = strawberry.field(description="When the money went back (UTC).")


@strawberry.type(description="Whose order it is, masked: enough to tell patients apart, not to use the card.")
class LedgerPatient:
    medical_card_number: str = strawberry.field(description="The card, masked (0010*******4587).")
    name: str | None = strawberry.field(description="The card holder's name, masked (张*); null when unknown here.")


@strawberry.type(description="A payment in the ledger, as operators see it.")
class LedgerOrder:
    out_trade_no: str = strawberry.field(description="The order's number (outTradeNo).")
    hospital_id: strawberry.ID = strawberry.field(description="The hospital paid.")
    flow: PaidFor = strawberry.field(description="What is paid (its flow): BILLS, RECHARGE, DEPOSIT, ...")
    business_type: str = strawberry.field(description="The business-type code outTradeNo starts with.")
    state: LedgerOrderState = strawberry.field(description="Where the order stands.")
    state_reason: str | None = strawberry.field(
        description="Why it is in its state, e.g. `13.1.1 answered 'nonrefundable': not refundable`."
    )
    version: int = strawberry.field(description="Its version: pass it to resolveParkedOrder as expectedVersion.")
    waits_for_operator: bool = strawberry.field(
        description="PARKED, or PAID with a job past its retry window: resolveParkedOrder may act on it."
    )
    total_amount: Money = strawberry.field(description="The whole amount, as the hospital quoted it.")
    balance_payment: Money = strawberry.field(description="Paid from the card's balance at the hospital.")
    unified_pay_amount: Money = strawberry.field(description="Paid through the unified settlement platform.")
    online_amount: Money = strawberry.field(description="Paid through the payment provider.")
    transaction_id: str | None = strawberry.field(description="The provider's id of the payment.")
    his_serial: str | None = strawberry.field(description="The hospital's serial of the applied payment.")
    created_at: datetime = strawberry.field(description="When the order was made (UTC).")
    paid_at: datetime | None = strawberry.field(description="When it was paid (UTC).")
    notified_at: datetime | None = strawberry.field(description="When the hospital applied it (UTC).")
    patient: LedgerPatient = strawberry.field(description="Whose order it is, masked.")
    events: list[LedgerOrderEvent] = strawberry.field(description="Its state changes, oldest first.")
    outbox_job: LedgerOutboxJob | None = strawberry.field(
        description="The job still to run, else the last one run; null when it never had one."
    )
    jobs: list[LedgerOutboxJob] = strawberry.field(description="Every job it had, oldest first.")
    refunds: list[LedgerRefund] = strawberry.field(description="Its refunds, oldest first.")

    @classmethod
    def of(cls, ledger: LedgerOrderRecord, names: dict[str, str], now: datetime) -> LedgerOrder:
        order = ledger.order
        jobs = [
            LedgerOutboxJob(
                kind=_job_kind(j.job.kind),
                state=LedgerJobState(j.job.state),
                attempts=j.job.attempts,
                last_error=j.job.last_error,
                next_try_at=j.job.due_at if j.job.state == "PENDING" else None,
                started_at=j.job.started_at,
                retry_window_ends_at=j.window_ends_at,
            )
            for j in ledger.jobs
        ]
        current = ledger.current_job
        name = names.get(order.medical_card_number)
        return cls(
            out_trade_no=order.out_trade_no,
            hospital_id=strawberry.ID(order.hospital_id),
            flow=PaidFor.of(order.flow),
            business_type=order.business_type,
            state=LedgerOrderState(order.state),
            state_reason=order.state_reason,
            version=order.version,
            waits_for_operator=order.state == OrderState.PARKED or window_ended(ledger, now),
            total_amount=Money(order.total_amount),
            balance_payment=Money(order.balance_payment),
            unified_pay_amount=Money(order.unified_pay_amount),
            online_amount=Money(order.online_amount),
            transaction_id=order.transaction_id,
            his_serial=order.his_serial,
            created_at=order.created_at,
            paid_at=order.paid_at,
            notified_at=order.notified_at,
            patient=LedgerPatient(
                medical_card_number=mask_card(order.medical_card_number),
                name=mask_name(name) if name else None,
            ),
            events=[
                LedgerOrderEvent(
                    from_state=LedgerOrderState(e.from_state) if e.from_state else None,
                    to_state=LedgerOrderState(e.to_state),
                    reason=e.reason,
                    at=e.at,
                )
                for e in ledger.events
            ],
            outbox_job=None if current is None else jobs[ledger.jobs.index(current)],
            jobs=jobs,
            refunds=[
                LedgerRefund(
                    out_refund_no=r.refund.out_refund_no,
                    his_refund_no=r.his_refund_no,
                    amount=Money(r.refund.amount),
                    state=LedgerRefundState(r.refund.state),
                    reason=r.refund.reason,
                    provider_refund_id=r.refund.provider_refund_id,
                    created_at=r.refund.created_at,
                    succeeded_at=r.refund.succeeded_at,
                )
                for r in ledger.refunds
            ],
        )


def _job_kind(kind: str) -> LedgerJobKind | None:
    try:
        return LedgerJobKind(kind)
    except ValueError:
        return None


@strawberry.type(description="A page of ledger orders, newest first.")
class LedgerOrderPage:
    total_count: int = strawberry.field(description="How many orders match, over every page.")
    orders: list[LedgerOrder] = strawberry.field(description="This page's orders.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page; null when none.")
    has_next_page: bool = strawberry.field(description="Whether older orders follow.")


def signed_in(info: Info) -> OperatorPrincipal:
    principal = info.context.principal
    if not isinstance(principal, OperatorPrincipal):
        raise Forbidden("operators only: sign in with logInOperator")
    return principal


def window(from_: datetime | None, to: datetime | None) -> tuple[datetime | None, datetime | None]:
    """A window of instants, either end open, in UTC (one written without an offset is Beijing time); a reversed
    one is refused (20004, field from)."""
    since = None if from_ is None else beijing(from_).astimezone(UTC)
    until = None if to is None else beijing(to).astimezone(UTC)
    if since is not None and until is not None:
        in_order(since, until)
    return since, until


def scoped_hospital(principal: OperatorPrincipal, hospital_id: str | None) -> str | None:
    """The hospital a read is confined to: a hospital operator's own, always; a region operator's choice."""
    if hospital_id is not None:
        hospital_id = hospital_id.strip()
        if not hospital_id:
            raise InputRefused("hospitalId", ReturnCode.MISSING_PARAMETER, "leave it out for every hospital")
        if not principal.may_see(hospital_id):
            raise Forbidden(f"hospital {hospital_id} is outside your scope")
        return hospital_id
    return None if principal.role == "region" else principal.hospital_id or "-"


async def patient_names(info: Info, cards: set[str]) -> dict[str, str]:
    if not cards:
        return {}
    async with info.context.services.db.session() as session:
        rows = await session.execute(
            select(HealthCard.medical_card_number, HealthCard.name).where(HealthCard.medical_card_number.in_(cards))
        )
        return {card: name for card, name in rows}


async def present(info: Info, ledger: list[LedgerOrderRecord], *, view: str) -> list[LedgerOrder]:
    """The orders as operators see them, the read audited per patient."""
    names = await patient_names(info, {item.order.medical_card_number for item in ledger})
    await audit_patients(
        info, view=view, cards=[(item.order.hospital_id, item.order.medical_card_number) for item in ledger]
    )
    now = datetime.now(UTC)
    return [LedgerOrder.of(item, names, now) for item in ledger]


async def orders(
    info: Info,
    state: Annotated[LedgerOrderState | None, strawberry.argument(description="Only orders in this state.")] = None,
    hospital_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="Only this hospital's orders (a hospital operator: their own)."),
    ] = None,
    flow: Annotated[PaidFor | None, strawberry.argument(description="Only this flow (BILLS, RECHARGE, ...).")] = None,
    from_: MaybeFromTime = None,
    to: MaybeToTime = None,
    first: Annotated[int, strawberry.argument(description=f"Orders per page, 1-{MAX_PAGE}.")] = 20,
    after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")] = None,
    out_trade_no: Annotated[
        str | None, strawberry.argument(description="Only the order with this number (outTradeNo).")
    ] = None,
) -> LedgerOrderPage:
    principal = signed_in(info)
    if not 1 <= first <= MAX_PAGE:
        raise InputRefused("first", ReturnCode.PARAMETER_RANGE, f"between 1 and {MAX_PAGE}")
    if after is not None and not (after.isascii() and after.isdigit() and len(after) < 19):
        raise InputRefused("after", ReturnCode.PARAMETER_FORMAT, "not a cursor this field gave")
    since, until = window(from_, to)
    where = OrderFilter(
        hospital_id=scoped_hospital(principal, hospital_id),
        state=str(state.value) if state is not None else None,
        flow=str(flow.value) if flow is not None else None,
        out_trade_no=out_trade_no.strip() if out_trade_no else None,
        since=since,
        until=until,
    )
    page = await order_page(info.context.services.db, where, first=first, after_id=int(after) if after else None)
    shown = await present(info, page.orders, view="orders")
    return LedgerOrderPage(
        total_count=page.total_count,
        orders=shown,
        end_cursor=str(page.orders[-1].order.id) if page.orders and page.has_next_page else None,
        has_next_page=page.has_next_page,
    )


async def order(
    info: Info,
    out_trade_no: Annotated[str, strawberry.argument(description="The order's number (outTradeNo).")],
) -> LedgerOrder | None:
    principal = signed_in(info)
    number = out_trade_no.strip()
    if not number:
        raise InputRefused("outTradeNo", ReturnCode.MISSING_PARAMETER, "required")
    where = OrderFilter(hospital_id=scoped_hospital(principal, None), out_trade_no=number)
    page = await order_page(info.context.services.db, where, first=1, after_id=None)
    shown = await present(info, page.orders, view="order")
    return shown[0] if shown else None


orders_field = strawberry.field(
    resolver=orders,
    description=(
        "The payment ledger's orders, newest first, with totalCount and a cursor: amounts, state and why, state "
        "changes, outbox job, refunds and the patient, masked. Find parked orders with state: PARKED. A hospital "
        "operator sees only their hospital's orders. Each read is audited per patient."
    ),
)
order_field = strawberry.field(
    resolver=order,
    description=(
        "One ledger order by its number, as in `orders` (what an operator reads instead of paymentOrder, which "
        "is the patient's); null when there is none among the hospitals you see. Audited."
    ),
)
