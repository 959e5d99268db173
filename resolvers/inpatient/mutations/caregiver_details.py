"""The caregiver's details a pass carries, shared by creating (37.1.3) and updating (37.1.2) a pass."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry

from his_clients.codes import ReturnCode
from services.payments.clock import spec_time

from ...results import InputRefused, Sex, date_time, id_number, optional, phone_number, required

FROM_THE_PHONE = "3"
"""infoSource 3 百灵手机端维护: passes written through the graph come from the patient's phone."""


@strawberry.input(
    description="The caregiver (陪护人) an electronic caregiver pass (电子陪护证) is for (37.1.2, 37.1.3)."
)
class CaregiverDetailsInput:
    name: str = strawberry.field(description="The caregiver's name (陪护人姓名).")
    id_card: str = strawberry.field(description="The caregiver's resident ID number (陪护人身份证号).")
    phone: str = strawberry.field(description="The caregiver's mobile number, 11 digits (手机号).")
    sex: Sex = strawberry.field(description="The caregiver's sex (性别).")
    relationship: str = strawberry.field(description="Relationship to the patient, e.g. 父子 (relationShip, 关系).")
    valid_until: str = strawberry.field(
        description="When the pass expires, yyyy-MM-dd HH:mm:ss (termOfValidity, 有效期); not in the past."
    )
    address: str | None = strawberry.field(default=None, description="The caregiver's address (陪护人地址).")
    age: str | None = strawberry.field(
        default=None, description="Age, as the hospital asks for it (age; the spec's table says 患者年龄)."
    )


def caregiver_parameters(details: CaregiverDetailsInput) -> dict[str, Any]:
    """The request fields 37.1.2 and 37.1.3 share, checked; raises InputRefused."""
    valid_until = date_time("caregiver.validUntil", details.valid_until)
    if valid_until < spec_time(datetime.now(UTC)):
        raise InputRefused("caregiver.validUntil", ReturnCode.PARAMETER_RANGE, "the pass would already have expired")
    age = optional(details.age)
    if age is not None and not (age.isdigit() and int(age) <= 150):
        raise InputRefused("caregiver.age", ReturnCode.PARAMETER_RANGE, "an age in whole years, 0-150")
    return {
        "name": required("caregiver.name", details.name),
        "id_card": id_number("caregiver.idCard", details.id_card),
        "phone": phone_number("caregiver.phone", details.phone),
        "sex": details.sex.value,
        "relation_ship": required("caregiver.relationship", details.relationship),
        "term_of_validity": valid_until,
        "address": optional(details.address),
        "age": age,
        "info_source": FROM_THE_PHONE,
    }
