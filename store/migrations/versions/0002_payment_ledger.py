"""payment ledger: orders, their state changes, refunds and the outbox (issue 5)

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-26
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _money() -> sa.types.TypeEngine[Any]:
    # NUMERIC(12, 2) on PostgreSQL; exact text on SQLite, whose NUMERIC would turn amounts into floats.
    return sa.Numeric(precision=12, scale=2).with_variant(sa.String(length=24), "sqlite")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", _id(), nullable=False),
        sa.Column("out_trade_no", sa.String(length=32), nullable=False),
        sa.Column("business_type", sa.String(length=16), nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("hospital_id", sa.String(length=32), nullable=False),
        sa.Column("medical_card_number", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=128), nullable=False),
        sa.Column("total_amount", _money(), nullable=False),
        sa.Column("discount_amount", _money(), nullable=False),
        sa.Column("balance_payment", _money(), nullable=False),
        sa.Column("unified_pay_amount", _money(), nullable=False),
        sa.Column("unified_pay_trade_no", sa.String(length=64), nullable=True),
        sa.Column("online_amount", _money(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("quote", sa.JSON(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("prepay_id", sa.String(length=128), nullable=True),
        sa.Column("transaction_id", sa.String(length=64), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("his_serial", sa.String(length=64), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "total_amount >= 0 AND balance_payment >= 0 AND unified_pay_amount >= 0 AND online_amount >= 0",
            name=op.f("ck_orders_amounts_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("out_trade_no", name=op.f("uq_orders_out_trade_no")),
    )
    op.create_index(op.f("ix_orders_hospital_id"), "orders", ["hospital_id"], unique=False)
    op.create_index(op.f("ix_orders_medical_card_number"), "orders", ["medical_card_number"], unique=False)
    op.create_index(op.f("ix_orders_state"), "orders", ["state"], unique=False)

    op.create_table(
        "order_events",
        sa.Column("id", _id(), nullable=False),
        sa.Column("order_id", _id(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index(op.f("ix_order_events_order_id"), "order_events", ["order_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", _id(), nullable=False),
        sa.Column("out_refund_no", sa.String(length=64), nullable=False),
        sa.Column("order_id", _id(), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=64), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("out_refund_no", name=op.f("uq_refunds_out_refund_no")),
    )
    op.create_index(op.f("ix_refunds_order_id"), "refunds", ["order_id"], unique=False)

    op.create_table(
        "outbox_jobs",
        sa.Column("id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("order_id", _id(), nullable=True),
        sa.Column("refund_id", _id(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_outbox_jobs_order_id_orders")),
        sa.ForeignKeyConstraint(["refund_id"], ["refunds.id"], name=op.f("fk_outbox_jobs_refund_id_refunds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_jobs")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_jobs_dedupe_key")),
    )
    op.create_index(op.f("ix_outbox_jobs_due_at"), "outbox_jobs", ["due_at"], unique=False)
    op.create_index(op.f("ix_outbox_jobs_order_id"), "outbox_jobs", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_jobs_order_id"), table_name="outbox_jobs")
    op.drop_index(op.f("ix_outbox_jobs_due_at"), table_name="outbox_jobs")
    op.drop_table("outbox_jobs")
    op.drop_index(op.f("ix_refunds_order_id"), table_name="refunds")
    op.drop_table("refunds")
    op.drop_index(op.f("ix_order_events_order_id"), table_name="order_events")
    op.drop_table("order_events")
    op.drop_index(op.f("ix_orders_state"), table_name="orders")
    op.drop_index(op.f("ix_orders_medical_card_number"), table_name="orders")
    op.drop_index(op.f("ix_orders_hospital_id"), table_name="orders")
    op.drop_table("orders")
