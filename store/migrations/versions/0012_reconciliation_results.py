"""the stored daily reconciliation (issue 15 item 4): results per hospital and day, and their mismatches

- ``reconciliation_results``: the latest three-way check of one hospital's Beijing day: its status (CLEAN,
  MISMATCHES, NOT_CHECKED), who ran it and when, why a side could not be read, its totals and lines (JSON).
- ``reconciliation_mismatches``: the mismatches of the latest check of each day (no hospital: a provider line of
  no known order), with who acknowledged each, when, and their note.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reconciliation_results",
        sa.Column("id", _id(), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("checked_at", _when(), nullable=False),
        sa.Column("checked_by", sa.String(length=64), nullable=False),
        sa.Column("operator_id", _id(), nullable=True),
        sa.Column("not_checked_reason", sa.String(length=300), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_results")),
        sa.UniqueConstraint("hospital_id", "day", name="uq_reconciliation_results_hospital_day"),
    )
    op.create_index(op.f("ix_reconciliation_results_day"), "reconciliation_results", ["day"])
    op.create_table(
        "reconciliation_mismatches",
        sa.Column("id", _id(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("out_trade_no", sa.String(length=64), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=True),
        sa.Column("ledger_amount", sa.String(length=24), nullable=True),
        sa.Column("provider_amount", sa.String(length=24), nullable=True),
        sa.Column("hospital_amount", sa.String(length=24), nullable=True),
        sa.Column("ledger_state", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("found_at", _when(), nullable=False),
        sa.Column("acknowledged_at", _when(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_note", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_mismatches")),
    )
    op.create_index("ix_reconciliation_mismatches_day_hospital", "reconciliation_mismatches", ["day", "hospital_id"])


def downgrade() -> None:
    op.drop_index("ix_reconciliation_mismatches_day_hospital", table_name="reconciliation_mismatches")
    op.drop_table("reconciliation_mismatches")
    op.drop_index(op.f("ix_reconciliation_results_day"), table_name="reconciliation_results")
    op.drop_table("reconciliation_results")
