"""createHealthCard: the platform issues an e-health card and the hospital files it (1.2.1)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from his_clients.errors import HisError
from services.identity.accounts import IdentityRefused, Newborn

from ...context import Info
from ...errors import told_to_patient
from ..types import AccountCard, IdentityRefusal, Relation
from .common import card_type, signed_in_account


@strawberry.type
class HealthCardCreateMutation:
    @strawberry.mutation(
        description=(
            "Issue an e-health card (办理电子健康卡, 1.2.1) for the account holder or a family member: the platform "
            "chooses the number, the hospital files the card, and the account holds it."
        )
    )
    async def create_health_card(
        self,
        info: Info,
        hospital_id: Annotated[str, strawberry.argument(description="The hospital that files the card.")],
        name: Annotated[str, strawberry.argument(description="The card holder's name.")],
        gender: Annotated[str, strawberry.argument(description="性别代码: 1 male, 2 female.")],
        birthdate: Annotated[date, strawberry.argument(description="Date of birth (yyyy-MM-dd).")],
        phone: Annotated[str, strawberry.argument(description="Mobile number, 11 digits.")],
        id_card: Annotated[
            str | None, strawberry.argument(description="ID number (附七 type 01); may be empty for a newborn.")
        ] = None,
        address: Annotated[str | None, strawberry.argument(description="Address.")] = None,
        newborn_mother_id_card: Annotated[
            str | None,
            strawberry.argument(
                description="For a newborn's card (1.2.2): the mother's ID number, one this account has proven."
            ),
        ] = None,
        newborn_birth_order: Annotated[
            str | None, strawberry.argument(description="For a newborn's card: which birth (胎次), e.g. 1.")
        ] = None,
        relation: Annotated[
            Relation,
            strawberry.argument(
                description="Whose card: SELF (default) for the account holder's own, else the 附五 relation."
            ),
        ] = Relation.SELF,
    ) -> Annotated[
        AccountCard | IdentityRefusal, strawberry.union("HealthCardResult", description="The new card, or why not.")
    ]:
        account_id = signed_in_account(info)
        if gender not in ("1", "2"):
            return IdentityRefusal(code="20003", message="性别代码须为 1（男）或 2（女）: gender is 1 or 2")
        if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
            return IdentityRefusal(code="20003", message="手机号须为11位手机号码: phone is an 11-digit mobile number")
        try:
            card = await info.context.services.accounts.create_card(
                account_id=account_id,
                hospital_id=hospital_id.strip(),
                name=name.strip(),
                gender=gender,
                birthdate=birthdate,
                phone=phone,
                id_number=(id_card or "").strip().upper() or None,
                address=address,
                relation=relation.stored,
                newborn=(
                    Newborn(mother_id_number=newborn_mother_id_card, birth_order=newborn_birth_order or "1")
                    if newborn_mother_id_card
                    else None
                ),
                deadline=info.context.deadline,
            )
        except IdentityRefused as refused:
            return IdentityRefusal(code=refused.code, message=str(refused))
        except HisError as failure:
            return IdentityRefusal(code=failure.code, message=told_to_patient(failure))
        return card_type(card)
