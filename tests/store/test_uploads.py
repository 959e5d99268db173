"""Registration uploads (21.1.x) in the store and its service, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from his_clients.caching import MemoryBackend, ReferenceCache
from services import registration_uploads as uploads
from services.shims.ledger import ShimCall
from store.db import Database
from store.inbound import InboundCall
from store.uploads import HospitalUpload, HospitalUploads

AT = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SCHEDULE = {
    "hosCode": "0531_253",
    "deptCode": "268",
    "docCode": "5265",
    "scheduleDate": "20260106",
    "amPm": "AM",
    "upLimit": "14",
    "appNum": "12",
}


def call(body: object = None, section: str = "21.1.4") -> ShimCall:
    return ShimCall(
        section=section,
        path="/prefront/yyghService/insertSchedule",
        hospital_id="253",
        body=body if body is not None else [SCHEDULE],
        received_at=AT,
    )


async def count(db: Database, model: type[object]) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_put_if_changed_writes_only_a_change(db: Database) -> None:
    async with db.session() as session:
        repo = HospitalUploads(session)
        assert await repo.put_if_changed(hospital_id="253", kind="schedule", natural_key="k", payload={"a": "1"}, at=AT)
        later = AT + timedelta(hours=1)
        assert not await repo.put_if_changed(
            hospital_id="253", kind="schedule", natural_key="k", payload={"a": "1"}, at=later
        )
        row = await repo.get(hospital_id="253", kind="schedule", natural_key="k")
        assert row is not None
        assert row.updated_at == AT
        assert await repo.put_if_changed(
            hospital_id="253", kind="schedule", natural_key="k", payload={"a": "2"}, at=later
        )
    async with db.session() as session:
        [row] = await HospitalUploads(session).list(hospital_id="253", kind="schedule")
    assert (row.payload, row.updated_at) == ({"a": "2"}, later)


async def test_mark_deleted_keeps_the_payload_and_hides_the_row(db: Database) -> None:
    async with db.session() as session:
        repo = HospitalUploads(session)
        await repo.put(hospital_id="253", kind="doctor", natural_key="2562|5265", payload={"docName": "华佗"}, at=AT)
        assert await repo.mark_deleted(hospital_id="253", kind="doctor", natural_key="2562|5265", at=AT)
        assert not await repo.mark_deleted(hospital_id="253", kind="doctor", natural_key="2562|5265", at=AT)
        assert not await repo.mark_deleted(hospital_id="253", kind="doctor", natural_key="2562|none", at=AT)
        assert await repo.list(hospital_id="253", kind="doctor") == []
        [kept] = await repo.list(hospital_id="253", kind="doctor", include_deleted=True)
        assert (kept.deleted, kept.payload) == (True, {"docName": "华佗"})
        # The same payload uploaded again revives it.
        assert await repo.put_if_changed(
            hospital_id="253", kind="doctor", natural_key="2562|5265", payload={"docName": "华佗"}, at=AT
        )
        assert len(await repo.list(hospital_id="253", kind="doctor")) == 1


async def test_a_key_prefix_is_matched_literally(db: Database) -> None:
    async with db.session() as session:
        repo = HospitalUploads(session)
        for key in ("20260106|AM|1|a", "20260106|PM|1|a", "20260107|AM|1|a", "2026010_|AM|1|a", "2026%|AM|1|a"):
            await repo.put(hospital_id="253", kind="schedule", natural_key=key, payload={}, at=AT)
        await repo.put(hospital_id="254", kind="schedule", natural_key="20260106|AM|1|a", payload={}, at=AT)
        day = [r.natural_key for r in await repo.list(hospital_id="253", kind="schedule", key_prefix="20260106|")]
        assert day == ["20260106|AM|1|a", "20260106|PM|1|a"]
        assert [r.natural_key for r in await repo.list(hospital_id="253", kind="schedule", key_prefix="2026%")] == [
            "2026%|AM|1|a"
        ]
        assert [r.natural_key for r in await repo.list(hospital_id="253", kind="schedule", key_prefix="2026010_")] == [
            "2026010_|AM|1|a"
        ]


async def test_list_for_hospitals_is_newest_first(db: Database) -> None:
    async with db.session() as session:
        repo = HospitalUploads(session)
        await repo.put(hospital_id="253", kind="visit_result", natural_key="r1", payload={"state": "5"}, at=AT)
        await repo.put(
            hospital_id="254", kind="visit_result", natural_key="r2", payload={"state": "3"}, at=AT + timedelta(1)
        )
        await repo.put(hospital_id="255", kind="visit_result", natural_key="r3", payload={"state": "4"}, at=AT)
        found = await repo.list_for_hospitals(hospital_ids=["253", "254"], kind="visit_result")
        assert [r.natural_key for r in found] == ["r2", "r1"]
        one = await repo.list_for_hospitals(hospital_ids=["253", "254"], kind="visit_result", natural_key="r1")
        assert [r.hospital_id for r in one] == ["253"]


async def test_an_upload_and_its_ledger_row_are_one_transaction(db: Database) -> None:
    good = uploads.UploadRecord("schedule", "20260106|AM|268|5265", dict(SCHEDULE))
    broken = uploads.UploadRecord("schedule", "20260106|PM|268|5265", {"amount": object()})  # cannot be JSON
    with pytest.raises((StatementError, TypeError), match="JSON serializable"):
        await uploads.accept_upload(db, call(), records=[good, broken], reply={"success": True}, cache=None)
    assert await count(db, HospitalUpload) == 0
    assert await count(db, InboundCall) == 0

    changed = await uploads.accept_upload(db, call(), records=[good], reply={"success": True}, cache=None)
    assert changed == 1
    async with db.session() as session:
        ledger_row = (await session.execute(select(InboundCall))).scalar_one()
        row = (await session.execute(select(HospitalUpload))).scalar_one()
    assert row.inbound_call_id == ledger_row.id
    assert ledger_row.reply_code == "10001"


async def test_concurrent_identical_uploads_store_one_row(db: Database) -> None:
    record = uploads.schedule_records([SCHEDULE])
    results = await asyncio.gather(
        *(uploads.accept_upload(db, call(), records=record, reply={"success": True}, cache=None) for _ in range(4))
    )
    assert sum(results) == 1
    assert await count(db, HospitalUpload) == 1
    assert await count(db, InboundCall) == 4


async def test_only_reference_changes_drop_the_cache(db: Database) -> None:
    backend = MemoryBackend()
    cache = ReferenceCache(backend)
    reply = {"success": True}
    await uploads.accept_upload(db, call(), records=uploads.schedule_records([SCHEDULE]), reply=reply, cache=cache)
    assert await backend.generation("253") == 1
    await uploads.accept_upload(db, call(), records=uploads.schedule_records([SCHEDULE]), reply=reply, cache=cache)
    assert await backend.generation("253") == 1  # nothing changed
    results = uploads.visit_result_records([{"recordId": "r1", "state": "5"}])
    await uploads.accept_upload(db, call(section="21.1.6"), records=results, reply=reply, cache=cache)
    assert await backend.generation("253") == 1  # visit results are no reference data


def test_natural_keys() -> None:
    [schedule] = uploads.schedule_records([SCHEDULE])
    [stop] = uploads.stop_records([{**SCHEDULE, "amPm": "am", "reason": "会诊"}])
    assert schedule.natural_key == stop.natural_key == "20260106|AM|268|5265"
    department, doctor = uploads.department_records(
        [
            {
                "deptCode": "2562",
                "deptName": "消化内科",
                "doctors": [{"docCode": "5265", "docName": "华佗", "hisTitle": None}],
            }
        ]
    )
    assert (department.kind, department.natural_key, "doctors" in department.payload) == ("department", "2562", False)
    assert (doctor.kind, doctor.natural_key, doctor.payload) == (
        "doctor",
        "2562|5265",
        {"deptCode": "2562", "docCode": "5265", "docName": "华佗"},
    )
    [deletion] = uploads.deletion_records({"deptCode": "2562", "doctors": [{"docCode": "5265"}]})
    assert (deletion.natural_key, deletion.deleted) == ("2562|5265", True)


async def test_a_large_schedule_is_stored_in_a_few_statements(db: Database) -> None:
    """A hospital's week of schedules (hundreds of sessions, 21.1.4) is read and written in batches, not two
    statements per session: row by row, one upload held the event loop for seconds. A repeat changes nothing;
    a later upload that changes one session, deletes another and repeats the rest writes exactly two rows."""
    from sqlalchemy import event

    schedules = [
        {**SCHEDULE, "docCode": f"{doctor:04d}", "scheduleDate": f"202601{day:02d}", "amPm": am_pm}
        for doctor in range(60)
        for day in range(6, 11)
        for am_pm in ("AM", "PM")
    ]
    statements: list[str] = []

    def counted(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", counted)
    try:
        records = uploads.schedule_records(schedules)
        assert await uploads.accept_upload(db, call(schedules), records=records, reply={}, cache=None) == 600
        first = len(statements)
        assert await uploads.accept_upload(db, call(schedules), records=records, reply={}, cache=None) == 0
        changed = [*records[:-2], uploads.UploadRecord(records[-2].kind, records[-2].natural_key, {"upLimit": "9"})]
        deleted = uploads.UploadRecord(records[-1].kind, records[-1].natural_key, {}, deleted=True)
        assert await uploads.accept_upload(db, call(), records=[*changed, deleted], reply={}, cache=None) == 2
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", counted)
    assert first <= 12, statements[:20]  # the ledger row, two reads of 500 keys, batched inserts, commit
    async with db.session() as session:
        live = await HospitalUploads(session).list(hospital_id="253", kind=records[0].kind)
    assert len(live) == 599
    assert {row.natural_key: row.payload for row in live}[records[-2].natural_key] == {"upLimit": "9"}
