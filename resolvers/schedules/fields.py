"""What a hospital offers: departments, schedules, doctors, slots, bookable projects, packages, catalogues."""

from __future__ import annotations

import strawberry

from .catalogues import HospitalCatalogueFields
from .clinics import HospitalClinicFields
from .exams import HospitalExamFields
from .physical_exam import HospitalPhysicalExamFields
from .registration import HospitalRegistrationFields
from .self_order import HospitalSelfOrderFields


@strawberry.type
class HospitalScheduleFields(
    HospitalRegistrationFields,
    HospitalClinicFields,
    HospitalExamFields,
    HospitalPhysicalExamFields,
    HospitalSelfOrderFields,
    HospitalCatalogueFields,
):
    """Schedule and catalogue fields of Hospital (15.1.1, 20.1.x, 21.2.1, 21.2.5, 23.1.4, 24.1.1-3, 25.1.3-6,
    28.x, 29.1.1-2, 33.1.1-2, 43.1.1).

    Every field asks this one hospital through the request's loader, so a failing hospital nulls only
    its own fields, and reference data goes through the shared cache with coalescing (his_clients.caching).
    """
