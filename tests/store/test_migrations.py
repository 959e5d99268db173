"""The migrations build exactly the models' schema, on SQLite and PostgreSQL, and re-running them is harmless."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from store.db import Database, alembic_config
from store.models import Base


def _schema_diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
    diffs: list[Any] = compare_metadata(context, Base.metadata)
    return diffs


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_upgrade_head_builds_exactly_the_models(empty_database_url: str) -> None:
    async with Database(empty_database_url) as db:
        await db.migrate()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_schema_diffs) == []
            assert await connection.run_sync(_table_names) == {*Base.metadata.tables, "alembic_version"}


async def test_migrating_twice_is_a_no_op(empty_database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    async with Database(empty_database_url) as db:
        await db.migrate()
        await db.migrate()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_current_revision) == head
            assert await connection.run_sync(_schema_diffs) == []


async def test_concurrent_migrations_queue_up(empty_database_url: str) -> None:
    """Several instances starting at once all migrate; one does the work, the others find it done.

    Real processes (`hisgraph migrate`), as instances are: in one process, migrations also take turns
    before they reach the database (the next test), which would hide the database's own queue.
    """
    root = Path(__file__).resolve().parents[2]
    command_line = [sys.executable, "-m", "api.cli", "migrate", "--database-url", empty_database_url]
    processes = [
        await asyncio.create_subprocess_exec(
            *command_line, cwd=root, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        for _ in range(3)
    ]
    outputs = await asyncio.gather(*(process.communicate() for process in processes))
    for process, (output, _) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output.decode(errors="replace")[-3000:]
        assert b"migrations applied" in output
    async with Database(empty_database_url) as db, db.engine.connect() as connection:
        assert await connection.run_sync(_schema_diffs) == []


async def test_migrations_of_several_databases_in_one_process_do_not_interleave(tmp_path: Path) -> None:
    """Alembic's `context` and `op` are module globals: two databases migrated at once in one event loop take turns.

    Interleaved, each run's steps went to the other's database ("table already exists", KeyError 'script').
    """
    databases = [Database(f"sqlite+aiosqlite:///{tmp_path / f'db{n}.sqlite3'}") for n in range(3)]
    try:
        await _migrate_together(databases)
        for db in databases:
            async with db.engine.connect() as connection:
                assert await connection.run_sync(_schema_diffs) == []
                assert await connection.run_sync(_table_names) == {*Base.metadata.tables, "alembic_version"}
    finally:
        for db in databases:
            await db.dispose()


async def _migrate_together(databases: list[Database]) -> None:
    # A task group, not gather: should one fail, the others are cancelled and awaited here, not left
    # migrating into the next test.
    async with asyncio.TaskGroup() as group:
        for db in databases:
            group.create_task(db.migrate())


async def test_downgrade_to_base_removes_every_table(empty_database_url: str) -> None:
    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    async with Database(empty_database_url) as db:
        await db.migrate()
        async with db.migration_connection() as connection:
            await connection.run_sync(downgrade)
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_table_names) == {"alembic_version"}


async def test_command_line_path_opens_its_own_database(empty_database_url: str) -> None:
    """`alembic -c store/alembic.ini upgrade head` (no connection handed over) migrates the URL it is given."""
    # env.py runs its own event loop on that path, as the alembic command line does: keep it off ours.
    await asyncio.to_thread(command.upgrade, alembic_config(empty_database_url), "head")
    async with Database(empty_database_url) as db, db.engine.connect() as connection:
        assert await connection.run_sync(_schema_diffs) == []
