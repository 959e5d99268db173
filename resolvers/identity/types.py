"""GraphQL types of identity: sessions, the account and its cards (refusals are the one ``Refusal``)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from services.cards import get_patient_info
from services.identity.accounts import HOLDER
from services.masking import mask_name

from ..context import Info
from ..hospitals.types import Hospital
from ..operators.accounts import OperatorAccount
from ..patients.types import Patient
from ..payments.orders import After, First, OrderConnection, account_orders
from ..refusal import Refusal
from ..tasks import in_task
from ..values import Sex


@strawberry.type(description="A signed-in session. Send the token as `Authorization: Bearer <token>`.")
class Session:
    token: str = strawberry.field(description="The session token (signed; nothing secret inside).")
    expires_at: datetime = strawberry.field(description="When the token stops working (Beijing time, +08:00).")


@strawberry.enum(
    description=(
        "Whose card this is, seen from the account holder: SELF (the holder's own card; 附五 has no code for it) "
        "or a family member by the spec's 附五 亲属关系 code (01 父亲, 02 母亲, 03 儿子, 04 女儿, 05 其他)."
    )
)
class Relation(Enum):
    SELF = strawberry.enum_value(HOLDER, description="The account holder's own card.")
    FATHER = strawberry.enum_value("01", description="附五 01 父亲: the holder's father.")
    MOTHER = strawberry.enum_value("02", description="附五 02 母亲: the holder's mother.")
    SON = strawberry.enum_value("03", description="附五 03 儿子: the holder's son.")
    DAUGHTER = strawberry.enum_value("04", description="附五 04 女儿: the holder's daughter.")
    OTHER = strawberry.enum_value("05", description="附五 05 其他: another relation.")

    @property
    def stored(self) -> str:
        """What the store keeps (and 1.2.3-style calls would send): ``HOLDER`` or the 附五 code."""
        return str(self.value)

    @classmethod
    def of(cls, stored: str) -> Relation:
        """A stored relation (``HOLDER`` or a 附五 code); anything else reads as OTHER, never an error."""
        for member in cls:
            if member.stored == stored:
                return member
        return cls.OTHER


@strawberry.enum(description="How the account came to hold a card.")
class CardOrigin(Enum):
    CREATED = strawberry.enum_value("created", description="Issued by the platform (1.2.1 / 1.2.2 e-health card).")
    BOUND = strawberry.enum_value("bound", description="Bound from a physical card (2.1.1 + the SMS code, 2.1.2).")

    @classmethod
    def of(cls, stored: str) -> CardOrigin:
        """What the store keeps ("created" / "bound"); anything else reads as CREATED (the platform's own)."""
        return cls.BOUND if stored == "bound" else cls.CREATED


@strawberry.type(description="A card the account has proven it may use.")
class AccountCard:
    medical_card_number: str = strawberry.field(description="The card number to use in `patient(...)`.")
    hospital_id: strawberry.ID | None = strawberry.field(
        description="The hospital the card was bound at or filed with (see hospitals); null when none is recorded."
    )
    relation: Relation = strawberry.field(
        description="Whose card this is: SELF for the account holder's own, else the family member's 附五 relation."
    )
    origin: CardOrigin = strawberry.field(
        description="CREATED (issued by the platform) or BOUND (from a physical card)."
    )
    physical_card_number: str | None = strawberry.field(description="For a bound card: the physical card it came from.")

    @strawberry.field(description="The 附五 亲属关系 code (01-05) of a family member's card; null for SELF.")
    def relation_code(self) -> str | None:
        return None if self.relation is Relation.SELF else self.relation.stored

    @strawberry.field(
        description=(
            "The card holder's name, masked as the patient sees it (张三 -> 张*); null when the platform holds "
            "no record of the card."
        )
    )
    @in_task
    async def holder_name(self, info: Info) -> str | None:
        record = await get_patient_info(info.context.services.db, self.medical_card_number)
        return mask_name(record.name) if record is not None and record.name else None

    @strawberry.field(
        description="The card holder's sex, as the platform's record of the card has it; null when it holds none."
    )
    @in_task
    async def holder_sex(self, info: Info) -> Sex | None:
        record = await get_patient_info(info.context.services.db, self.medical_card_number)
        if record is None:
            return None
        return Sex.read(record.gender) or Sex.read(record.sex)

    @strawberry.field(
        description="The hospitals that know this card: where it was filed (created) or bound; ask these by hospitalId."
    )
    def hospitals(self, info: Info) -> list[Hospital]:
        found = info.context.registry.hospital(self.hospital_id) if self.hospital_id else None
        return [Hospital.from_registry(found)] if found is not None else []

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

    @strawberry.field(
        description=(
            "The orders paid (or begun) for the account's cards, newest first, a page at a time: pass the page's "
            "endCursor as `after` for the next. Each says what it paid for, its refunds, its state as the patient "
            "reads it (status), the registration it made and its electronic invoice. Empty for an operator."
        )
    )
    @in_task
    async def orders(self, info: Info, first: First = 20, after: After = None) -> OrderConnection:
        return await account_orders(info, first, after)


@strawberry.type(description="A code was sent to the phone number the hospital holds for this card.")
class CardBindingStarted:
    masked_phone: str = strawberry.field(description="That phone number, masked (138****1234).")


LogInResult = Annotated[
    Session | Refusal,
    strawberry.union(
        "LogInResult",
        description=(
            "A session, or why signing in was refused (each sign-in mutation names its codes: UNAUTHORIZED for a "
            "WeChat code WeChat refused, WRONG_PASSWORD for an operator's wrong username or password, THROTTLED)."
        ),
    ),
]
"""What every sign-in answers (logInWithWeChat, logInOperator): one union, not one per mutation."""

CardResult = Annotated[
    AccountCard | Refusal,
    strawberry.union(
        "CardResult",
        description=(
            "The card now held by the account, or why not (confirmCardBinding and createHealthCard name their codes)."
        ),
    ),
]
"""What a mutation that gives the account a card answers."""
