"""What hospitals upload to us for appointment registration (21.1.1-21.1.6), one row per thing uploaded.

A hospital identifies itself there by ``hosCode``; the shim maps it to our hospital id. Each upload is
a document of a kind (``institution``, ``department``, ``doctor``, ``schedule``, ``stop``,
``visit_result``) under its natural key (services/registration_uploads.py: a doctor is department and
doctor code; a schedule and the stop of it are date, half-day, department and doctor...), replaced whole
by a later upload of the same key. A deletion (21.1.3) keeps the row, marked deleted, so operators can see what
was removed and when; the graph shows only live rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, String, UniqueConstraint, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime, utcnow


class HospitalUpload(Base):
    """The latest upload of one thing (institution, department, doctor, schedule, stop...) of one hospital."""

    __tablename__ = "hospital_uploads"
    __table_args__ = (UniqueConstraint("hospital_id", "kind", "natural_key", name="uq_hospital_uploads_identity"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    hospital_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    natural_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[Any] = mapped_column(JSON)
    """The fields as uploaded (normalised names), the hospital's words for what it publishes."""
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    inbound_call_id: Mapped[int | None] = mapped_column(BigIntegerId)
    """The inbound ledger row of the call that wrote this version."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@dataclass(frozen=True)
class UploadRecord:
    """One thing an upload says: the row (kind, natural key) and what it now holds, or that it is deleted."""

    kind: str
    natural_key: str
    payload: dict[str, Any]
    deleted: bool = False


KEYS_PER_READ = 500
"""Natural keys read in one statement (well under SQLite's and asyncpg's bound-parameter limits)."""


class HospitalUploads:
    """Reads and writes `HospitalUpload` rows inside the caller's session (the caller owns the transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def put(
        self,
        *,
        hospital_id: str,
        kind: str,
        natural_key: str,
        payload: Any,
        at: datetime,
        inbound_call_id: int | None = None,
        deleted: bool = False,
    ) -> HospitalUpload:
        """Insert or replace the row of (hospital, kind, key); flushes."""
        row = await self.get(hospital_id=hospital_id, kind=kind, natural_key=natural_key, for_update=True)
        return await self._write(row, hospital_id, kind, natural_key, payload, at, inbound_call_id, deleted)

    async def _write(
        self,
        row: HospitalUpload | None,
        hospital_id: str,
        kind: str,
        natural_key: str,
        payload: Any,
        at: datetime,
        inbound_call_id: int | None,
        deleted: bool,
    ) -> HospitalUpload:
        """Write this version onto the row already read (locked), or insert one when there was none: a
        concurrent insert of the same key then fails on the unique constraint instead of being overwritten."""
        if row is None:
            row = HospitalUpload(hospital_id=hospital_id, kind=kind, natural_key=natural_key)
            self._session.add(row)
        row.payload = payload
        row.deleted = deleted
        row.updated_at = at
        row.inbound_call_id = inbound_call_id
        await self._session.flush()
        return row

    async def get(
        self, *, hospital_id: str, kind: str, natural_key: str, for_update: bool = False
    ) -> HospitalUpload | None:
        query = select(HospitalUpload).where(
            HospitalUpload.hospital_id == hospital_id,
            HospitalUpload.kind == kind,
            HospitalUpload.natural_key == natural_key,
        )
        if for_update:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def put_if_changed(
        self,
        *,
        hospital_id: str,
        kind: str,
        natural_key: str,
        payload: dict[str, Any],
        at: datetime,
        inbound_call_id: int | None = None,
    ) -> bool:
        """Store this version unless the live row already holds exactly this payload (then nothing changes,
        not even ``updated_at``: a repeated upload leaves no trace here). Whether a row was written."""
        change = UploadRecord(kind, natural_key, payload)
        return bool(await self.apply(hospital_id=hospital_id, changes=[change], at=at, inbound_call_id=inbound_call_id))

    async def apply(
        self, *, hospital_id: str, changes: Sequence[UploadRecord], at: datetime, inbound_call_id: int | None = None
    ) -> list[UploadRecord]:
        """Apply one upload's changes in order, as ``put_if_changed`` and ``mark_deleted`` would one by one, and
        return those that altered a row. The live rows are read (locked) a few hundred keys per statement and
        written in one flush: a hospital's schedule of several hundred sessions costs a handful of statements,
        not two per session, and never holds the event loop for seconds. A row that another call inserts
        meanwhile fails the unique constraint at the flush (the caller retries), never is overwritten."""
        keys: defaultdict[str, set[str]] = defaultdict(set)
        for change in changes:
            keys[change.kind].add(change.natural_key)
        rows: dict[tuple[str, str], HospitalUpload] = {}
        for kind, natural_keys in keys.items():
            ordered = sorted(natural_keys)
            for start in range(0, len(ordered), KEYS_PER_READ):
                query = (
                    select(HospitalUpload)
                    .where(
                        HospitalUpload.hospital_id == hospital_id,
                        HospitalUpload.kind == kind,
                        HospitalUpload.natural_key.in_(ordered[start : start + KEYS_PER_READ]),
                    )
                    .with_for_update()
                )
                for found in (await self._session.execute(query)).scalars():
                    rows[(kind, found.natural_key)] = found
        new: dict[tuple[str, str], dict[str, Any]] = {}
        """Rows that do not exist yet, inserted at the end in one executemany (no RETURNING: nothing reads
        their ids), as the last change of each key in this upload left them."""
        applied: list[UploadRecord] = []
        for change in changes:
            key = (change.kind, change.natural_key)
            row = rows.get(key)
            pending = new.get(key)
            if row is not None:
                live, payload = not row.deleted, row.payload
            elif pending is not None:
                live, payload = not pending["deleted"], pending["payload"]
            else:
                live, payload = False, None
            if change.deleted:
                if not live:
                    continue
            elif live and payload == change.payload:
                continue
            if row is not None:
                if not change.deleted:
                    row.payload = change.payload
                row.deleted = change.deleted
                row.updated_at = at
                row.inbound_call_id = inbound_call_id
            else:
                values = new.setdefault(
                    key, {"hospital_id": hospital_id, "kind": change.kind, "natural_key": change.natural_key}
                )
                if not change.deleted:
                    values["payload"] = change.payload
                values.update(deleted=change.deleted, updated_at=at, inbound_call_id=inbound_call_id)
            applied.append(change)
        await self._session.flush()
        if new:
            await self._session.execute(insert(HospitalUpload), list(new.values()))
        return applied

    async def mark_deleted(
        self, *, hospital_id: str, kind: str, natural_key: str, at: datetime, inbound_call_id: int | None = None
    ) -> bool:
        """Mark the live row of (hospital, kind, key) deleted, keeping its last payload. False when there is
        no live row (never uploaded, or deleted already): a repeated deletion changes nothing."""
        change = UploadRecord(kind, natural_key, {}, deleted=True)
        return bool(await self.apply(hospital_id=hospital_id, changes=[change], at=at, inbound_call_id=inbound_call_id))

    async def list_for_hospitals(
        self, *, hospital_ids: Sequence[str], kind: str, natural_key: str | None = None, limit: int = 100
    ) -> list[HospitalUpload]:
        """Live rows of one kind of several hospitals, most recently updated first (one key, if given)."""
        query = (
            select(HospitalUpload)
            .where(
                HospitalUpload.hospital_id.in_(list(hospital_ids)),
                HospitalUpload.kind == kind,
                HospitalUpload.deleted.is_(False),
            )
            .order_by(HospitalUpload.updated_at.desc(), HospitalUpload.id.desc())
            .limit(limit)
        )
        if natural_key is not None:
            query = query.where(HospitalUpload.natural_key == natural_key)
        return list((await self._session.execute(query)).scalars())

    async def list(
        self,
        *,
        hospital_id: str,
        kind: str,
        include_deleted: bool = False,
        key_prefix: str | None = None,
        limit: int = 1000,
    ) -> list[HospitalUpload]:
        """Rows of one kind of one hospital, by key; ``key_prefix`` keeps the keys that start with it."""
        query = (
            select(HospitalUpload)
            .where(HospitalUpload.hospital_id == hospital_id, HospitalUpload.kind == kind)
            .order_by(HospitalUpload.natural_key)
            .limit(limit)
        )
        if not include_deleted:
            query = query.where(HospitalUpload.deleted.is_(False))
        if key_prefix:
            query = query.where(HospitalUpload.natural_key.startswith(key_prefix, autoescape=True))
        return list((await self._session.execute(query)).scalars())
