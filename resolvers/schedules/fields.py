"""What a hospital offers: departments, schedules, doctors, slots, bookable projects, packages, catalogues."""

from __future__ import annotations

import strawberry


@strawberry.type
class HospitalScheduleFields:
    """Schedule and catalogue fields of Hospital (15.1.1, 20.1.x, 21.2.1, 21.2.5, 23.1.4, 24.1.1-3, 25.1.3-6,
    28.x, 29.1.1-2, 33.1.1-2, 43.1.1)."""
