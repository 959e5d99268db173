"""Cards the hospitals issue and update through the platform (spec 1.3.2 genCard, 1.3.3 updateCard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from store.cards import HealthCardChanges, HealthCardRepository, generate_card_number
from store.db import Database
from store.inbound import InboundLedger

from .ledger import ShimCall, mask_json


@dataclass(frozen=True)
class NewCard:
    """What genCard asks for, checked (gender and birth date filled from the ID number when absent)."""

    name: str
    gender: str
    birthdate: date | None
    phone: str
    address: str | None = None
    id_card_number: str | None = None
    nation: str | None = None


@dataclass(frozen=True)
class IssuedCard:
    medical_card_number: str
    id_card_number: str | None
    qr_code: str
    reused: bool


async def issue_card(db: Database, call: ShimCall, card: NewCard) -> IssuedCard:
    """Issue a platform e-health card for a hospital's patient, recorded in the ledger in the same transaction.

    A patient with an ID number who already holds a platform card gets that card back rather than a second
    one, so a hospital retrying after a timeout does not split one patient over two cards. Without an ID
    number nothing identifies the patient, and every call issues a card.
    """
    assert call.hospital_id is not None
    async with db.session() as session:
        cards = HealthCardRepository(session)
        existing = await cards.find_by_id_card(card.id_card_number) if card.id_card_number else []
        if existing:
            found = existing[0]
            issued = IssuedCard(found.medical_card_number, found.id_card_number, found.qr_code, reused=True)
        else:
            number = await generate_card_number(session)
            added = await cards.add(
                medical_card_number=number,
                name=card.name,
                gender=card.gender,
                birthdate=card.birthdate,
                hospital_id=call.hospital_id,
                address=card.address,
                id_card_number=card.id_card_number,
                phone=card.phone,
                nation=card.nation,
            )
            issued = IssuedCard(added.medical_card_number, added.id_card_number, added.qr_code, reused=False)
        reply = {"medicalCardNumber": issued.medical_card_number, "idcard": issued.id_card_number or ""}
        await InboundLedger(session).add(
            section=call.section,
            path=call.path,
            hospital_id=call.hospital_id,
            body=mask_json(call.body),
            reply_code="10001",
            reply=mask_json({**reply, "reused": issued.reused}),
            received_at=call.received_at,
        )
    return issued


async def update_card(
    db: Database, call: ShimCall, medical_card_number: str, changes: HealthCardChanges, reply: dict[str, Any]
) -> bool:
    """Apply a hospital's edits to a platform card (1.3.3); False when it has no such card.

    A card issued for a hospital (genCard) may be updated only by that hospital; a card made in the app
    (no hospital) by any hospital the patient visits. Another hospital's card looks absent.
    """
    assert call.hospital_id is not None
    async with db.session() as session:
        cards = HealthCardRepository(session)
        card = await cards.get(medical_card_number)
        if card is None or (card.hospital_id is not None and card.hospital_id != call.hospital_id):
            return False
        await cards.update(medical_card_number, **changes)
        await InboundLedger(session).add(
            section=call.section,
            path=call.path,
            hospital_id=call.hospital_id,
            body=mask_json(call.body),
            reply_code=str(reply.get("code", "")),
            reply=mask_json(reply),
            received_at=call.received_at,
        )
    return True
