"""The database handle: one async engine, transactional sessions, a readiness ping and migrations."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

log = logging.getLogger("hisgraph.store.db")

ALEMBIC_INI: Final = Path(__file__).with_name("alembic.ini")
MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")

# Any constant works; it only has to be the same in every instance that may migrate at once.
_MIGRATION_LOCK_KEY: Final = 0x6869_7367_7261_7068  # "hisgraph"
_SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
_SQLITE_LOCKED_PATIENCE_S: Final = 60.0
"""BEGIN IMMEDIATE is retried (each try waiting up to the busy timeout) for this long before "database is
locked" reaches the caller: a burst of hundreds of concurrent writers on one file all get their turn."""
_SQLITE_RETRY_PAUSE_S: Final = (0.01, 0.2)


class Database:
    """The store's connection to one database: an SQLAlchemy async engine and what is built on it.

    `url` is an SQLAlchemy URL: `sqlite+aiosqlite:///var/hisgraph.sqlite3` (the parent folder is
    created) or `postgresql+asyncpg://user@host:5432/dbname`. Call `dispose()` when done (or use
    `async with Database(url) as db:`). `connect_timeout` bounds opening a PostgreSQL connection,
    `ping_timeout` the whole readiness ping.
    """

    def __init__(
        self, url: str, *, echo: bool = False, connect_timeout: float = 5.0, ping_timeout: float = 2.0
    ) -> None:
        self._url = make_url(url)
        self._ping_timeout = ping_timeout
        connect_args: dict[str, Any] = {}
        if self._url.get_backend_name() == "sqlite":
            _create_parent_folder(self._url)
        elif self._url.get_driver_name() == "asyncpg":
            connect_args["timeout"] = connect_timeout
        self._engine = create_async_engine(self._url, echo=echo, pool_pre_ping=True, connect_args=connect_args)
        if self._url.get_backend_name() == "sqlite":
            _configure_sqlite(self._engine)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)

    @property
    def url(self) -> URL:
        """The database URL (render it with `url.render_as_string(hide_password=True)` for logs)."""
        return self._url

    @property
    def engine(self) -> AsyncEngine:
        """The underlying engine, for the few callers that need a raw connection."""
        return self._engine

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.dispose()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed when the block ends, rolled back if it raises.

        The block may also commit by itself (a saga recording each step); objects stay readable after
        a commit (`expire_on_commit=False`), since reloading them would need I/O.
        """
        async with self._sessions() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            await session.commit()

    async def ping(self) -> bool:
        """Whether the database answers `SELECT 1` within `ping_timeout` seconds (for /readyz)."""
        try:
            async with asyncio.timeout(self._ping_timeout), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError, TimeoutError):
            return False
        return True

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision` with Alembic; a no-op when it is already there."""
        async with _migration_turn(), self.migration_connection() as connection:
            await connection.run_sync(_upgrade, revision)

    @asynccontextmanager
    async def migration_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection in one transaction that only one migrating process holds at a time.

        Several instances starting together all call `migrate()`; on PostgreSQL a transaction-level
        advisory lock queues them, and the late ones find the schema up to date. On SQLite the
        transaction itself begins IMMEDIATE, which takes the write lock.
        """
        async with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            yield connection

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()


_MIGRATING: Final[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _migration_turn() -> asyncio.Lock:
    """One migration at a time in this event loop, whatever database it migrates.

    Alembic's `context` and `op` are module globals that each run installs and removes; a migration's
    database calls yield to the event loop, so two interleaved in one process (two databases, or one
    that failed while another went on) would run each other's steps. Across processes the database's
    own lock (`migration_connection`) queues them.
    """
    loop = asyncio.get_running_loop()
    lock = _MIGRATING.get(loop)
    if lock is None:
        lock = _MIGRATING[loop] = asyncio.Lock()
    return lock


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration of the store's migrations, wherever the package is installed."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _create_parent_folder(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout, and transactions SQLAlchemy begins itself.

    The sqlite3 driver's legacy mode never BEGINs before a SELECT or DDL, which breaks repeatable reads,
    SAVEPOINTs and transactional migrations; SQLAlchemy's documented fix is to switch that off and emit
    BEGIN ourselves. We emit BEGIN IMMEDIATE: in WAL mode a transaction that reads and then writes (most
    of ours: look a record up, then change it) fails at once with SQLITE_BUSY if another writer committed
    in between, while an IMMEDIATE transaction waits for the write lock up front, within the busy timeout.
    Readers pay with that short wait; SQLite is the single-machine default, PostgreSQL is for load.

    A BEGIN IMMEDIATE that still finds the database locked when its busy timeout runs out (a burst of
    hundreds of concurrent writers) is retried, pausing without blocking the event loop, before the error
    reaches the caller: nothing was done yet, so the retry is always safe.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The busy timeout first: switching a new file to WAL takes its write lock, and a connection
            # opened meanwhile (several instances starting on one file) must wait for it, not fail.
            cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if not _locked(error) or time.monotonic() - started > _SQLITE_LOCKED_PATIENCE_S:
                    raise
                if attempt in (1, 10, 100):
                    log.info("sqlite busy at BEGIN, retrying", extra={"attempt": attempt})
                # Jittered, so that the waiting writers do not all retry at the same instant.
                await_only(asyncio.sleep(random.uniform(*_SQLITE_RETRY_PAUSE_S)))  # noqa: S311 - not security


def _locked(error: OperationalError) -> bool:
    text = str(error.orig if error.orig is not None else error).lower()
    return "database is locked" in text or "database is busy" in text
