"""createHealthCard: the platform issues an e-health card and the hospital files it (1.2.1)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from his_clients.errors import HisError
from services.identity.accounts import IdentityRefused, Newborn
from services.refusals import RefusalCode, Refused

from ...arguments import OneHospital
from ...context import Info
from ...errors import refused_by_hospital
from ...refusal import Refusal
from ...values import Sex
from ..types import CardResult, Relation
from .common import card_type, signed_in_account


def mobile_phone(phone: str) -> str:
    """An 11-digit mainland mobile number, or a PARAMETER_FORMAT (20003) refusal naming ``phone``."""
    text = phone.strip()
    if not (len(text) == 11 and text.isdigit() and text.startswith("1")):
        raise Refused(RefusalCode.PARAMETER_FORMAT, "手机号须为11位手机号码。", field="phone")
    return text


@strawberry.type
class HealthCardCreateMutation:
    @strawberry.mutation(
        description=(
            "Issue an e-health card (办理电子健康卡, 1.2.1) for the account holder or a family member: the platform "
            "chooses the number, the hospital files the card, and the account holds it. Refusal: PARAMETER_FORMAT "
            "(field phone), CARD_NOT_FOUND_20215 when the mother's ID number is not proven, THROTTLED after too "
            "many cards today, or the hospital's code."
        )
    )
    async def create_health_card(
        self,
        info: Info,
        hospital_id: OneHospital,
        name: Annotated[str, strawberry.argument(description="The card holder's name.")],
        sex: Annotated[Sex, strawberry.argument(description="The card holder's sex.")],
        birth_date: Annotated[date, strawberry.argument(description="Date of birth (yyyy-MM-dd).")],
        phone: Annotated[str, strawberry.argument(description="Mobile number, 11 digits.")],
        id_card_number: Annotated[
            str | None, strawberry.argument(description="ID number (附七 type 01); may be empty for a newborn.")
        ] = None,
        address: Annotated[str | None, strawberry.argument(description="Address.")] = None,
        newborn_mother_id_card_number: Annotated[
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
    ) -> CardResult:
        account_id = signed_in_account(info)
        try:
            card = await info.context.services.accounts.create_card(
                account_id=account_id,
                hospital_id=str(hospital_id).strip(),
                name=name.strip(),
                gender=sex.gender_code,
                birthdate=birth_date,
                phone=mobile_phone(phone),
                id_number=(id_card_number or "").strip().upper() or None,
                address=address,
                relation=relation.stored,
                newborn=(
                    Newborn(mother_id_number=newborn_mother_id_card_number, birth_order=newborn_birth_order or "1")
                    if newborn_mother_id_card_number
                    else None
                ),
                deadline=info.context.deadline,
            )
        except (IdentityRefused, Refused) as refused:
            return Refusal.of(refused)
        except HisError as failure:
            return Refusal.of(refused_by_hospital(failure))
        return card_type(card)
