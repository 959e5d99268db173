"""operators' console, second part (issue 15 items 6-9): statistics days, message errors, inbound replays, job scope

- ``statistics_days``: a hospital's chapter-30 figures for one past Beijing day, asked once and kept.
- ``outbound_messages``: ``last_error`` (why the last try failed) and ``sent_at``.
- ``inbound_calls``: the hospital a refused call claimed, the replay it is of and who replayed it, and an
  encrypted, short-lived copy of the original body (``sealed_body`` until ``sealed_until``).
- ``job_runs``: messages queued per hospital asked (``hospital_queued``), for a hospital operator's view.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "statistics_days",
        sa.Column("id", _id(), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("fetched_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statistics_days")),
        sa.UniqueConstraint("hospital_id", "day", name="uq_statistics_days_hospital_day"),
    )
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("last_error", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("sent_at", _when(), nullable=True))
    with op.batch_alter_table("inbound_calls") as batch:
        batch.add_column(sa.Column("claimed_hospital_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("replay_of", _id(), nullable=True))
        batch.add_column(sa.Column("replayed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sealed_body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sealed_until", _when(), nullable=True))
        batch.create_index(op.f("ix_inbound_calls_section"), ["section"])
        batch.create_index(op.f("ix_inbound_calls_reply_code"), ["reply_code"])
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("hospital_queued", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("hospital_queued")
    with op.batch_alter_table("inbound_calls") as batch:
        batch.drop_index(op.f("ix_inbound_calls_reply_code"))
        batch.drop_index(op.f("ix_inbound_calls_section"))
        batch.drop_column("sealed_until")
        batch.drop_column("sealed_body")
        batch.drop_column("replayed_by")
        batch.drop_column("replay_of")
        batch.drop_column("claimed_hospital_id")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("sent_at")
        batch.drop_column("last_error")
    op.drop_table("statistics_days")
