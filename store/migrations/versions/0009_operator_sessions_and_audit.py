"""operators' stored sessions, disabled / last login / password change times, and the append-only audit log (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("disabled_at", _when(), nullable=True))
        batch.add_column(sa.Column("last_login_at", _when(), nullable=True))
        batch.add_column(sa.Column("password_changed_at", _when(), nullable=True))
    op.create_table(
        "operator_sessions",
        sa.Column("id", _id(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("operator_id", _id(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("last_seen_at", _when(), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("ended_at", _when(), nullable=True),
        sa.Column("ended_why", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_sessions_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_operator_sessions_id_hash")),
    )
    op.create_index(op.f("ix_operator_sessions_operator_id"), "operator_sessions", ["operator_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", _id(), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("operator_id", _id(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=True),
        sa.Column("target", sa.String(length=160), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_username"), "audit_log", ["username"])
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    op.create_index(op.f("ix_audit_log_hospital_id"), "audit_log", ["hospital_id"])
    if op.get_bind().dialect.name == "postgresql":
        # Append-only where the database can enforce it: rows are never changed or removed.
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_operator_sessions_operator_id"), table_name="operator_sessions")
    op.drop_table("operator_sessions")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("last_login_at")
        batch.drop_column("disabled_at")
