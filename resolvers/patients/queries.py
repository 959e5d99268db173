"""Queries about patients."""

from __future__ import annotations

import strawberry

from .types import Patient


@strawberry.type
class PatientQueries:
    @strawberry.field(description="A patient by medical card number (就诊卡号), the patient's identifier in the spec.")
    def patient(self, medical_card_number: str) -> Patient:
        return Patient(medical_card_number=medical_card_number.strip())
