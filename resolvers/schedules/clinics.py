"""Clinic rooms open for triage (15.1.1), fever-clinic queues (43.1.1) and the admission guide (23.1.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.education import (
    ADMISSION_GUIDE_GET_ADMISSION_GUIDE_BY_ID,
    AdmissionGuideGetAdmissionGuideByIdRequest,
)
from his_clients.models.triage import (
    GET_CLINIC_DOCTORS,
    GET_FEVER_CLINIC_WAITING_LIST,
    QUERY_LINE_INFO,
    GetClinicDoctorsRequest,
    GetFeverClinicWaitingListRequest,
    QueryLineInfoRequest,
    TriageDoctor,
)

from ..context import Info
from .common import IdCardNumber, MedicalCardNumber, ask_hospital, count

if TYPE_CHECKING:
    from ..appointments.queues import QueueAtHospital


@strawberry.type(
    description=(
        "A clinic room (and doctor) a patient can be triaged to today (分诊, 15.1.1). Without a doctor the room "
        "takes triage itself (分诊到诊室模式)."
    )
)
class TriageRoom:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this room.")
    area_name: str = strawberry.field(description="The clinic area (诊区, wardName).")
    department_name: str = strawberry.field(description="The department (deptName).")
    room_id: str = strawberry.field(description="The room's id (roomId); triage sends it.")
    room_name: str = strawberry.field(description="The room (诊室, roomName).")
    doctor_id: str | None = strawberry.field(description="The doctor's id; null in room mode (doctorId).")
    doctor_name: str | None = strawberry.field(description="The doctor's name; null in room mode (doctorName).")
    clinic_type_name: str = strawberry.field(description="The kind of slot, e.g. 专家号 (号源类别, className).")
    waiting_count: int | None = strawberry.field(description="How many queue now (当前排队人数, queueCount).")
    medical_card_number: strawberry.Private[str]

    @strawberry.field(description="This patient's place in the room's queue once triaged (15.1.3).")
    async def my_queue(
        self, info: Info
    ) -> Annotated[QueueAtHospital, strawberry.lazy("resolvers.appointments.queues")] | None:
        # Imported here: the queue is a HospitalEntry, whose module needs Hospital, whose fields are these.
        from ..appointments.queues import QueueAtHospital

        request = QueryLineInfoRequest(
            medical_card_number=self.medical_card_number, room_id=self.room_id, doctor_id=self.doctor_id or ""
        )
        reply = await ask_hospital(info, self.hospital_id, QUERY_LINE_INFO, request)
        if reply is None:
            return QueueAtHospital.not_queued(self.hospital_id)
        return QueueAtHospital.from_reply(self.hospital_id, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, card: str, row: TriageDoctor) -> TriageRoom:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            area_name=row.ward_name,
            department_name=row.dept_name,
            room_id=row.room_id,
            room_name=row.room_name,
            doctor_id=row.doctor_id or None,
            doctor_name=row.doctor_name or None,
            clinic_type_name=row.class_name,
            waiting_count=count(row.queue_count),
            medical_card_number=card,
        )


@strawberry.type(description="One fever clinic and how many wait there now (发热门诊排队, 43.1.1).")
class FeverClinic:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this clinic.")
    campus_name: str = strawberry.field(description="The campus (院区名称, branchName).")
    campus_address: str = strawberry.field(description="The campus's address (branchAddress).")
    name: str = strawberry.field(description="The fever clinic (deptName).")
    location: str = strawberry.field(description="Where the clinic is on the campus (deptAddress).")
    room_count: int | None = strawberry.field(description="How many consulting rooms (consultingRoomCount).")
    phone: str = strawberry.field(description="The campus's phone number.")
    opening_hours: str = strawberry.field(description="When it is open, as the hospital writes it (openTime).")
    waiting_count: int | None = strawberry.field(description="How many wait now (当前排队候诊人数, waitingListCount).")


@strawberry.type(description="What a patient should know before admission (住院须知, 23.1.4).")
class AdmissionGuide:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this guide.")
    id: strawberry.ID = strawberry.field(description="The guide's id, as the 19.1.11 message names it.")
    content: str = strawberry.field(description="The guide as rich text (HTML) (富文本, content).")


@strawberry.type
class HospitalClinicFields:
    """Triage, fever-clinic and admission-guide fields of Hospital (15.1.1, 23.1.4, 43.1.1)."""

    if TYPE_CHECKING:
        id: strawberry.ID

    @strawberry.field(
        description=(
            "Rooms and doctors this patient can be triaged to today, with their queues (当前允许分诊的科室, 15.1.1)."
        )
    )
    async def triage_rooms(
        self, info: Info, medical_card_number: MedicalCardNumber, id_card_number: IdCardNumber = None
    ) -> list[TriageRoom] | None:
        request = GetClinicDoctorsRequest(medical_card_number=medical_card_number, id_card=id_card_number)
        reply = await ask_hospital(info, self.id, GET_CLINIC_DOCTORS, request)
        return [TriageRoom.from_reply(self.id, medical_card_number, row) for row in reply or []]

    @strawberry.field(description="The hospital's fever clinics and how many wait at each now (43.1.1).")
    async def fever_clinics(self, info: Info) -> list[FeverClinic] | None:
        reply = await ask_hospital(info, self.id, GET_FEVER_CLINIC_WAITING_LIST, GetFeverClinicWaitingListRequest())
        return [
            FeverClinic(
                hospital_id=self.id,
                campus_name=row.branch_name,
                campus_address=row.branch_address,
                name=row.dept_name,
                location=row.dept_address,
                room_count=count(row.consulting_room_count),
                phone=row.phone,
                opening_hours=row.open_time,
                waiting_count=count(row.waiting_list_count),
            )
            for row in reply or []
        ]

    @strawberry.field(
        description="An admission guide by the id the admission message (19.1.11) carries (23.1.4); null when none."
    )
    async def admission_guide(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The guide's id (住院须知的唯一标识, admissionGuideId)."),
        ],
    ) -> AdmissionGuide | None:
        request = AdmissionGuideGetAdmissionGuideByIdRequest(admission_guide_id=str(id))
        reply = await ask_hospital(info, self.id, ADMISSION_GUIDE_GET_ADMISSION_GUIDE_BY_ID, request)
        if reply is None:
            return None
        return AdmissionGuide(
            hospital_id=self.id, id=strawberry.ID(reply.admission_guide_id or str(id)), content=reply.content
        )
