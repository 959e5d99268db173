"""The daily reconciliation workflow (issue 15 item 4): the three-way check of a day for several hospitals,
stored per hospital and day, and mismatches acknowledged by the operators who looked at them.

- ``reconcile_day`` answers a day for some hospitals. A past day already checked is read from the store (no
  hospital is asked); a day not over yet (today), a hospital never checked for the day, or a ``recheck`` runs the
  check (services/payments/three_way.py: the provider's bill read once, each hospital asked once) and stores its
  result, with who ran it and when, in the same transaction as the audit row.
- A hospital whose records could not be read, or a day whose provider bill could not be read, is NOT_CHECKED with
  the reason: never CLEAN, never an empty list. It stays NOT_CHECKED until it is rechecked.
- The day's result holds the day's payments and refunds only: what is parked or in flight from other days as the
  check runs is listed beside it (``waiting``), never as one of its mismatches.
- ``acknowledge_mismatch`` records who looked at a stored mismatch, when and why, audited in the same transaction.
  A recheck that finds the mismatch again keeps its id and acknowledgement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.exc import IntegrityError

from services.audit import record
from services.identity.principal import OperatorPrincipal
from services.refusals import RefusalCode, Refused
from store.db import Database
from store.reconciliation import FoundMismatch, ReconciliationMismatchRow, ReconciliationResult, ReconciliationStore

from .clock import Clock
from .providers.base import PaymentProvider
from .three_way import CheckedLine, GatheredDay, HospitalRecords, Mismatch, ThreeWayCheck, ThreeWayReport

MAX_NOTE: Final = 500


class DayStatus(StrEnum):
    CLEAN = "CLEAN"
    """Every side was read and nothing of the day disagrees (lines in flight aside)."""
    MISMATCHES = "MISMATCHES"
    """Every side was read and something disagrees."""
    NOT_CHECKED = "NOT_CHECKED"
    """The hospital's records or the provider's bill could not be read: not checked, never clean."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayLine:
    """A payment or refund as the check saw it (amounts: None when that side has nothing)."""

    out_trade_no: str
    out_refund_no: str | None
    ledger_state: str | None
    ledger_amount: Decimal | None
    provider_amount: Decimal | None
    hospital_amount: Decimal | None
    in_flight: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMismatch:
    id: int
    day: date
    hospital_id: str | None
    kind: str
    out_trade_no: str
    out_refund_no: str | None
    ledger_amount: Decimal | None
    provider_amount: Decimal | None
    hospital_amount: Decimal | None
    ledger_state: str | None
    detail: str
    found_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_note: str | None

    @classmethod
    def of(cls, row: ReconciliationMismatchRow) -> StoredMismatch:
        return cls(
            id=row.id,
            day=row.day,
            hospital_id=row.hospital_id,
            kind=row.kind,
            out_trade_no=row.out_trade_no,
            out_refund_no=row.out_refund_no,
            ledger_amount=_decimal(row.ledger_amount),
            provider_amount=_decimal(row.provider_amount),
            hospital_amount=_decimal(row.hospital_amount),
            ledger_state=row.ledger_state,
            detail=row.detail,
            found_at=row.found_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            acknowledged_note=row.acknowledged_note,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HospitalDay:
    """One hospital's stored result for one day."""

    hospital_id: str
    day: date
    status: DayStatus
    checked_at: datetime
    checked_by: str
    checked_now: bool
    """Checked by this request (False: read from the store)."""
    hospital_error: str | None
    provider_error: str | None
    ledger_total: Decimal
    provider_total: Decimal
    hospital_total: Decimal
    lines: tuple[DayLine, ...]
    waiting: tuple[DayLine, ...]
    """Payments and refunds of other days parked or in flight when the check ran: not part of this day."""
    mismatches: tuple[StoredMismatch, ...]

    @property
    def in_flight(self) -> tuple[DayLine, ...]:
        return tuple(line for line in self.lines if line.in_flight)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciledDay:
    day: date
    hospitals: tuple[HospitalDay, ...]
    unattributed: tuple[StoredMismatch, ...] | None
    """The provider's lines of orders the ledger does not know (region operators only; None for others)."""


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _line_json(line: CheckedLine) -> dict[str, Any]:
    return {
        "outTradeNo": line.out_trade_no,
        "outRefundNo": line.out_refund_no,
        "ledgerState": line.ledger_state,
        "ledgerAmount": _text(line.ledger_amount),
        "providerAmount": _text(line.provider_amount),
        "hospitalAmount": _text(line.hospital_amount),
        "inFlight": line.in_flight,
    }


def _line_of(data: dict[str, Any]) -> DayLine:
    return DayLine(
        out_trade_no=str(data["outTradeNo"]),
        out_refund_no=data.get("outRefundNo"),
        ledger_state=data.get("ledgerState"),
        ledger_amount=_decimal(data.get("ledgerAmount")),
        provider_amount=_decimal(data.get("providerAmount")),
        hospital_amount=_decimal(data.get("hospitalAmount")),
        in_flight=bool(data.get("inFlight")),
    )


def _found(mismatch: Mismatch) -> FoundMismatch:
    return FoundMismatch(
        kind=mismatch.kind.value,
        out_trade_no=mismatch.out_trade_no,
        out_refund_no=mismatch.out_refund_no,
        ledger_amount=_text(mismatch.ledger_amount),
        provider_amount=_text(mismatch.provider_amount),
        hospital_amount=_text(mismatch.hospital_amount),
        ledger_state=mismatch.ledger_state,
        detail=mismatch.detail,
    )


def status_of(report: ThreeWayReport, hospital_id: str) -> DayStatus:
    if hospital_id in report.hospital_errors or report.provider_error is not None:
        return DayStatus.NOT_CHECKED
    return DayStatus.MISMATCHES if report.mismatches else DayStatus.CLEAN


def not_checked_reason(report: ThreeWayReport, hospital_id: str) -> str | None:
    reasons = [
        f"hospital records unavailable ({report.hospital_errors[hospital_id]})"
        if hospital_id in report.hospital_errors
        else None,
        report.provider_error,
    ]
    return "; ".join(r for r in reasons if r) or None


def summary_of(report: ThreeWayReport, hospital_id: str) -> dict[str, Any]:
    return {
        "ledgerTotal": str(report.ledger_total),
        "providerTotal": str(report.provider_total),
        "hospitalTotal": str(report.hospital_total),
        "hospitalError": report.hospital_errors.get(hospital_id),
        "providerError": report.provider_error,
        "lines": [_line_json(line) for line in report.lines],
        "waiting": [_line_json(line) for line in report.open_lines],
    }


def hospital_day(
    row: ReconciliationResult, mismatches: Sequence[ReconciliationMismatchRow], *, now: bool
) -> HospitalDay:
    summary: dict[str, Any] = row.summary or {}
    return HospitalDay(
        hospital_id=row.hospital_id,
        day=row.day,
        status=DayStatus(row.status),
        checked_at=row.checked_at,
        checked_by=row.checked_by,
        checked_now=now,
        hospital_error=summary.get("hospitalError"),
        provider_error=summary.get("providerError"),
        ledger_total=Decimal(summary.get("ledgerTotal") or "0.00"),
        provider_total=Decimal(summary.get("providerTotal") or "0.00"),
        hospital_total=Decimal(summary.get("hospitalTotal") or "0.00"),
        lines=tuple(_line_of(line) for line in summary.get("lines") or []),
        waiting=tuple(_line_of(line) for line in summary.get("waiting") or []),
        mismatches=tuple(StoredMismatch.of(m) for m in mismatches),
    )


class ReconciliationDays:
    """The workflow over the ledger, the provider, the hospitals' records and the store."""

    def __init__(self, *, db: Database, provider: PaymentProvider, hospitals: HospitalRecords, clock: Clock) -> None:
        self._db = db
        self._check = ThreeWayCheck(db=db, provider=provider, hospitals=hospitals)
        self._clock = clock

    async def reconcile(
        self,
        *,
        actor: OperatorPrincipal,
        hospital_ids: Sequence[str],
        day: date,
        today: date,
        recheck: bool = False,
    ) -> ReconciledDay:
        """The day's result for these hospitals (already in the operator's scope), checking those that need it."""
        hospitals = list(dict.fromkeys(hospital_ids))
        region = actor.role == "region"
        async with self._db.session() as session:
            stored = await ReconciliationStore(session).results(hospitals, day)
        to_check = [h for h in hospitals if recheck or day >= today or h not in stored]
        if to_check:
            await self._check_and_keep(actor, to_check, day, include_unattributed=region)
        async with self._db.session() as session:
            store = ReconciliationStore(session)
            results = await store.results(hospitals, day)
            days = []
            for hospital_id in hospitals:
                if hospital_id in results:
                    found = await store.mismatches(day, hospital_id)
                    days.append(hospital_day(results[hospital_id], found, now=hospital_id in to_check))
            unattributed = tuple(StoredMismatch.of(m) for m in await store.mismatches(day, None)) if region else None
        return ReconciledDay(day=day, hospitals=tuple(days), unattributed=unattributed)

    async def _check_and_keep(
        self, actor: OperatorPrincipal, hospitals: list[str], day: date, *, include_unattributed: bool
    ) -> None:
        gathered = await self._check.gather(day, hospitals)
        try:
            await self._keep(actor, gathered, include_unattributed=include_unattributed)
        except IntegrityError:
            # Another request stored the same (hospital, day) first: store over it (its row exists now).
            await self._keep(actor, gathered, include_unattributed=include_unattributed)

    async def _keep(self, actor: OperatorPrincipal, gathered: GatheredDay, *, include_unattributed: bool) -> None:
        day, hospitals = gathered.day, gathered.hospital_ids
        at = self._clock.now()
        username = actor.username or f"operator-{actor.operator_id}"
        async with self._db.session() as session:
            store = ReconciliationStore(session)
            for hospital_id in hospitals:
                report = gathered.report([hospital_id])
                status = status_of(report, hospital_id)
                await store.keep_result(
                    hospital_id=hospital_id,
                    day=day,
                    status=status.value,
                    checked_at=at,
                    checked_by=username,
                    operator_id=actor.operator_id,
                    not_checked_reason=not_checked_reason(report, hospital_id),
                    summary=summary_of(report, hospital_id),
                )
                await store.keep_mismatches(day, hospital_id, [_found(m) for m in report.mismatches], at=at)
                record(
                    session,
                    actor,
                    "reconciliation-checked",
                    hospital_id=hospital_id,
                    target=f"{hospital_id} {day.isoformat()}",
                    detail={"day": day.isoformat(), "status": status.value, "mismatches": len(report.mismatches)},
                )
            if include_unattributed and gathered.provider_rows is not None:
                await store.keep_mismatches(day, None, [_found(m) for m in gathered.unattributed()], at=at)

    async def acknowledge(self, *, actor: OperatorPrincipal, mismatch_id: int, note: str) -> StoredMismatch:
        """Record that ``actor`` looked at a stored mismatch (again: the latest look is kept, each one audited)."""
        note = note.strip()
        if not note:
            raise Refused(RefusalCode.MISSING_PARAMETER, "请填写说明。", field="note")
        if len(note) > MAX_NOTE:
            raise Refused(RefusalCode.PARAMETER_RANGE, f"说明不能超过{MAX_NOTE}个字。", field="note")
        at = self._clock.now()
        async with self._db.session() as session:
            row = await ReconciliationStore(session).mismatch(mismatch_id)
            if row is None or not _may_see(actor, row.hospital_id):
                raise Refused(RefusalCode.NOT_FOUND, field="id")
            row.acknowledged_at = at
            row.acknowledged_by = (actor.username or f"operator-{actor.operator_id}")[:64]
            row.acknowledged_note = note
            record(
                session,
                actor,
                "mismatch-acknowledged",
                hospital_id=row.hospital_id,
                target=f"mismatch {row.id} {row.out_trade_no}",
                detail={"day": row.day.isoformat(), "kind": row.kind, "note": note},
            )
            await session.flush()
            return StoredMismatch.of(row)


def _may_see(actor: OperatorPrincipal, hospital_id: str | None) -> bool:
    """A hospital operator sees their hospital's mismatches; those of no known hospital are region operators'."""
    if hospital_id is None:
        return actor.role == "region"
    return actor.may_see(hospital_id)
