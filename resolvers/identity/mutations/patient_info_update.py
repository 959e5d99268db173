"""updatePatientInfo: the holder corrects their details in the hospital's records (1.2.4 修改院内患者信息)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.cards import UPDATE_HIS_PATIENT_INFO, PatientAddress, UpdateHisPatientInfoRequest

from ...context import Info
from ...results import (
    HisRefusal,
    HospitalUnavailable,
    InvalidInput,
    TargetHospital,
    calendar_date,
    his_write,
    optional,
    optional_id_number,
    required,
)


@strawberry.input(description="What to change; fields left out stay as the hospital has them (1.2.4).")
class PatientInfoUpdateInput:
    medical_card_number: str = strawberry.field(description="The card whose record is changed (one the account holds).")
    name: str | None = strawberry.field(default=None, description="Name.")
    gender: str | None = strawberry.field(default=None, description="Gender code: 1 male, 2 female.")
    birthdate: str | None = strawberry.field(default=None, description="Date of birth, yyyy-MM-dd.")
    id_card: str | None = strawberry.field(default=None, description="ID number.")
    phone: str | None = strawberry.field(default=None, description="Mobile number.")
    province: str | None = strawberry.field(default=None, description="Address: province (省).")
    city: str | None = strawberry.field(default=None, description="Address: city (市).")
    district: str | None = strawberry.field(default=None, description="Address: district (区).")
    street: str | None = strawberry.field(default=None, description="Address: street (街道).")
    detail_address: str | None = strawberry.field(default=None, description="Address: to the house number.")


@strawberry.type(description="The hospital updated its record (1.2.4).")
class PatientInfoUpdated:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that updated it.")


def _address(update: PatientInfoUpdateInput) -> PatientAddress | None:
    parts = (update.province, update.city, update.district, update.street, update.detail_address)
    if not any(parts):
        return None
    return PatientAddress(
        province_name=optional(update.province),
        city_name=optional(update.city),
        town_name=optional(update.district),
        street_name=optional(update.street),
        detail_address=optional(update.detail_address),
    )


@strawberry.type
class PatientInfoUpdateMutation:
    @strawberry.mutation(description="Correct the holder's details in the hospital's records (1.2.4). Sent once.")
    async def update_patient_info(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[PatientInfoUpdateInput, strawberry.argument(description="The changes.")],
    ) -> Annotated[
        PatientInfoUpdated | HisRefusal | HospitalUnavailable | InvalidInput,
        strawberry.union("PatientInfoUpdateResult", description="Updated, or the hospital's refusal, or why not."),
    ]:
        return await his_write(
            info,
            method=UPDATE_HIS_PATIENT_INFO,
            hospital_id=hospital_id,
            request=lambda: UpdateHisPatientInfoRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                name=optional(input.name),
                gender=optional(input.gender),
                birthdate=calendar_date("birthdate", input.birthdate) if input.birthdate else None,
                id_card=optional_id_number("idCard", input.id_card),
                phone=optional(input.phone),
                address=_address(input),
            ),
            success=lambda hospital, _: PatientInfoUpdated(hospital_id=strawberry.ID(hospital)),
        )
