"""account cards' relation in 附五 codes: "self" for the holder's own card, 01-05 for family (issue 11 item 1)

The platform's own scheme ("0" the holder, "1" parent, "2" child, "3" spouse, "4" other) is gone. "0" becomes
"self"; 1-4 become 05 其他, since "parent" cannot tell 01 父亲 from 02 母亲 (nor "child" 03 儿子 from 04 女儿).
Downgrade maps back as closely as the old scheme allows (01/02 -> 1, 03/04 -> 2, 05 -> 4).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE account_cards SET relation = CASE"
        " WHEN relation = '0' THEN 'self'"
        " WHEN relation IN ('1', '2', '3', '4') THEN '05'"
        " ELSE relation END"
        " WHERE relation IN ('0', '1', '2', '3', '4')"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE account_cards SET relation = CASE"
        " WHEN relation = 'self' THEN '0'"
        " WHEN relation IN ('01', '02') THEN '1'"
        " WHEN relation IN ('03', '04') THEN '2'"
        " ELSE '4' END"
    )
