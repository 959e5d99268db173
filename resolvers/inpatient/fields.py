"""The patient's inpatient stays: deposits, fees per day, discharge, admission applications, caregivers."""

from __future__ import annotations

import strawberry


@strawberry.type
class PatientInpatientFields:
    """Inpatient fields of Patient (10.1.1, 12.1.2, 18.1.2-18.1.5, 27.1.1, 35.x, 36.1.1, 37.1.1, 39.1.1)."""
