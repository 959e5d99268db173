"""updatePatientInfo: the holder corrects their details in the hospital's records (1.2.4 修改院内患者信息)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.cards import UPDATE_HIS_PATIENT_INFO, PatientAddress, UpdateHisPatientInfoRequest
from services.identity.principal import PatientPrincipal

from ...context import Info
from ...results import (
    HisRefusal,
    HospitalUnavailable,
    InputRefused,
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


async def _unproven_id_number(info: Info, update: PatientInfoUpdateInput) -> InvalidInput | None:
    """The ID number may be written only as the account has PROVEN it for this card (SMS binding against the
    hospital's record, or real-name verification): the holder of a created card, which proves no ID number,
    cannot write someone else's ID number into the hospital's record (and so reach their records by it)."""
    principal = info.context.principal
    if update.id_card is None or not update.id_card.strip() or not isinstance(principal, PatientPrincipal):
        return None  # nothing to change, or his_write refuses the caller anyway
    try:
        wanted = optional_id_number("idCard", update.id_card)
    except InputRefused as refused:
        return refused.as_result()
    card = (update.medical_card_number or "").strip()
    proven = {
        held.id_card_number.strip().upper()
        for held in await info.context.services.accounts.cards(principal.account_id)
        if held.id_card_number and card in (held.medical_card_number, held.physical_card_number)
    }
    if wanted is not None and wanted.strip().upper() not in proven:
        return InvalidInput(
            field="input.idCard",
            code="20003",
            message="input.idCard: the ID number can be changed only to the one this card's holder has proven "
            "(bind the hospital's card by SMS, or real-name verification)",
        )
    return None


@strawberry.type
class PatientInfoUpdateMutation:
    @strawberry.mutation(
        description=(
            "Correct the holder's details in the hospital's records (1.2.4). Sent once. The ID number may be set "
            "only to the one the account has proven for this card (else InvalidInput 20003, nothing sent)."
        )
    )
    async def update_patient_info(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[PatientInfoUpdateInput, strawberry.argument(description="The changes.")],
    ) -> Annotated[
        PatientInfoUpdated | HisRefusal | HospitalUnavailable | InvalidInput,
        strawberry.union("PatientInfoUpdateResult", description="Updated, or the hospital's refusal, or why not."),
    ]:
        refused = await _unproven_id_number(info, input)
        if refused is not None:
            return refused
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
