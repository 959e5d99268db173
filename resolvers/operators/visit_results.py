"""Operators' view of visit results (就诊结果, 21.1.6): how each registration ended, as hospitals uploaded it.

Patient data: a region operator sees every hospital's, a hospital operator only their own (checked by
``hospital_ids_argument``). Read from our store, never from the hospital.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from services import registration_uploads as uploads
from store.uploads import HospitalUpload

from ..context import Info
from ..fanout import hospital_ids_argument
from ..records.common import coded
from ..results import optional

MAX_RESULTS = 500


@strawberry.enum(description="How a registration ended (21.1.6 state).")
class VisitState(Enum):
    NO_SHOW = strawberry.enum_value("3", description="爽约: the patient did not come.")
    CANCELLED = strawberry.enum_value("4", description="已取消: the registration was cancelled.")
    VISITED = strawberry.enum_value("5", description="已就诊: the patient was seen.")


@strawberry.type(description="How one registration ended, as its hospital uploaded it (就诊结果上传, 21.1.6).")
class VisitResult:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that uploaded it.")
    record_id: str = strawberry.field(
        description="The registration's id the platform gave it when booking (挂号记录内码, recordId)."
    )
    state: VisitState | None = strawberry.field(description="How it ended; null for a state the spec lacks.")
    raw_state: str = strawberry.field(description="The state code as uploaded (3, 4 or 5).")
    updated_at: datetime = strawberry.field(description="When this result was uploaded (UTC).")
    inbound_call_id: strawberry.ID | None = strawberry.field(
        description="The inbound ledger's id of the call that uploaded it (see inboundCalls)."
    )

    @classmethod
    def from_row(cls, row: HospitalUpload) -> VisitResult:
        state = str(row.payload.get("state", ""))
        return cls(
            hospital_id=strawberry.ID(row.hospital_id),
            record_id=row.natural_key,
            state=coded(VisitState, state),
            raw_state=state,
            updated_at=row.updated_at,
            inbound_call_id=strawberry.ID(str(row.inbound_call_id)) if row.inbound_call_id is not None else None,
        )


async def visit_results(
    info: Info,
    hospital_id: Annotated[
        str,
        strawberry.argument(
            description="One hospital id or several, comma-separated; a hospital operator may name only their own."
        ),
    ],
    record_id: Annotated[
        str | None, strawberry.argument(description="Only this registration's result (recordId).")
    ] = None,
    limit: Annotated[int, strawberry.argument(description=f"At most this many results (1-{MAX_RESULTS}).")] = 50,
) -> list[VisitResult] | None:
    hospital_ids = hospital_ids_argument(info, hospital_id)
    rows = await uploads.visit_results(
        info.context.services.db,
        hospital_ids=hospital_ids,
        record_id=optional(record_id),
        limit=max(1, min(limit, MAX_RESULTS)),
    )
    return [VisitResult.from_row(row) for row in rows]


visit_results_field = strawberry.field(
    resolver=visit_results,
    description=(
        "Visit results hospitals uploaded (21.1.6: 爽约, 已取消, 已就诊), most recent first. Patient data: "
        "operators only, a hospital operator only their own hospital's."
    ),
)
