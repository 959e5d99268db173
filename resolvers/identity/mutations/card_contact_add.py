"""addCardContact: file a contact of a card at the hospital (1.2.3 添加联系人)."""

from __future__ import annotations

from typing import Annotated, get_args

import strawberry

from his_clients.codes import ReturnCode
from his_clients.models.base import NationCode, RelationCode
from his_clients.models.cards import CREATE_CARD_CONTACTS, CreateCardContactsRequest

from ...context import Info
from ...results import (
    HisRefusal,
    HospitalUnavailable,
    InputRefused,
    InvalidInput,
    TargetHospital,
    calendar_date,
    his_write,
    id_number,
    phone_number,
    required,
)


@strawberry.input(description="A contact of the card holder (1.2.3 添加联系人).")
class CardContactInput:
    medical_card_number: str = strawberry.field(description="The holder's card (本人就诊卡号), one the account holds.")
    name: str = strawberry.field(description="The contact's name.")
    gender: str = strawberry.field(description="The contact's gender code: 1 male, 2 female.")
    birthdate: str = strawberry.field(description="The contact's date of birth, yyyy-MM-dd.")
    address: str = strawberry.field(description="The contact's address.")
    id_card: str = strawberry.field(description="The contact's ID number.")
    phone: str = strawberry.field(description="The contact's mobile number.")
    nation: str = strawberry.field(description="附一 民族 code, 01 to 56, e.g. 01 for 汉族.")
    relation: str = strawberry.field(
        description=(
            "附五 亲属关系 code, how the contact relates to the holder: 01 父亲 father, 02 母亲 mother, "
            "03 儿子 son, 04 女儿 daughter, 05 其他 other."
        )
    )


@strawberry.type(description="The hospital filed the contact (1.2.3).")
class CardContactAdded:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that filed it.")


def _code(field: str, value: str, allowed: frozenset[str]) -> str:
    if value.strip() not in allowed:
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "not a code of the spec's dictionary")
    return value.strip()


NATIONS: frozenset[str] = frozenset(get_args(NationCode))
"""附一 民族字典: 01 汉族 … 56 基诺族, and nothing else."""
RELATIONS: frozenset[str] = frozenset(get_args(RelationCode))
"""附五 亲属关系字典: 01 父亲, 02 母亲, 03 儿子, 04 女儿, 05 其他."""


@strawberry.type
class CardContactAddMutation:
    @strawberry.mutation(description="File a contact of the card holder at the hospital (1.2.3). Sent once.")
    async def add_card_contact(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CardContactInput, strawberry.argument(description="The contact.")],
    ) -> Annotated[
        CardContactAdded | HisRefusal | HospitalUnavailable | InvalidInput,
        strawberry.union("CardContactAddResult", description="Filed, or the hospital's refusal, or why not."),
    ]:
        return await his_write(
            info,
            method=CREATE_CARD_CONTACTS,
            hospital_id=hospital_id,
            request=lambda: CreateCardContactsRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                name=required("name", input.name),
                gender=_code("gender", input.gender, frozenset({"1", "2"})),
                birthday=calendar_date("birthdate", input.birthdate),
                address=required("address", input.address),
                id_card=id_number("idCard", input.id_card),
                phone=phone_number("phone", input.phone),
                nation=_code("nation", input.nation, NATIONS),
                relation=_code("relation", input.relation, RELATIONS),
            ),
            success=lambda hospital, _: CardContactAdded(hospital_id=strawberry.ID(hospital)),
        )
