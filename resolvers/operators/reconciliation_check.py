"""The daily reconciliation workflow as operators see it (issue 15 item 4): ``operator { reconciliationCheck }``
over several hospitals (or all), stored per hospital and day, and ``acknowledgeMismatch``.

The check sets the ledger beside the payment provider's trade bill and each hospital's own records (14.2.1, then
14.2.2/14.2.3 per order); services/payments/reconciliation_days.py runs and stores it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated

import strawberry

from services.identity.principal import OperatorPrincipal
from services.payments.clock import CHINA_TIME, SystemClock
from services.payments.reconciliation_days import (
    DayLine,
    DayStatus,
    HospitalDay,
    ReconciledDay,
    ReconciliationDays,
    StoredMismatch,
)
from services.payments.three_way import HisHospitalRecords
from services.refusals import RefusalCode, Refused

from ..context import Info
from ..fanout import hospital_ids_argument
from ..hospitals.entry import HospitalEntry
from ..refusal import Refusal
from ..scalars import Money
from .orders import LedgerOrderState, LedgerRefundState, signed_in


@strawberry.enum(description="What kind of disagreement the three-way check found.")
class ReconciliationMismatchKind(Enum):
    MISSING_AT_PROVIDER = strawberry.enum_value(
        "missing_at_provider", description="The ledger holds money the provider's trade bill does not show."
    )
    MISSING_AT_HOSPITAL = strawberry.enum_value(
        "missing_at_hospital", description="The ledger says the hospital applied (or refunded) it; it has no record."
    )
    MISSING_IN_LEDGER = strawberry.enum_value(
        "missing_in_ledger", description="The provider or the hospital shows money the ledger does not know."
    )
    AMOUNT_DIFFERS = strawberry.enum_value("amount_differs", description="The sides name different amounts.")
    STATE_DIFFERS = strawberry.enum_value(
        "state_differs", description="The sides disagree on what happened (unpaid vs paid, refunded vs applied)."
    )
    APPLIED_TWICE = strawberry.enum_value("applied_twice", description="The hospital recorded one payment twice.")
    PARKED = strawberry.enum_value(
        "parked", description="The ledger parked a payment or refund of this day for operators to decide."
    )


@strawberry.enum(description="How one hospital's day stands after its latest check.")
class ReconciliationStatus(Enum):
    CLEAN = strawberry.enum_value(
        DayStatus.CLEAN.value, description="Every side was read and nothing of the day disagrees (in flight aside)."
    )
    MISMATCHES = strawberry.enum_value(
        DayStatus.MISMATCHES.value, description="Every side was read and something disagrees: see mismatches."
    )
    NOT_CHECKED = strawberry.enum_value(
        DayStatus.NOT_CHECKED.value,
        description="The hospital's records or the provider's bill could not be read (see notCheckedReason): the "
        "day is not known to be clean. Ask again with recheck: true once the hospital answers.",
    )


def _money(amount: Decimal | None) -> Money | None:
    return None if amount is None else Money(amount)


def _order_state(out_refund_no: str | None, state: str | None) -> LedgerOrderState | None:
    """A payment line's ledger state (the ledger writes an order's state and a refund's in one column)."""
    return None if out_refund_no or state is None else LedgerOrderState(state)


def _refund_state(out_refund_no: str | None, state: str | None) -> LedgerRefundState | None:
    return None if not out_refund_no or state is None else LedgerRefundState(state)


def _beijing(moment: datetime) -> datetime:
    return moment.astimezone(CHINA_TIME)


@strawberry.type(description="Who looked at a mismatch, when, and what they noted (acknowledgeMismatch).")
class MismatchAcknowledgement:
    by: str = strawberry.field(description="The operator's username.")
    at: datetime = strawberry.field(description="When (Beijing time).")
    note: str = strawberry.field(description="What they noted.")


@strawberry.type(description="One stored disagreement between the ledger, the provider and a hospital, for one day.")
class ReconciliationMismatch:
    id: strawberry.ID = strawberry.field(description="Its id: pass it to acknowledgeMismatch.")
    date: date = strawberry.field(description="The day checked (Beijing).")
    kind: ReconciliationMismatchKind = strawberry.field(description="What disagrees.")
    hospital_id: strawberry.ID | None = strawberry.field(
        description="The hospital of the order; null for a provider line no ledger order names."
    )
    out_trade_no: str = strawberry.field(description="The payment's order number (outTradeNo).")
    out_refund_no: str | None = strawberry.field(description="The refund number, for a refund; null for a payment.")
    ledger_amount: Money | None = strawberry.field(description="What the ledger holds; refunds negative.")
    provider_amount: Money | None = strawberry.field(description="What the provider's bill shows; refunds negative.")
    hospital_amount: Money | None = strawberry.field(description="What the hospital recorded; refunds negative.")
    ledger_state: LedgerOrderState | None = strawberry.field(
        description="The order's state in the ledger, for a payment; null for a refund or an order the ledger lacks."
    )
    ledger_refund_state: LedgerRefundState | None = strawberry.field(
        description="The refund's state in the ledger, for a refund; null for a payment or a refund the ledger lacks."
    )
    detail: str = strawberry.field(description="The disagreement in words.")
    found_at: datetime = strawberry.field(description="When a check first found it (Beijing time).")
    acknowledgement: MismatchAcknowledgement | None = strawberry.field(
        description="Who looked at it last, when and why; null until an operator acknowledges it."
    )

    @classmethod
    def of(cls, mismatch: StoredMismatch) -> ReconciliationMismatch:
        acknowledgement = None
        if mismatch.acknowledged_at is not None:
            acknowledgement = MismatchAcknowledgement(
                by=mismatch.acknowledged_by or "",
                at=_beijing(mismatch.acknowledged_at),
                note=mismatch.acknowledged_note or "",
            )
        return cls(
            id=strawberry.ID(str(mismatch.id)),
            date=mismatch.day,
            kind=ReconciliationMismatchKind(mismatch.kind),
            hospital_id=strawberry.ID(mismatch.hospital_id) if mismatch.hospital_id else None,
            out_trade_no=mismatch.out_trade_no,
            out_refund_no=mismatch.out_refund_no,
            ledger_amount=_money(mismatch.ledger_amount),
            provider_amount=_money(mismatch.provider_amount),
            hospital_amount=_money(mismatch.hospital_amount),
            ledger_state=_order_state(mismatch.out_refund_no, mismatch.ledger_state),
            ledger_refund_state=_refund_state(mismatch.out_refund_no, mismatch.ledger_state),
            detail=mismatch.detail,
            found_at=_beijing(mismatch.found_at),
            acknowledgement=acknowledgement,
        )


@strawberry.type(description="One payment or refund with what each side says of it.")
class ReconciliationLine:
    out_trade_no: str = strawberry.field(description="The payment's order number (outTradeNo).")
    out_refund_no: str | None = strawberry.field(description="The refund number; null for a payment.")
    ledger_state: LedgerOrderState | None = strawberry.field(
        description="The order's state in the ledger, for a payment; null for a refund or an order the ledger lacks."
    )
    ledger_refund_state: LedgerRefundState | None = strawberry.field(
        description="The refund's state in the ledger, for a refund; null for a payment or a refund the ledger lacks."
    )
    ledger_amount: Money | None = strawberry.field(description="Money the ledger says moved; null: none.")
    provider_amount: Money | None = strawberry.field(description="The provider bill's amount; null: not on it.")
    hospital_amount: Money | None = strawberry.field(description="The hospital's amount; null: no record.")
    in_flight: bool = strawberry.field(
        description="Still moving (paid, hospital not yet told; refund under way): not a difference."
    )

    @classmethod
    def of(cls, line: DayLine) -> ReconciliationLine:
        return cls(
            out_trade_no=line.out_trade_no,
            out_refund_no=line.out_refund_no,
            ledger_state=_order_state(line.out_refund_no, line.ledger_state),
            ledger_refund_state=_refund_state(line.out_refund_no, line.ledger_state),
            ledger_amount=_money(line.ledger_amount),
            provider_amount=_money(line.provider_amount),
            hospital_amount=_money(line.hospital_amount),
            in_flight=line.in_flight,
        )


@strawberry.type(description="One hospital's day after its latest three-way check: ledger, provider bill, records.")
class ReconciliationAtHospital(HospitalEntry):
    date: date = strawberry.field(description="The day checked (Beijing).")
    status: ReconciliationStatus = strawberry.field(description="CLEAN, MISMATCHES or NOT_CHECKED.")
    clean: bool = strawberry.field(description="status is CLEAN: every side was read and nothing disagrees.")
    checked_at: datetime = strawberry.field(description="When the latest check ran (Beijing time).")
    checked_by: str = strawberry.field(description="The operator who ran it (username).")
    checked_now: bool = strawberry.field(
        description="Checked by this request; false: the stored result of an earlier check (no hospital asked)."
    )
    not_checked_reason: str | None = strawberry.field(
        description="Why a side could not be read (NOT_CHECKED); null otherwise."
    )
    hospital_error: str | None = strawberry.field(
        description="Why the hospital's records could not be read (its side was then not checked)."
    )
    provider_error: str | None = strawberry.field(description="Why the provider's trade bill could not be read.")
    mismatches: list[ReconciliationMismatch] = strawberry.field(description="Every disagreement of the day.")
    in_flight: list[ReconciliationLine] = strawberry.field(description="The day's payments and refunds still moving.")
    lines: list[ReconciliationLine] = strawberry.field(description="Every payment and refund of the day checked.")
    waiting: list[ReconciliationLine] = strawberry.field(
        description="Payments and refunds of other days parked or in flight when the check ran: listed beside the "
        "day, not part of it (find them in operator.orders)."
    )
    ledger_total: Money = strawberry.field(description="Payments less refunds the ledger moved that day.")
    provider_total: Money = strawberry.field(description="The provider bill's lines of this hospital's orders.")
    hospital_total: Money = strawberry.field(description="The hospital's own records of the day (14.2.1).")

    @classmethod
    def of(cls, day: HospitalDay) -> ReconciliationAtHospital:
        reasons = [
            f"hospital records unavailable ({day.hospital_error})" if day.hospital_error else None,
            day.provider_error,
        ]
        return cls(
            hospital_id=strawberry.ID(day.hospital_id),
            date=day.day,
            status=ReconciliationStatus(day.status.value),
            clean=day.status is DayStatus.CLEAN,
            checked_at=_beijing(day.checked_at),
            checked_by=day.checked_by,
            checked_now=day.checked_now,
            not_checked_reason=("; ".join(r for r in reasons if r) or None)
            if day.status is DayStatus.NOT_CHECKED
            else None,
            hospital_error=day.hospital_error,
            provider_error=day.provider_error,
            mismatches=[ReconciliationMismatch.of(m) for m in day.mismatches],
            in_flight=[ReconciliationLine.of(line) for line in day.in_flight],
            lines=[ReconciliationLine.of(line) for line in day.lines],
            waiting=[ReconciliationLine.of(line) for line in day.waiting],
            ledger_total=Money(day.ledger_total),
            provider_total=Money(day.provider_total),
            hospital_total=Money(day.hospital_total),
        )


@strawberry.type(description="A day's reconciliation over the hospitals asked, as stored.")
class ReconciliationDay:
    date: date = strawberry.field(description="The day (Beijing).")
    hospitals: list[ReconciliationAtHospital] = strawberry.field(
        description="One entry per hospital asked, in the order asked; a hospital that could not be read is "
        "NOT_CHECKED here, never left out."
    )
    not_checked: list[strawberry.ID] = strawberry.field(
        description="The hospitals whose day is NOT_CHECKED: recheck them (recheck: true) once they answer."
    )
    unattributed: list[ReconciliationMismatch] | None = strawberry.field(
        description="The provider's lines of orders the ledger does not know (no hospital can be named); region "
        "operators only (null for a hospital operator)."
    )
    clean: bool = strawberry.field(description="Every hospital CLEAN and nothing unattributed.")

    @classmethod
    def of(cls, day: ReconciledDay) -> ReconciliationDay:
        hospitals = [ReconciliationAtHospital.of(h) for h in day.hospitals]
        unattributed = None if day.unattributed is None else [ReconciliationMismatch.of(m) for m in day.unattributed]
        return cls(
            date=day.day,
            hospitals=hospitals,
            not_checked=[h.hospital_id for h in hospitals if h.status is ReconciliationStatus.NOT_CHECKED],
            unattributed=unattributed,
            clean=all(h.clean for h in hospitals) and not unattributed,
        )


def _workflow(info: Info) -> ReconciliationDays:
    services = info.context.services
    return ReconciliationDays(
        db=services.db,
        provider=services.payment_provider,
        hospitals=HisHospitalRecords(services.his),
        clock=SystemClock(),
    )


def _hospitals(info: Info, principal: OperatorPrincipal, raw: str | None) -> list[str]:
    if raw is None:
        return [h.id for h in info.context.registry.hospitals if principal.may_see(h.id)]
    if not any(part.strip() for part in raw.split(",")):
        raise Refused(RefusalCode.MISSING_PARAMETER, "请至少指定一家医院。", field="hospitalId")
    return hospital_ids_argument(info, raw)


async def reconciliation_check(
    info: Info,
    day: Annotated[date, strawberry.argument(name="date", description="The day to check, yyyy-MM-dd (Beijing).")],
    hospital_id: Annotated[
        str | None,
        strawberry.argument(
            description="One hospital id or several, comma-separated as the spec writes it; omitted: every hospital "
            "the operator may see (a hospital operator: their own). An empty one is refused (20001)."
        ),
    ] = None,
    recheck: Annotated[
        bool,
        strawberry.argument(
            description="Check again even where a stored result exists (a NOT_CHECKED hospital, or a day checked "
            "before its money settled). Today is always checked afresh."
        ),
    ] = False,
) -> ReconciliationDay:
    principal = signed_in(info)
    today = datetime.now(CHINA_TIME).date()
    if day > today:
        raise Refused(RefusalCode.PARAMETER_RANGE, "对账日期不能晚于今天。", field="date")
    hospitals = _hospitals(info, principal, hospital_id)
    info.context.charge_hospitals(len(hospitals))
    reconciled = await _workflow(info).reconcile(
        actor=principal, hospital_ids=hospitals, day=day, today=today, recheck=recheck
    )
    return ReconciliationDay.of(reconciled)


reconciliation_check_field = strawberry.field(
    resolver=reconciliation_check,
    description=(
        "The daily three-way check over several hospitals (or every hospital the operator may see): the ledger "
        "against the payment provider's trade bill and each hospital's own records (14.2.1, then 14.2.2/14.2.3 per "
        "order). Results are stored per hospital and day with who checked and when: a past day already checked is "
        "read from the store without asking any hospital; today, a hospital never checked for the day, or "
        "recheck: true run the check again. The day's result holds that day's payments and refunds only: what is "
        "parked or in flight from other days is listed under waiting. A hospital that could not be read is "
        "NOT_CHECKED, never clean. Each check run is audited."
    ),
)


@strawberry.type(description="The mismatch, now acknowledged.")
class MismatchAcknowledged:
    mismatch: ReconciliationMismatch = strawberry.field(description="The mismatch with who looked, when and why.")


AcknowledgeMismatchResult = Annotated[
    MismatchAcknowledged | Refusal,
    strawberry.union(
        "AcknowledgeMismatchResult", description="The acknowledged mismatch, or why it was refused (nothing changed)."
    ),
]


@strawberry.type
class AcknowledgeMismatchMutation:
    @strawberry.mutation(
        description=(
            "Record that you looked at a stored reconciliation mismatch: who, when and your note (audited in the "
            "same transaction). A hospital operator may acknowledge only their hospital's mismatches; those of no "
            "known hospital are region operators'. Acknowledging again replaces the shown note (the audit trail "
            "keeps each). Refusals: NOT_FOUND (no such mismatch among yours), MISSING_PARAMETER (empty note), "
            "PARAMETER_RANGE (note over 500 characters)."
        )
    )
    async def acknowledge_mismatch(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The mismatch's id (ReconciliationMismatch.id).")],
        note: Annotated[str, strawberry.argument(description="What you found or decided (at most 500 characters).")],
    ) -> AcknowledgeMismatchResult:
        principal = signed_in(info)
        try:
            try:
                mismatch_id = int(str(id))
            except ValueError:
                raise Refused(RefusalCode.NOT_FOUND, field="id") from None
            acknowledged = await _workflow(info).acknowledge(actor=principal, mismatch_id=mismatch_id, note=note)
        except Refused as refused:
            return Refusal.of(refused)
        return MismatchAcknowledged(mismatch=ReconciliationMismatch.of(acknowledged))
