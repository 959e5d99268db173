"""``HospitalEntry``: the one interface of everything that one hospital answered (a per-hospital container).

A query that spans hospitals (the spec's comma-separated ``hospitalId``) answers one entry per hospital asked;
each entry type is named ``<What>AtHospital`` and implements this interface, so a client reads ``hospitalId``
and ``hospital`` the same way everywhere. Records inside an entry may implement it too.
"""

from __future__ import annotations

import strawberry

from resolvers.context import Info

from .types import Hospital


@strawberry.interface(description="Something one hospital answered: which hospital it came from, and that hospital.")
class HospitalEntry:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital this entry came from (its hospitalId).")

    @strawberry.field(description="The hospital, as the region's registry names it (null if no longer listed).")
    def hospital(self, info: Info) -> Hospital | None:
        found = info.context.registry.hospital(self.hospital_id)
        return Hospital.from_registry(found) if found else None
