"""addCardContact: file a contact of a card at the hospital (1.2.3 添加联系人)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, get_args

import strawberry

from his_clients.codes import ReturnCode
from his_clients.models.base import NationCode
from his_clients.models.cards import CREATE_CARD_CONTACTS, CreateCardContactsRequest

from ...context import Info
from ...results import (
    InputRefused,
    Refusal,
    Sex,
    TargetHospital,
    his_write,
    id_number,
    phone_number,
    required,
    spec_day,
)
from ..types import Relation


@strawberry.input(description="A contact of the card holder (1.2.3 添加联系人).")
class CardContactInput:
    medical_card_number: str = strawberry.field(description="The holder's card (本人就诊卡号), one the account holds.")
    name: str = strawberry.field(description="The contact's name.")
    sex: Sex = strawberry.field(description="The contact's sex (gender).")
    birth_date: date = strawberry.field(description="The contact's date of birth (birthday).")
    address: str = strawberry.field(description="The contact's address.")
    id_card_number: str = strawberry.field(description="The contact's resident ID number (idcard, 身份证号).")
    phone: str = strawberry.field(description="The contact's mobile number.")
    nation: str = strawberry.field(description="附一 民族 code, 01 to 56, e.g. 01 for 汉族.")
    relation: Relation = strawberry.field(
        description=(
            "How the contact relates to the holder, sent as its 附五 亲属关系 code (FATHER 01, MOTHER 02, SON 03, "
            "DAUGHTER 04, OTHER 05); SELF is refused (20004): a contact is someone else."
        )
    )


@strawberry.type(description="The hospital filed the contact (1.2.3).")
class AddCardContactSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that filed it.")


AddCardContactResult = Annotated[
    AddCardContactSuccess | Refusal,
    strawberry.union(
        "AddCardContactResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


def _nation(value: str) -> str:
    if value.strip() not in NATIONS:
        raise InputRefused("nation", ReturnCode.PARAMETER_FORMAT, "民族代码应为附一民族字典中的代码（01至56）。")
    return value.strip()


def _relation(value: Relation) -> str:
    if value is Relation.SELF:
        raise InputRefused("relation", ReturnCode.PARAMETER_RANGE, "联系人不能是持卡人本人。")
    return value.stored


NATIONS: frozenset[str] = frozenset(get_args(NationCode))
"""附一 民族字典: 01 汉族 … 56 基诺族, and nothing else."""


@strawberry.type
class AddCardContactMutation:
    @strawberry.mutation(description="File a contact of the card holder at the hospital (1.2.3). Sent once.")
    async def add_card_contact(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CardContactInput, strawberry.argument(description="The contact.")],
    ) -> AddCardContactResult:
        return await his_write(
            info,
            method=CREATE_CARD_CONTACTS,
            hospital_id=hospital_id,
            request=lambda: CreateCardContactsRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                name=required("name", input.name),
                gender=input.sex.gender_code,
                birthday=spec_day(input.birth_date),
                address=required("address", input.address),
                id_card=id_number("idCardNumber", input.id_card_number),
                phone=phone_number("phone", input.phone),
                nation=_nation(input.nation),
                relation=_relation(input.relation),
            ),
            success=lambda hospital, _: AddCardContactSuccess(hospital_id=strawberry.ID(hospital)),
        )
