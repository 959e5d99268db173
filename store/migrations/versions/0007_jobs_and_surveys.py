"""job runs (the scheduled jobs' lock and record) and satisfaction survey answers (chapters 11, 12, 19, 22)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", _id(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("task", sa.String(length=16), nullable=False),
        sa.Column("scheduled_for", _when(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("instance", sa.String(length=128), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("heartbeat_at", _when(), nullable=False),
        sa.Column("finished_at", _when(), nullable=True),
        sa.Column("hospitals", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("job", "scheduled_for", name="uq_job_runs_slot"),
    )
    op.create_index(op.f("ix_job_runs_state"), "job_runs", ["state"])
    op.create_table(
        "survey_answers",
        sa.Column("id", _id(), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("questionnaire_type", sa.String(length=8), nullable=False),
        sa.Column("visit_key", sa.String(length=128), nullable=False),
        sa.Column("dept_code", sa.String(length=64), nullable=True),
        sa.Column("dept_name", sa.String(length=128), nullable=True),
        sa.Column("doctor_code", sa.String(length=64), nullable=True),
        sa.Column("doctor_name", sa.String(length=64), nullable=True),
        sa.Column("visited_time", sa.String(length=19), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("submitted_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("hospital_id", "questionnaire_type", "visit_key", name="uq_survey_answers_visit"),
    )
    op.create_index(op.f("ix_survey_answers_hospital_id"), "survey_answers", ["hospital_id"])
    op.create_index(op.f("ix_survey_answers_submitted_at"), "survey_answers", ["submitted_at"])


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("job_runs")
