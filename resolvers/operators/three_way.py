"""The daily three-way check as operators see it: ledger vs provider bill vs the hospital's own records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import Enum

import strawberry

from services.identity.principal import OperatorPrincipal
from services.payments.three_way import CheckedLine, HisHospitalRecords, Mismatch, ThreeWayCheck, ThreeWayReport

from ..context import Info
from ..fanout import hospital_ids_argument
from ..results import calendar_date, single_hospital_id
from ..scalars import Money


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
    PARKED = strawberry.enum_value("parked", description="The ledger parked it for operators to decide.")


def _money(amount: Decimal | None) -> Money | None:
    return None if amount is None else Money(amount)


@strawberry.type(description="One disagreement between the ledger, the provider and the hospital.")
class ReconciliationMismatch:
    kind: ReconciliationMismatchKind = strawberry.field(description="What disagrees.")
    hospital_id: str | None = strawberry.field(
        description="The hospital of the order; null for a provider line no ledger order names."
    )
    out_trade_no: str = strawberry.field(description="The payment's order number (outTradeNo).")
    out_refund_no: str | None = strawberry.field(description="The refund number, for a refund; null for a payment.")
    ledger_amount: Money | None = strawberry.field(description="What the ledger holds; refunds negative.")
    provider_amount: Money | None = strawberry.field(description="What the provider's bill shows; refunds negative.")
    hospital_amount: Money | None = strawberry.field(description="What the hospital recorded; refunds negative.")
    ledger_state: str | None = strawberry.field(description="The order's (or refund's) state in the ledger.")
    detail: str = strawberry.field(description="The disagreement in words.")

    @classmethod
    def of(cls, mismatch: Mismatch) -> ReconciliationMismatch:
        return cls(
            kind=ReconciliationMismatchKind(mismatch.kind.value),
            hospital_id=mismatch.hospital_id,
            out_trade_no=mismatch.out_trade_no,
            out_refund_no=mismatch.out_refund_no,
            ledger_amount=_money(mismatch.ledger_amount),
            provider_amount=_money(mismatch.provider_amount),
            hospital_amount=_money(mismatch.hospital_amount),
            ledger_state=mismatch.ledger_state,
            detail=mismatch.detail,
        )


@strawberry.type(description="One payment or refund of the day with what each side says of it.")
class ReconciliationLine:
    out_trade_no: str = strawberry.field(description="The payment's order number (outTradeNo).")
    out_refund_no: str | None = strawberry.field(description="The refund number; null for a payment.")
    ledger_state: str | None = strawberry.field(description="The ledger's state; null when the ledger lacks it.")
    ledger_amount: Money | None = strawberry.field(description="Money the ledger says moved; null: none.")
    provider_amount: Money | None = strawberry.field(description="The provider bill's amount; null: not on it.")
    hospital_amount: Money | None = strawberry.field(description="The hospital's amount; null: no record.")
    in_flight: bool = strawberry.field(
        description="Still moving (paid, hospital not yet told; refund under way): not a difference."
    )

    @classmethod
    def of(cls, line: CheckedLine) -> ReconciliationLine:
        return cls(
            out_trade_no=line.out_trade_no,
            out_refund_no=line.out_refund_no,
            ledger_state=line.ledger_state,
            ledger_amount=_money(line.ledger_amount),
            provider_amount=_money(line.provider_amount),
            hospital_amount=_money(line.hospital_amount),
            in_flight=line.in_flight,
        )


@strawberry.type(description="The daily three-way check of one hospital: ledger, provider bill, hospital records.")
class ReconciliationCheck:
    hospital_id: str = strawberry.field(description="The hospital checked.")
    date: str = strawberry.field(description="The day checked, yyyy-MM-dd, Beijing time.")
    clean: bool = strawberry.field(
        description="True when every side was read and nothing disagrees (in-flight lines aside)."
    )
    mismatches: list[ReconciliationMismatch] = strawberry.field(description="Every disagreement found.")
    in_flight: list[ReconciliationLine] = strawberry.field(description="Payments and refunds still moving.")
    lines: list[ReconciliationLine] = strawberry.field(description="Every payment and refund checked.")
    ledger_total: Money = strawberry.field(description="Payments less refunds the ledger moved that day.")
    provider_total: Money = strawberry.field(description="The provider bill's lines of this hospital's orders.")
    hospital_total: Money = strawberry.field(description="The hospital's own records of the day (14.2.1).")
    hospital_error: str | None = strawberry.field(
        description="Why the hospital's records could not be read (its side was then not checked)."
    )
    provider_error: str | None = strawberry.field(description="Why the provider's trade bill could not be read.")

    @classmethod
    def of(cls, hospital_id: str, report: ThreeWayReport) -> ReconciliationCheck:
        return cls(
            hospital_id=hospital_id,
            date=f"{report.day:%Y-%m-%d}",
            clean=report.clean,
            mismatches=[ReconciliationMismatch.of(m) for m in report.mismatches],
            in_flight=[ReconciliationLine.of(line) for line in report.in_flight],
            lines=[ReconciliationLine.of(line) for line in report.lines],
            ledger_total=Money(report.ledger_total),
            provider_total=Money(report.provider_total),
            hospital_total=Money(report.hospital_total),
            hospital_error=report.hospital_errors.get(hospital_id),
            provider_error=report.provider_error,
        )


async def reconciliation_check(info: Info, hospital_id: str, day_text: str) -> ReconciliationCheck:
    """Run the check for one hospital and day (the operator's role was checked by Query.operator)."""
    hospital = single_hospital_id(hospital_id)
    hospital_ids_argument(info, hospital)  # known to the registry, and within a hospital operator's reach
    day = date.fromisoformat(calendar_date("date", day_text))
    services = info.context.services
    principal = info.context.principal
    region = isinstance(principal, OperatorPrincipal) and principal.role == "region"
    check = ThreeWayCheck(
        db=services.db, provider=services.payment_provider, hospitals=HisHospitalRecords(services.his)
    )
    report = await check.run(day, [hospital], include_unattributed=region)
    return ReconciliationCheck.of(hospital, report)
