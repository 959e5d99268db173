"""GraphQL types of the hospital graph."""

from __future__ import annotations

import strawberry

from his_clients.registry import Hospital as RegistryHospital

from ..schedules.fields import HospitalScheduleFields


@strawberry.type(description="A hospital of the region, as the registry lists it.")
class Hospital(HospitalScheduleFields):
    id: strawberry.ID = strawberry.field(description="The hospital's id (hospitalId in the spec).")
    name: str = strawberry.field(description="The hospital's name.")
    region: str = strawberry.field(description="The region or county it belongs to; empty when not set.")
    regional: bool = strawberry.field(
        description="True when it sits behind a regional HIS (县域集中部署) shared with other hospitals."
    )

    @classmethod
    def from_registry(cls, hospital: RegistryHospital) -> Hospital:
        return cls(
            id=strawberry.ID(hospital.id), name=hospital.name, region=hospital.region, regional=hospital.is_regional
        )
