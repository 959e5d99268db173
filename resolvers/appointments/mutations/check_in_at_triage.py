"""15.1.2 分诊登记: put the patient in the queue of a consulting room (and doctor) that 15.1.1 lists."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.triage import TRIAGE, TriageRequest

from ...context import Info
from ...results import Refusal, TargetHospital, his_write, optional, optional_id_number, required


@strawberry.input(description="Who checks in at triage, and to which consulting room and doctor (15.1.2 分诊登记).")
class CheckInAtTriageInput:
    medical_card_number: str = strawberry.field(description="The patient's medical card number (就诊卡号).")
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    room_id: str = strawberry.field(
        description="The consulting room (诊室, roomId), as the triage list gives it (15.1.1)."
    )
    doctor_id: str | None = strawberry.field(
        default=None,
        description="The doctor (doctorId) as the triage list gives it; leave it out where the list has no doctor "
        "(triage to the room, 分诊到诊室模式).",
    )


@strawberry.type(description="The hospital accepted the check-in; the patient is now in the room's queue.")
class CheckInAtTriageSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that accepted it.")
    room_id: str = strawberry.field(description="The consulting room the patient queues for.")
    doctor_id: str | None = strawberry.field(description="The doctor, when triaged to a doctor.")


CheckInAtTriageResult = Annotated[
    CheckInAtTriageSuccess | Refusal,
    strawberry.union(
        "CheckInAtTriageResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code (e.g. ALREADY_TRIAGED), or no answer.",
    ),
]


@strawberry.type
class CheckInAtTriageMutation:
    @strawberry.mutation(
        description=(
            "Check in at triage: join a consulting room's or doctor's queue (15.1.2 分诊登记). "
            "Sent once, never retried."
        )
    )
    async def check_in_at_triage(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CheckInAtTriageInput, strawberry.argument(description="What to write.")],
    ) -> CheckInAtTriageResult:
        return await his_write(
            info,
            method=TRIAGE,
            hospital_id=hospital_id,
            request=lambda: TriageRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCardNumber", input.id_card_number),
                room_id=required("roomId", input.room_id),
                doctor_id=optional(input.doctor_id),
            ),
            success=lambda hospital, _: CheckInAtTriageSuccess(
                hospital_id=strawberry.ID(hospital), room_id=input.room_id.strip(), doctor_id=optional(input.doctor_id)
            ),
        )
