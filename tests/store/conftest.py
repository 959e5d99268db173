"""Database fixtures: every store test runs on SQLite and on PostgreSQL.

Written to be lifted into tests/conftest.py as they are. PostgreSQL is the server on 127.0.0.1:5432
(user postgres, trust auth; override with $HISGRAPH_TEST_POSTGRES_URL); each test session creates its
own databases named `hisgraph_test_<pid>_<random>[_<n>]` and drops them at the end. When the server is
not reachable the PostgreSQL tests are skipped, unless $CI is set: then they fail.

- `make_database_url(kind, tmp_path, name=...)`: the URL of a database of that kind (no I/O).
- `database_factory` (session): `await database_factory.create(kind)` makes an empty database, returns its URL.
- `empty_database_url` (per test, both kinds): a brand-new empty database, for migration tests.
- `db` (per test, both kinds): a migrated `Database` shared by the session, emptied after each test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final, Literal

import asyncpg
import pytest
from sqlalchemy import make_url

from store.db import Database
from store.models import Base

DatabaseKind = Literal["sqlite", "postgres"]

POSTGRES_SERVER_URL: Final = os.environ.get(
    "HISGRAPH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
DATABASE_KINDS: Final = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def make_database_url(kind: DatabaseKind, tmp_path: Path, *, name: str = "hisgraph") -> str:
    """The SQLAlchemy URL of database `name` of this kind: a file under tmp_path, or one on the test server."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}"
    return make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)


class DatabaseFactory:
    """Creates empty databases for one test session and drops the PostgreSQL ones at its end."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._prefix = f"hisgraph_test_{os.getpid()}_{secrets.token_hex(4)}"
        self._count = 0
        self._postgres_databases: list[str] = []
        self._postgres_error: str | None = None
        self._postgres_checked = False

    async def create(self, kind: DatabaseKind) -> str:
        """A new, empty database of this kind; skips (fails under CI) when PostgreSQL is unreachable."""
        name = f"{self._prefix}_{self._count}" if self._count else self._prefix
        if kind == "postgres":
            await self._require_postgres()
            connection = await _connect_to_server()
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()
            self._postgres_databases.append(name)
        self._count += 1
        return make_database_url(kind, self._tmp_path, name=name)

    async def drop_all(self) -> None:
        """Drop every PostgreSQL database this factory created (SQLite files go with tmp_path)."""
        if not self._postgres_databases:
            return
        connection = await _connect_to_server()
        try:
            for name in self._postgres_databases:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    async def _require_postgres(self) -> None:
        if not self._postgres_checked:
            self._postgres_checked = True
            try:
                await (await _connect_to_server()).close()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                self._postgres_error = f"PostgreSQL is not reachable at {POSTGRES_SERVER_URL}: {error!r}"
        if self._postgres_error is not None:
            if os.environ.get("CI"):
                pytest.fail(f"{self._postgres_error} (CI is set, so PostgreSQL tests must run)")
            pytest.skip(self._postgres_error)


async def _connect_to_server() -> asyncpg.Connection:
    url = make_url(POSTGRES_SERVER_URL).set(drivername="postgresql")
    return await asyncpg.connect(url.render_as_string(hide_password=False), timeout=5)


@pytest.fixture(scope="session")
async def database_factory(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    await factory.drop_all()


@pytest.fixture(params=DATABASE_KINDS)
async def empty_database_url(request: pytest.FixtureRequest, database_factory: DatabaseFactory) -> str:
    kind: DatabaseKind = request.param
    return await database_factory.create(kind)


@pytest.fixture(scope="session", params=DATABASE_KINDS)
async def migrated_database(
    request: pytest.FixtureRequest, database_factory: DatabaseFactory
) -> AsyncIterator[Database]:
    kind: DatabaseKind = request.param
    database = Database(await database_factory.create(kind))
    await database.migrate()
    yield database
    await database.dispose()


@pytest.fixture
async def db(migrated_database: Database) -> AsyncIterator[Database]:
    yield migrated_database
    async with migrated_database.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(table.delete())
