"""official followers (unionid -> the official account's openid) and shared tokens (issue 6)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "official_followers",
        sa.Column("id", _id(), nullable=False),
        sa.Column("unionid", sa.String(length=128), nullable=False),
        sa.Column("openid", sa.String(length=128), nullable=False),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("last_interaction_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_followers")),
        sa.UniqueConstraint("unionid", name=op.f("uq_official_followers_unionid")),
        sa.UniqueConstraint("openid", name=op.f("uq_official_followers_openid")),
    )
    op.create_table(
        "shared_tokens",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_shared_tokens")),
    )


def downgrade() -> None:
    op.drop_table("shared_tokens")
    op.drop_table("official_followers")
