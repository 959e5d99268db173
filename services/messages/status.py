"""Delivery state for operators: which messages went out, which wait, which never will (and why not).

Only what a dashboard needs: never the payload (names, ID numbers), and the card number masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.db import Database
from store.messages import MessageDeliveries, OutboundMessage


def mask_card_number(card: str | None) -> str | None:
    """``001000056254587`` -> ``0010*******4587``: enough to tell cards apart, not to use one."""
    if not card:
        return card
    if len(card) <= 8:
        return card[:1] + "*" * (len(card) - 1)
    return card[:4] + "*" * (len(card) - 8) + card[-4:]


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One queued message as operators see it."""

    id: int
    kind: str
    hospital_id: str
    state: str
    attempts: int
    masked_card_number: str | None
    dedupe_key: str
    inbound_call_id: int | None
    queued_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: OutboundMessage) -> DeliveryRecord:
        return cls(
            id=row.id,
            kind=row.kind,
            hospital_id=row.hospital_id,
            state=row.state,
            attempts=row.attempts,
            masked_card_number=mask_card_number(row.medical_card_number),
            dedupe_key=row.dedupe_key,
            inbound_call_id=row.inbound_call_id,
            queued_at=row.created_at,
            updated_at=row.updated_at,
        )


async def list_deliveries(
    db: Database, *, hospital_ids: list[str] | None, state: str | None = None, limit: int = 50
) -> list[DeliveryRecord]:
    """Messages newest first (``hospital_ids`` None: every hospital's), optionally in one state."""
    async with db.session() as session:
        rows = await MessageDeliveries(session).recent(hospital_ids=hospital_ids, state=state, limit=limit)
        return [DeliveryRecord.from_row(row) for row in rows]


async def count_deliveries(db: Database, *, hospital_ids: list[str] | None) -> dict[str, int]:
    """How many messages stand in each state."""
    async with db.session() as session:
        return await MessageDeliveries(session).count_by_state(hospital_ids=hospital_ids)
