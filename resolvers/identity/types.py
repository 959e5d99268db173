"""GraphQL types of identity: sessions, the account, its cards, and the typed refusals of the card proofs."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ..operators.accounts import OperatorAccount
from ..patients.types import Patient


@strawberry.type(description="A signed-in session. Send the token as `Authorization: Bearer <token>`.")
class Session:
    token: str = strawberry.field(description="The session token (signed; nothing secret inside).")
    expires_at: datetime = strawberry.field(description="When the token stops working (UTC).")


@strawberry.type(description="A card the account has proven it may use.")
class AccountCard:
    medical_card_number: str = strawberry.field(description="The card number to use in `patient(...)`.")
    hospital_id: str | None = strawberry.field(description="The hospital of a bound physical card; null for e-cards.")
    relation: str = strawberry.field(
        description="附五 亲属关系: 0 the account holder, 1 parent, 2 child, 3 spouse, 4 other."
    )
    how: str = strawberry.field(description="created (issued by the platform) or bound (from a physical card).")
    physical_card_number: str | None = strawberry.field(description="For a bound card: the physical card it came from.")

    @strawberry.field(description="The patient behind this card.")
    def patient(self) -> Patient:
        return Patient(medical_card_number=self.medical_card_number)


@strawberry.type(description="Who is signed in: a patient's account (its cards), or an operator (operator).")
class Me:
    cards: list[AccountCard] = strawberry.field(
        description="Every card the account holds, its own and its family's; empty for an operator."
    )
    operator: OperatorAccount | None = strawberry.field(
        default=None, description="The signed-in operator's account (username, role, hospital); null for a patient."
    )


@strawberry.type(description="A code was sent to the phone number the hospital holds for this card.")
class CardBindingStarted:
    masked_phone: str = strawberry.field(description="That phone number, masked (138****1234).")


@strawberry.type(description="A card proof or login that did not check out; the reason is deliberately general.")
class IdentityRefusal:
    code: str = strawberry.field(description="附四 code: 20215 no such card (or no match), 20003 wrong/expired code.")
    message: str = strawberry.field(description="What went wrong, in words.")
