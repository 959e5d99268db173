"""What hospitals upload for appointment registration (21.1.1-21.1.6): stored once, shown as uploaded.

Each upload becomes rows of ``store.uploads`` under a natural key the spec gives it:

- ``institution`` (21.1.1): one per hospital, keyed by its hosCode;
- ``department`` (21.1.2): keyed by deptCode; ``doctor``: ``deptCode|docCode`` (a doctor is listed under
  each department that uploads them);
- ``schedule`` (21.1.4): ``scheduleDate|amPm|deptCode|docCode`` (the spec gives a schedule no id; the stop
  interface names a session so), which sorts by day and lets a day be read by key prefix;
- ``stop`` (21.1.5): the key of the schedule it stops or hands to a substitute;
- ``visit_result`` (21.1.6): keyed by recordId, the registration the platform created (21.2.2).

A doctor deletion (21.1.3) marks the doctor's row deleted. A stop stands until the hospital stops the
same session again with other content: the spec has no call that reopens a session.

The upload and its inbound-ledger row are written in one transaction. A row whose payload is unchanged
is left alone, so a repeated call changes nothing visible (the ledger still records that it came).
Deduplicating whole calls would be wrong here: uploads are states, and A, B, A again must end on A.
When departments, doctors, schedules or stops change, the hospital's reference cache is dropped
(``ReferenceCache.invalidate``), so the graph asks the hospital afresh instead of serving stale schedules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from his_clients.caching import ReferenceCache
from store.db import Database
from store.inbound import InboundLedger
from store.uploads import HospitalUpload, HospitalUploads
from store.uploads import UploadRecord as UploadRecord  # re-exported: the shims build records from here

from .shims.ledger import ShimCall, mask_json

log = logging.getLogger("hisgraph.registration_uploads")

INSTITUTION: Final = "institution"
DEPARTMENT: Final = "department"
DOCTOR: Final = "doctor"
SCHEDULE: Final = "schedule"
STOP: Final = "stop"
VISIT_RESULT: Final = "visit_result"

REFERENCE_KINDS: Final = frozenset({DEPARTMENT, DOCTOR, SCHEDULE, STOP})
"""Kinds whose change makes the hospital's cached departments, doctors and schedules stale."""
KEY_SEPARATOR: Final = "|"
"""Between the parts of a natural key; the shim refuses codes that contain it (20003)."""
SUCCESS_CODE: Final = "10001"


def natural_key(*parts: str) -> str:
    return KEY_SEPARATOR.join(parts)


def doctor_key(dept_code: str, doc_code: str) -> str:
    return natural_key(dept_code, doc_code)


def schedule_key(schedule_date: str, am_pm: str, dept_code: str, doc_code: str) -> str:
    """A half-day session of a doctor in a department: the key of its schedule and of its stop."""
    return natural_key(schedule_date, am_pm.upper(), dept_code, doc_code)


def _present(fields: Mapping[str, Any], *, leave_out: Sequence[str] = ()) -> dict[str, Any]:
    """The fields sent (None and left-out names dropped), as stored."""
    return {k: v for k, v in fields.items() if v is not None and k not in leave_out}


def institution_records(fields: Mapping[str, Any]) -> list[UploadRecord]:
    """21.1.1: the hospital's own description."""
    return [UploadRecord(INSTITUTION, str(fields["hosCode"]), _present(fields))]


def department_records(departments: Sequence[Mapping[str, Any]]) -> list[UploadRecord]:
    """21.1.2: each department, and each doctor under it (added or changed; others stay as they are)."""
    records = []
    for department in departments:
        dept_code = str(department["deptCode"])
        records.append(UploadRecord(DEPARTMENT, dept_code, _present(department, leave_out=("doctors",))))
        for doctor in department.get("doctors") or ():
            payload = {"deptCode": dept_code, **_present(doctor)}
            records.append(UploadRecord(DOCTOR, doctor_key(dept_code, str(doctor["docCode"])), payload))
    return records


def deletion_records(fields: Mapping[str, Any]) -> list[UploadRecord]:
    """21.1.3: the doctors of one department to delete."""
    dept_code = str(fields["deptCode"])
    return [
        UploadRecord(DOCTOR, doctor_key(dept_code, str(doctor["docCode"])), {}, deleted=True)
        for doctor in fields.get("doctors") or ()
    ]


def schedule_records(schedules: Sequence[Mapping[str, Any]]) -> list[UploadRecord]:
    """21.1.4: each half-day schedule of a doctor."""
    return [
        UploadRecord(
            SCHEDULE,
            schedule_key(str(s["scheduleDate"]), str(s["amPm"]), str(s["deptCode"]), str(s["docCode"])),
            _present(s),
        )
        for s in schedules
    ]


def stop_records(stops: Sequence[Mapping[str, Any]]) -> list[UploadRecord]:
    """21.1.5: each session stopped, or handed to a substitute (altDeptCode/altDocCode)."""
    return [
        UploadRecord(
            STOP,
            schedule_key(str(s["scheduleDate"]), str(s["amPm"]), str(s["deptCode"]), str(s["docCode"])),
            _present(s),
        )
        for s in stops
    ]


def visit_result_records(results: Sequence[Mapping[str, Any]]) -> list[UploadRecord]:
    """21.1.6: how each registration ended (3 爽约, 4 已取消, 5 已就诊)."""
    return [UploadRecord(VISIT_RESULT, str(r["recordId"]), _present(r)) for r in results]


async def accept_upload(
    db: Database,
    call: ShimCall,
    *,
    records: Sequence[UploadRecord],
    reply: dict[str, Any],
    cache: ReferenceCache | None,
) -> int:
    """Record the call and store its records in one transaction; how many rows changed.

    The hospital's reference cache is dropped after the commit when a department, doctor, schedule or
    stop changed; a cache that cannot be reached is logged, not refused (its entries expire by TTL).
    """
    hospital_id = call.hospital_id
    assert hospital_id is not None
    changed_kinds: set[str] = set()
    changed_rows = 0
    for attempt in range(2):
        changed_kinds.clear()
        changed_rows = 0
        try:
            async with db.session() as session:
                ledger_row = await _record(session, call, reply)
                applied = await HospitalUploads(session).apply(
                    hospital_id=hospital_id, changes=records, at=call.received_at, inbound_call_id=ledger_row
                )
                changed_kinds.update(record.kind for record in applied)
                changed_rows = len(applied)
            break
        except IntegrityError:
            # A concurrent call inserted the same new row first: the next round updates it instead.
            if attempt == 1:
                raise
    if cache is not None and changed_kinds & REFERENCE_KINDS:
        try:
            await cache.invalidate(hospital_id)
        except Exception:
            log.exception("could not drop the reference cache", extra={"hospital_id": hospital_id})
    return changed_rows


async def _record(session: AsyncSession, call: ShimCall, reply: dict[str, Any]) -> int:
    """The ledger row of an accepted upload (no dedupe key: see the module docstring); its id."""
    row = await InboundLedger(session).add(
        section=call.section,
        path=call.path,
        hospital_id=call.hospital_id,
        body=mask_json(call.body),
        reply_code=SUCCESS_CODE,
        reply=mask_json(reply),
        received_at=call.received_at,
    )
    return row.id


async def uploaded(
    db: Database, *, hospital_id: str, kind: str, key_prefix: str | None = None, limit: int = 1000
) -> list[HospitalUpload]:
    """One hospital's live rows of one kind, by natural key (those starting with ``key_prefix``, if given)."""
    async with db.session() as session:
        return await HospitalUploads(session).list(
            hospital_id=hospital_id, kind=kind, key_prefix=key_prefix, limit=limit
        )


async def visit_results(
    db: Database, *, hospital_ids: Sequence[str], record_id: str | None = None, limit: int = 100
) -> list[HospitalUpload]:
    """Visit results (21.1.6) of these hospitals, most recent first; one registration's when ``record_id``."""
    async with db.session() as session:
        return await HospitalUploads(session).list_for_hospitals(
            hospital_ids=hospital_ids, kind=VISIT_RESULT, natural_key=record_id, limit=limit
        )
