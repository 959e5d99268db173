"""The stored daily reconciliation (issue 15 item 4), on SQLite and PostgreSQL: results per hospital and day, kept
mismatches and their acknowledgements across rechecks, NOT_CHECKED sides, and who may see what."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from his_clients.errors import HisTimeout
from services.identity.principal import OperatorPrincipal
from services.payments.clock import ManualClock
from services.payments.providers.base import BillRow, ProviderUnavailable
from services.payments.reconciliation_days import DayStatus, ReconciliationDays
from services.payments.three_way import HospitalRecord
from services.refusals import RefusalCode, Refused
from store.audit import AuditEntry
from store.db import Database
from tests.store.conftest import database_factory, empty_database_url

__all__ = ["database_factory", "empty_database_url"]

DAY = date(2025, 11, 26)
TODAY = date(2025, 11, 28)
AT = datetime(2025, 11, 26, 2, tzinfo=UTC)
REGION = OperatorPrincipal(operator_id=1, role="region", hospital_id=None, username="ops.region")
AT_254 = OperatorPrincipal(operator_id=2, role="hospital", hospital_id="254", username="ops.254")


class Provider:
    """The provider's bill of the day, or unavailable."""

    def __init__(self) -> None:
        self.rows: list[BillRow] = []
        self.down = False

    async def trade_bill(self, bill_date: date) -> list[BillRow]:
        if self.down:
            raise ProviderUnavailable("bill service down")
        return list(self.rows)


class Records:
    """Each hospital's 14.2.1 records of the day; a hospital in ``failing`` gives no usable answer."""

    def __init__(self) -> None:
        self.by_hospital: dict[str, list[HospitalRecord]] = {}
        self.failing: set[str] = set()
        self.calls = 0

    async def day_records(self, hospital_id: str, start: str, end: str) -> list[HospitalRecord]:
        self.calls += 1
        if hospital_id in self.failing:
            raise HisTimeout("no answer", hospital_id=hospital_id, method="hospital.interface.reconciliation.detail")
        return list(self.by_hospital.get(hospital_id, []))

    async def order_records(self, hospital_id: str, out_trade_no: str) -> list[HospitalRecord]:
        return []

    async def refund_record(self, hospital_id: str, out_trade_no: str, refund_no: str) -> HospitalRecord | None:
        return None


def ghost_payment(number: str = "ZJZF-ghost") -> BillRow:
    return BillRow(number, "tx", "SUCCESS", Decimal("3.00"), Decimal("0"), None, AT)


@pytest.fixture
def parts() -> tuple[Provider, Records]:
    return Provider(), Records()


@pytest.fixture
async def db(empty_database_url: str) -> AsyncIterator[Database]:
    """A database of its own (the audit trail is append-only: the shared one cannot be emptied after a test)."""
    async with Database(empty_database_url) as database:
        await database.migrate()
        yield database


async def test_results_are_stored_per_hospital_and_day_and_a_recheck_keeps_what_is_found_again(
    db: Database, parts: tuple[Provider, Records]
) -> None:
    provider, records = parts
    provider.rows = [ghost_payment()]
    records.by_hospital["253"] = [HospitalRecord(trade_no="ZJZF-other", amount=Decimal("7.00"))]
    records.failing = {"254"}
    days = ReconciliationDays(db=db, provider=provider, hospitals=records, clock=ManualClock(AT))  # type: ignore[arg-type]

    first = await days.reconcile(actor=REGION, hospital_ids=["253", "254"], day=DAY, today=TODAY)
    at_253, at_254 = first.hospitals
    assert (at_253.status, at_254.status) == (DayStatus.MISMATCHES, DayStatus.NOT_CHECKED)
    assert at_254.hospital_error is not None
    assert at_254.checked_by == "ops.region"
    (other,) = at_253.mismatches
    assert (other.kind, other.out_trade_no, other.hospital_amount) == (
        "missing_in_ledger",
        "ZJZF-other",
        Decimal("7.00"),
    )
    assert [m.out_trade_no for m in first.unattributed or ()] == ["ZJZF-ghost"]

    looked = await days.acknowledge(actor=REGION, mismatch_id=other.id, note="the hospital's own test payment")
    assert (looked.acknowledged_by, looked.acknowledged_at) == ("ops.region", AT)

    calls = records.calls
    stored = await days.reconcile(actor=REGION, hospital_ids=["253", "254"], day=DAY, today=TODAY)
    assert records.calls == calls  # a past day already checked: read from the store
    assert [h.checked_now for h in stored.hospitals] == [False, False]
    assert stored.hospitals[1].status is DayStatus.NOT_CHECKED  # until rechecked

    records.failing = set()
    records.by_hospital["253"].append(HospitalRecord(trade_no="ZJZF-new", amount=Decimal("1.00")))
    rechecked = await days.reconcile(actor=REGION, hospital_ids=["253", "254"], day=DAY, today=TODAY, recheck=True)
    at_253, at_254 = rechecked.hospitals
    assert at_254.status is DayStatus.CLEAN
    kept, new = at_253.mismatches
    assert (kept.id, kept.acknowledged_note) == (other.id, "the hospital's own test payment")
    assert (new.out_trade_no, new.acknowledged_at) == ("ZJZF-new", None)

    records.by_hospital["253"] = []
    provider.down = True
    down = await days.reconcile(actor=REGION, hospital_ids=["253"], day=DAY, today=TODAY, recheck=True)
    assert down.hospitals[0].status is DayStatus.NOT_CHECKED
    assert down.hospitals[0].provider_error is not None
    assert [m.out_trade_no for m in down.unattributed or ()] == ["ZJZF-ghost"]  # not forgotten: the bill was unread

    provider.down = False
    provider.rows = []
    clean = await days.reconcile(actor=REGION, hospital_ids=["253"], day=DAY, today=TODAY, recheck=True)
    assert (clean.hospitals[0].status, clean.hospitals[0].mismatches, clean.unattributed) == (DayStatus.CLEAN, (), ())

    async with db.session() as session:
        actions = [e.action for e in await session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("reconciliation-checked") == 6
    assert actions.count("mismatch-acknowledged") == 1


async def test_a_hospital_operator_sees_and_acknowledges_only_their_hospitals_mismatches(
    db: Database, parts: tuple[Provider, Records]
) -> None:
    provider, records = parts
    provider.rows = [ghost_payment()]
    records.by_hospital["253"] = [HospitalRecord(trade_no="ZJZF-other", amount=Decimal("7.00"))]
    days = ReconciliationDays(db=db, provider=provider, hospitals=records, clock=ManualClock(AT))  # type: ignore[arg-type]
    region = await days.reconcile(actor=REGION, hospital_ids=["253", "254"], day=DAY, today=TODAY)
    ghost = (region.unattributed or ())[0]
    other = region.hospitals[0].mismatches[0]

    own = await days.reconcile(actor=AT_254, hospital_ids=["254"], day=DAY, today=TODAY)
    assert own.unattributed is None
    assert [h.hospital_id for h in own.hospitals] == ["254"]
    for mismatch_id in (ghost.id, other.id, 999_999):
        with pytest.raises(Refused) as refused:
            await days.acknowledge(actor=AT_254, mismatch_id=mismatch_id, note="not mine")
        assert refused.value.code is RefusalCode.NOT_FOUND
    with pytest.raises(Refused) as refused:
        await days.acknowledge(actor=REGION, mismatch_id=ghost.id, note="x" * 501)
    assert refused.value.code is RefusalCode.PARAMETER_RANGE
    assert (await days.acknowledge(actor=REGION, mismatch_id=ghost.id, note="provider test")).acknowledged_by == (
        "ops.region"
    )
