"""The caregiver's details a pass carries, shared by creating (37.1.3) and updating (37.1.2) a pass."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from his_clients.codes import ReturnCode
from services.payments.clock import CHINA_TIME

from ...results import InputRefused, Sex, beijing, id_number, optional, phone_number, required, spec_instant

FROM_THE_PHONE = "3"
"""infoSource 3 百灵手机端维护: passes written through the graph come from the patient's phone."""


@strawberry.input(
    description="The caregiver (陪护人) an electronic caregiver pass (电子陪护证) is for (37.1.2, 37.1.3)."
)
class CaregiverDetailsInput:
    name: str = strawberry.field(description="The caregiver's name (陪护人姓名).")
    id_card_number: str = strawberry.field(description="The caregiver's resident ID number (陪护人身份证号).")
    phone: str = strawberry.field(description="The caregiver's mobile number, 11 digits (手机号).")
    sex: Sex = strawberry.field(description="The caregiver's sex (性别).")
    relationship: str = strawberry.field(description="Relationship to the patient, e.g. 父子 (relationShip, 关系).")
    valid_until: datetime = strawberry.field(
        description=(
            "When the pass expires (termOfValidity, 有效期); not in the past. Without an offset it is Beijing time."
        )
    )
    address: str | None = strawberry.field(default=None, description="The caregiver's address (陪护人地址).")
    age: int | None = strawberry.field(
        default=None, description="The caregiver's age in whole years, 0-150 (age; the spec's table says 患者年龄)."
    )


def caregiver_parameters(details: CaregiverDetailsInput) -> dict[str, Any]:
    """The request fields 37.1.2 and 37.1.3 share, checked; raises InputRefused."""
    if beijing(details.valid_until) < datetime.now(UTC).astimezone(CHINA_TIME):
        raise InputRefused("caregiver.validUntil", ReturnCode.PARAMETER_RANGE, "有效期不能早于当前时间。")
    if details.age is not None and not 0 <= details.age <= 150:
        raise InputRefused("caregiver.age", ReturnCode.PARAMETER_RANGE, "年龄应为0到150之间的整数。")
    return {
        "name": required("caregiver.name", details.name),
        "id_card": id_number("caregiver.idCardNumber", details.id_card_number),
        "phone": phone_number("caregiver.phone", details.phone),
        "sex": details.sex.value,
        "relation_ship": required("caregiver.relationship", details.relationship),
        "term_of_validity": spec_instant(details.valid_until),
        "address": optional(details.address),
        "age": None if details.age is None else str(details.age),
        "info_source": FROM_THE_PHONE,
    }
