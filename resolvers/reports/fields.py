"""The patient's reports: lab, exam/PACS with images, physical exam, ECG, pathology, nucleic acid."""

from __future__ import annotations

import strawberry


@strawberry.type
class PatientReportFields:
    """Report fields of Patient (16.x, 17.x, 34.1.1, 40.x, 41.x)."""
