"""inbound ledger: every shim call, and the outbox of messages to patients (issue 6)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbound_calls",
        sa.Column("id", _id(), nullable=False),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=True),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("duplicate_of", _id(), nullable=True),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("reply_code", sa.String(length=8), nullable=False),
        sa.Column("reply", sa.JSON(), nullable=False),
        sa.Column("received_at", _when(), nullable=False),
        sa.Column("answered_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["inbound_calls.id"], name=op.f("fk_inbound_calls_duplicate_of_inbound_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_calls")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_inbound_calls_dedupe_key")),
    )
    op.create_index(op.f("ix_inbound_calls_path"), "inbound_calls", ["path"])
    op.create_index(op.f("ix_inbound_calls_hospital_id"), "inbound_calls", ["hospital_id"])
    op.create_index(op.f("ix_inbound_calls_received_at"), "inbound_calls", ["received_at"])
    op.create_table(
        "outbound_messages",
        sa.Column("id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("medical_card_number", sa.String(length=64), nullable=True),
        sa.Column("id_card_number", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("inbound_call_id", _id(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_call_id"], ["inbound_calls.id"], name=op.f("fk_outbound_messages_inbound_call_id_inbound_calls")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbound_messages_dedupe_key")),
    )
    op.create_index(op.f("ix_outbound_messages_hospital_id"), "outbound_messages", ["hospital_id"])
    op.create_index(op.f("ix_outbound_messages_medical_card_number"), "outbound_messages", ["medical_card_number"])
    op.create_index(op.f("ix_outbound_messages_state"), "outbound_messages", ["state"])
    op.create_index(op.f("ix_outbound_messages_inbound_call_id"), "outbound_messages", ["inbound_call_id"])


def downgrade() -> None:
    op.drop_table("outbound_messages")
    op.drop_table("inbound_calls")
