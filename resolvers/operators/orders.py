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
from services.payments.clock import CHINA_TIME
from services.payments.sagas import FLOWS
from store.models import HealthCard
from store.orders import OrderState

from ..access import Forbidden
from ..context import Info
from ..results import InputRefused, date_time
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


@strawberry.type(description="One state change of an order (append-only).")
class LedgerOrderEvent:
    from_state: str | None = strawberry.field(description="The state before; null for the order's creation.")
    to_state: str = strawberry.field(description="The state after.")
    reason: str = strawberry.field(description="Why, as the ledger recorded it.")
    at: datetime = strawberry.field(description="When (UTC).")


@strawberry.type(description="The outbox job that carries the order's next step (the worker runs it).")
class LedgerOutboxJob:
    kind: str = strawberry.field(
        description="notify_his, refund_query, provider_refund, expire_unpaid, release_held, card_refund, "
        "his_cancel or refund_payout."
    )
    state: str = strawberry.field(description="PENDING (to run) or DONE.")
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
    state: str = strawberry.field(
        description="AWAITING_HIS, PENDING, SUCCEEDED, FAILED, REFUSED or PARKED (store/orders.py)."
    )
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
    hospital_id: str = strawberry.field(description="The hospital paid.")
    flow: str = strawberry.field(description="What is paid: outpatient, recharge, deposit, ...")
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
                kind=j.job.kind,
                state=j.job.state,
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
            hospital_id=order.hospital_id,
            flow=order.flow,
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
                LedgerOrderEvent(from_state=e.from_state, to_state=e.to_state, reason=e.reason, at=e.at)
                for e in ledger.events
            ],
            outbox_job=None if current is None else jobs[ledger.jobs.index(current)],
            jobs=jobs,
            refunds=[
                LedgerRefund(
                    out_refund_no=r.refund.out_refund_no,
                    his_refund_no=r.his_refund_no,
                    amount=Money(r.refund.amount),
                    state=r.refund.state,
                    reason=r.refund.reason,
                    provider_refund_id=r.refund.provider_refund_id,
                    created_at=r.refund.created_at,
                    succeeded_at=r.refund.succeeded_at,
                )
                for r in ledger.refunds
            ],
        )


@strawberry.type(description="A page of ledger orders, newest first.")
class LedgerOrderPage:
    total_count: int = strawberry.field(description="How many orders match, over every page.")
    orders: list[LedgerOrder] = strawberry.field(description="This page's orders.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page; null when none.")
    has_next_page: bool = strawberry.field(description="Whether older orders follow.")


def signed_in(info: Info) -> OperatorPrincipal:
    principal = info.context.principal
    if not isinstance(principal, OperatorPrincipal):
        raise Forbidden("operators only: sign in with operatorLogin")
    return principal


def beijing(field: str, value: str | None) -> datetime | None:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time as UTC; a malformed time is refused (20003)."""
    if value is None:
        return None
    return datetime.strptime(date_time(field, value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA_TIME).astimezone(UTC)


def window(from_: str | None, to: str | None) -> tuple[datetime | None, datetime | None]:
    since, until = beijing("from", from_), beijing("to", to)
    if since is not None and until is not None and since > until:
        raise InputRefused("to", ReturnCode.PARAMETER_RANGE, "must not be before from")
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
        str | None, strawberry.argument(description="Only this hospital's orders (a hospital operator: their own).")
    ] = None,
    flow: Annotated[str | None, strawberry.argument(description="Only this flow (outpatient, recharge, ...).")] = None,
    from_: Annotated[
        str | None,
        strawberry.argument(
            name="from", description="Orders made from this time, yyyy-MM-dd HH:mm:ss Beijing time (inclusive)."
        ),
    ] = None,
    to: Annotated[
        str | None,
        strawberry.argument(description="Orders made up to this time, yyyy-MM-dd HH:mm:ss Beijing time (inclusive)."),
    ] = None,
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
    if flow is not None and flow.strip() not in FLOWS:
        raise InputRefused("flow", ReturnCode.PARAMETER_FORMAT, f"one of {', '.join(sorted(FLOWS))}")
    since, until = window(from_, to)
    where = OrderFilter(
        hospital_id=scoped_hospital(principal, hospital_id),
        state=str(state.value) if state is not None else None,
        flow=flow.strip() if flow is not None else None,
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
