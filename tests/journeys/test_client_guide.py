"""docs/client-guide.md quotes every journey operation exactly as tests/journeys/operations/*.graphql holds it
(the operations the journeys test sends), so the guide cannot drift from what works (issue 12, done-when)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = sorted((ROOT / "tests" / "journeys" / "operations").glob("*.graphql"))


def test_every_journey_has_operations() -> None:
    assert {p.stem for p in OPERATIONS} >= {
        "identity",
        "home",
        "bills",
        "orders",
        "registration",
        "reports",
        "inpatient",
    }


@pytest.mark.parametrize("operations", OPERATIONS, ids=lambda p: p.stem)
def test_the_guide_quotes_the_operations_the_journeys_send(operations: Path) -> None:
    guide = (ROOT / "docs" / "client-guide.md").read_text(encoding="utf-8")
    quoted = "```graphql\n" + operations.read_text(encoding="utf-8").rstrip("\n") + "\n```"
    assert quoted in guide, f"docs/client-guide.md does not quote {operations.name} as it is"
