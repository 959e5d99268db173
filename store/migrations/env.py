"""Alembic environment of the store.

Two ways in: `Database.migrate()` hands over a connection already inside a locked transaction
(`config.attributes["connection"]`) and we run on it; the `alembic` command line hands over nothing, so
we open our own `Database` on the URL from `-x url=...`, else $HISGRAPH_DATABASE_URL, else alembic.ini.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from store.db import Database
from store.models import Base, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions must not import the models they predate: spell the custom column type in plain SQLAlchemy.
    if type_ == "type" and isinstance(item, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**options: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
        **options,
    )


def _run_on(connection: Connection) -> None:
    # SQLite alters tables by copying them; batch mode lets the same op.alter_column work on both.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("HISGRAPH_DATABASE_URL")
    return url or config.get_main_option("sqlalchemy.url") or ""


async def _run_with_own_database(url: str) -> None:
    database = Database(url)
    try:
        async with database.migration_connection() as connection:
            await connection.run_sync(_run_on)
    finally:
        await database.dispose()


def _main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    # Only the command line configures logging: inside the app it would replace the app's own logging.
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_with_own_database(_url()))


_main()
