"""Migration 0010: the platform's own 0-4 relation scheme becomes "self" and 附五 codes (issue 11 item 1)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, text

from store.db import Database, alembic_config

OLD = {"c0": "0", "c1": "1", "c2": "2", "c3": "3", "c4": "4"}


async def test_0010_converts_stored_relations_both_ways(empty_database_url: str) -> None:
    """issue 11 item 1: "0" becomes "self" and 1-4 become 05 其他 (the old scheme cannot tell father from
    mother); a downgrade gives the nearest old code back. On SQLite and PostgreSQL."""

    def downgrade_to_0009(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")

    async with Database(empty_database_url) as db:
        await db.migrate("0009")
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO accounts (id, openid, created_at, updated_at) "
                    "VALUES (1, 'o', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            for card, relation in OLD.items():
                await connection.execute(
                    text(
                        "INSERT INTO account_cards (account_id, medical_card_number, relation, how, "
                        "created_at, updated_at) VALUES (1, :card, :relation, 'bound', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"card": card, "relation": relation},
                )
        await db.migrate()
        async with db.engine.connect() as connection:
            rows: dict[str, str] = dict(
                (await connection.execute(text("SELECT medical_card_number, relation FROM account_cards"))).all()
            )
        assert rows == {"c0": "self", "c1": "05", "c2": "05", "c3": "05", "c4": "05"}
        async with db.migration_connection() as connection:
            await connection.run_sync(downgrade_to_0009)
        async with db.engine.connect() as connection:
            rows = dict(
                (await connection.execute(text("SELECT medical_card_number, relation FROM account_cards"))).all()
            )
        assert rows == {"c0": "0", "c1": "4", "c2": "4", "c3": "4", "c4": "4"}
