"""The Database handle: sessions commit or roll back, ping tells live from dead, SQLite is set up for concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from store.cards import HealthCardRepository
from store.db import Database


async def test_ping_is_true_on_a_live_database(db: Database) -> None:
    assert await db.ping() is True


async def _assert_ping_fails_quickly(url: str) -> None:
    async with Database(url, ping_timeout=2.0) as db:
        started = time.monotonic()
        assert await db.ping() is False
        assert time.monotonic() - started < 2.5


async def test_ping_is_false_quickly_when_nothing_listens() -> None:
    await _assert_ping_fails_quickly("postgresql+asyncpg://postgres@127.0.0.1:1/x")


async def test_ping_is_false_when_sqlite_cannot_open_the_file(tmp_path: Path) -> None:
    await _assert_ping_fails_quickly(f"sqlite+aiosqlite:///{tmp_path}")  # a folder, not a database file


async def test_session_commits_when_the_block_succeeds(db: Database) -> None:
    async with db.session() as session:
        await HealthCardRepository(session).add(medical_card_number="001000000000001", name="李四", gender="2")
    async with db.session() as session:
        assert await HealthCardRepository(session).get("001000000000001") is not None


async def test_session_rolls_back_when_the_block_raises(db: Database) -> None:
    async def add_then_fail() -> None:
        async with db.session() as session:
            await HealthCardRepository(session).add(medical_card_number="001000000000002", name="李四", gender="2")
            raise LookupError

    with pytest.raises(LookupError):
        await add_then_fail()
    async with db.session() as session:
        assert await HealthCardRepository(session).get("001000000000002") is None


async def test_sqlite_parent_folder_is_created_and_pragmas_applied(tmp_path: Path) -> None:
    path = tmp_path / "var" / "nested" / "hisgraph.sqlite3"
    async with Database(f"sqlite+aiosqlite:///{path}") as db, db.engine.connect() as connection:
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
        assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one() == 10_000
    assert path.exists()


async def test_a_connection_opened_while_another_holds_the_write_lock_waits_for_it(tmp_path: Path) -> None:
    """The busy timeout is set before anything that may need a lock (switching a new file to WAL does).

    Several instances starting on one new file open connections while the first one converts it: CI saw
    "database is locked" from a connection's very first PRAGMA, which ran before its busy timeout.
    """
    path = tmp_path / "new.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)  # the file's first state: a rollback journal
    try:
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN EXCLUSIVE")
        asyncio.get_running_loop().call_later(0.3, holder.rollback)
        async with Database(f"sqlite+aiosqlite:///{path}", ping_timeout=8.0) as db:
            assert await db.ping() is True
            async with db.engine.connect() as connection:
                assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"
    finally:
        holder.close()


async def test_sqlite_holds_200_concurrent_writers(tmp_path: Path) -> None:
    """issue 10 item 11: 200 concurrent writers on one SQLite file, none sees "database is locked".

    Each writer reads, then writes, in one transaction (as the ledger and the payment sagas do); the
    busy timeout is shortened so that the lock is really contended and the retried BEGIN has to work.
    """
    from sqlalchemy import event

    from store.inbound import InboundCall, InboundLedger
    from store.models import utcnow

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'busy.sqlite3'}")
    await db.migrate()

    @event.listens_for(db.engine.sync_engine, "connect")
    def _short_busy_timeout(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA busy_timeout=20")
        cursor.close()

    await db.engine.dispose()  # every connection from now on has the short timeout

    async def write(n: int) -> None:
        async with db.session() as session:
            await session.execute(text("SELECT count(*) FROM inbound_calls"))
            await asyncio.sleep(0.001)  # hold the transaction across an await, as handlers do
            await InboundLedger(session).add(
                section="1.3.1",
                path="/prefront/patient/getPatientInfo",
                hospital_id="253",
                body={"n": n},
                reply_code="10001",
                reply={},
                received_at=utcnow(),
            )

    try:
        results = await asyncio.gather(*(write(n) for n in range(200)), return_exceptions=True)
        assert [r for r in results if r is not None] == []
        async with db.session() as session:
            count = (await session.execute(select(func.count()).select_from(InboundCall))).scalar_one()
        assert count == 200
    finally:
        await db.dispose()
