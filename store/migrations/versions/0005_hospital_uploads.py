"""hospital uploads: what hospitals upload for appointment registration (21.1.1-21.1.6, issue 6)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hospital_uploads",
        sa.Column("id", _id(), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("natural_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("inbound_call_id", _id(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospital_uploads")),
        sa.UniqueConstraint("hospital_id", "kind", "natural_key", name="uq_hospital_uploads_identity"),
    )
    op.create_index(op.f("ix_hospital_uploads_hospital_id"), "hospital_uploads", ["hospital_id"])


def downgrade() -> None:
    op.drop_table("hospital_uploads")
