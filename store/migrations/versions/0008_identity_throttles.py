"""throttles (SMS codes per card and phone, logins per username and address); typed ID numbers unproven (issue 10)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "throttles",
        sa.Column("id", _id(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", _when(), nullable=False),
        sa.Column("last_at", _when(), nullable=False),
        sa.Column("locked_until", _when(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttles")),
        sa.UniqueConstraint("scope", "key", name="uq_throttles_scope_key"),
    )
    # Until now a created card recorded the ID number its creator TYPED as proven (issue 10 item 1): no
    # created card was vouched for by real-name verification, so none of those ID numbers is proof.
    op.execute("UPDATE account_cards SET id_card_number = NULL WHERE how = 'created'")


def downgrade() -> None:
    op.drop_table("throttles")
