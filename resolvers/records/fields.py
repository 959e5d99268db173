"""The patient's records: profile and cards, outpatient fees and guide sheets, balances, invoices,
medical records, prescriptions, education, unfinished insurance orders, doctors seen online."""

from __future__ import annotations

import strawberry


@strawberry.type
class PatientRecordFields:
    """Record fields of Patient (2.1.x, 4.1.1, 5.1.5, 7.1.1, 8.1.1, 18.1.1, 23.1.x, 25.1.2, 31.x, 32.x, 38.x)."""
