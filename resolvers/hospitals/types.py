"""GraphQL types of the hospital graph."""

from __future__ import annotations

import strawberry

from his_clients.registry import Hospital as RegistryHospital

from ..schedules.fields import HospitalScheduleFields
from .uploads import HospitalUploadedData


@strawberry.type(description="A hospital of the region, as the registry lists it.")
class Hospital(HospitalScheduleFields):
    id: strawberry.ID = strawberry.field(description="The hospital's id (hospitalId in the spec).")
    name: str = strawberry.field(description="The hospital's name.")
    region: str = strawberry.field(description="The region or county it belongs to; empty when not set.")
    regional: bool = strawberry.field(
        description="True when it sits behind a regional HIS (县域集中部署) shared with other hospitals."
    )

    @strawberry.field(
        description=(
            "What the hospital uploaded for appointment registration (21.1.1-21.1.5): its description, "
            "departments and doctors, schedules with their stops. From the platform's store, not the hospital."
        )
    )
    def uploaded(self) -> HospitalUploadedData:
        return HospitalUploadedData(hospital_id=str(self.id))

    @classmethod
    def from_registry(cls, hospital: RegistryHospital) -> Hospital:
        return cls(
            id=strawberry.ID(hospital.id), name=hospital.name, region=hospital.region, regional=hospital.is_regional
        )
