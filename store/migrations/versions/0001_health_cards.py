"""health cards: the platform's own e-health card records (spec 1.3.x)

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_cards",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("medical_card_number", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("birthdate", sa.Date(), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("id_card_number", sa.String(length=32), nullable=True),
        sa.Column("id_document_type", sa.String(length=2), server_default="01", nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("nation", sa.String(length=2), nullable=True),
        sa.Column("qr_code", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("gender IN ('1', '2')", name=op.f("ck_health_cards_gender")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_cards")),
        sa.UniqueConstraint("medical_card_number", name=op.f("uq_health_cards_medical_card_number")),
    )
    op.create_index(op.f("ix_health_cards_id_card_number"), "health_cards", ["id_card_number"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_health_cards_id_card_number"), table_name="health_cards")
    op.drop_table("health_cards")
