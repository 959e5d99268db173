"""updatePatientInfo: the holder corrects their details in the hospital's records (1.2.4 修改院内患者信息)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from his_clients.codes import ReturnCode
from his_clients.models.cards import UPDATE_HIS_PATIENT_INFO, PatientAddress, UpdateHisPatientInfoRequest
from services.identity.principal import PatientPrincipal
from services.refusals import Refused

from ...context import Info
from ...results import (
    InputRefused,
    Refusal,
    Sex,
    TargetHospital,
    his_write,
    optional,
    optional_id_number,
    required,
    spec_day,
)


@strawberry.input(description="What to change; fields left out stay as the hospital has them (1.2.4).")
class UpdatePatientInfoInput:
    medical_card_number: str = strawberry.field(description="The card whose record is changed (one the account holds).")
    name: str | None = strawberry.field(default=None, description="Name.")
    sex: Sex | None = strawberry.field(default=None, description="Sex (gender).")
    birth_date: date | None = strawberry.field(default=None, description="Date of birth (birthdate).")
    id_card_number: str | None = strawberry.field(default=None, description="Resident ID number (idcard, 身份证号).")
    phone: str | None = strawberry.field(default=None, description="Mobile number.")
    province: str | None = strawberry.field(default=None, description="Address: province (省).")
    city: str | None = strawberry.field(default=None, description="Address: city (市).")
    district: str | None = strawberry.field(default=None, description="Address: district (区).")
    street: str | None = strawberry.field(default=None, description="Address: street (街道).")
    detail_address: str | None = strawberry.field(default=None, description="Address: to the house number.")


@strawberry.type(description="The hospital updated its record (1.2.4).")
class UpdatePatientInfoSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that updated it.")


UpdatePatientInfoResult = Annotated[
    UpdatePatientInfoSuccess | Refusal,
    strawberry.union(
        "UpdatePatientInfoResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


def _address(update: UpdatePatientInfoInput) -> PatientAddress | None:
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


async def _unproven_id_number(info: Info, update: UpdatePatientInfoInput) -> Refusal | None:
    """The ID number may be written only as the account has PROVEN it for this card (SMS binding against the
    hospital's record, or real-name verification): the holder of a created card, which proves no ID number,
    cannot write someone else's ID number into the hospital's record (and so reach their records by it)."""
    principal = info.context.principal
    if not (update.id_card_number or "").strip() or not isinstance(principal, PatientPrincipal):
        return None  # nothing to change, or his_write refuses the caller anyway
    try:
        wanted = optional_id_number("idCardNumber", update.id_card_number)
    except Refused as refused:
        return Refusal.of(refused)
    card = (update.medical_card_number or "").strip()
    proven = {
        held.id_card_number.strip().upper()
        for held in await info.context.services.accounts.cards(principal.account_id)
        if held.id_card_number and card in (held.medical_card_number, held.physical_card_number)
    }
    if wanted is not None and wanted.strip().upper() not in proven:
        return Refusal.of(
            InputRefused(
                "idCardNumber",
                ReturnCode.PARAMETER_FORMAT,
                "身份证号只能改为本卡持卡人已验证的身份证号（通过短信绑定医院就诊卡，或实名认证）。",
            )
        )
    return None


@strawberry.type
class UpdatePatientInfoMutation:
    @strawberry.mutation(
        description=(
            "Correct the holder's details in the hospital's records (1.2.4). Sent once. The ID number may be set "
            "only to the one the account has proven for this card (else a Refusal PARAMETER_FORMAT, nothing sent)."
        )
    )
    async def update_patient_info(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[UpdatePatientInfoInput, strawberry.argument(description="The changes.")],
    ) -> UpdatePatientInfoResult:
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
                gender=None if input.sex is None else input.sex.gender_code,
                birthdate=None if input.birth_date is None else spec_day(input.birth_date),
                id_card=optional_id_number("idCardNumber", input.id_card_number),
                phone=optional(input.phone),
                address=_address(input),
            ),
            success=lambda hospital, _: UpdatePatientInfoSuccess(hospital_id=strawberry.ID(hospital)),
        )
