"""accounts: patients' accounts and proven cards, operators, one-time codes, shim nonces (issue 4)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", _id(), nullable=False),
        sa.Column("openid", sa.String(length=128), nullable=False),
        sa.Column("unionid", sa.String(length=128), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("openid", name=op.f("uq_accounts_openid")),
    )
    op.create_index(op.f("ix_accounts_unionid"), "accounts", ["unionid"])
    op.create_table(
        "account_cards",
        sa.Column("id", _id(), nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("medical_card_number", sa.String(length=64), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=True),
        sa.Column("relation", sa.String(length=8), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("physical_card_number", sa.String(length=64), nullable=True),
        sa.Column("id_card_number", sa.String(length=32), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_cards_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_cards")),
        sa.UniqueConstraint("account_id", "medical_card_number", name="uq_account_cards_account_card"),
    )
    op.create_index(op.f("ix_account_cards_account_id"), "account_cards", ["account_id"])
    op.create_index(op.f("ix_account_cards_medical_card_number"), "account_cards", ["medical_card_number"])
    op.create_index(op.f("ix_account_cards_physical_card_number"), "account_cards", ["physical_card_number"])
    op.create_table(
        "operators",
        sa.Column("id", _id(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "one_time_codes",
        sa.Column("id", _id(), nullable=False),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("purpose", sa.String(length=160), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("expires_at", _when(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", _when(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_one_time_codes_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_codes")),
    )
    op.create_index(op.f("ix_one_time_codes_account_id"), "one_time_codes", ["account_id"])
    op.create_table(
        "shim_nonces",
        sa.Column("id", _id(), nullable=False),
        sa.Column("hospital_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("seen_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shim_nonces")),
        sa.UniqueConstraint("hospital_id", "nonce", name="uq_shim_nonces_hospital_nonce"),
    )
    op.create_index(op.f("ix_shim_nonces_seen_at"), "shim_nonces", ["seen_at"])


def downgrade() -> None:
    op.drop_table("shim_nonces")
    op.drop_table("one_time_codes")
    op.drop_table("operators")
    op.drop_table("account_cards")
    op.drop_table("accounts")
