"""GraphQL types of the patient's appointments: examinations (24.1.5), physical examinations (28.1.5,
28.1.8), booked clinic visits (42.1.1) and today's registrations counted (20.1.4)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from his_clients.models.exam_appointments import BookedExam
from his_clients.models.physical_exam import (
    PHYSICAL_GET_TJ_REGISTER_FLAG,
    PhysicalGetTjRegisterFlagRequest,
)
from his_clients.models.triage import (
    APPOINTMENT_QUERY_LINE_INFO,
    AppointmentQueryLineInfoRequest,
)
from his_clients.models.triage import (
    BookedVisit as BookedVisitReply,
)

from ..arguments import spec_day
from ..context import Info
from ..hospitals.entry import HospitalEntry
from ..records.common import coded
from ..schedules.common import ask_hospital, flag, read_day, read_instant
from .queues import QueueAtHospital


@strawberry.enum(description="Where an examination appointment stands (24.1.5 status).")
class ExamAppointmentStatus(Enum):
    BOOKED = strawberry.enum_value("0", description="已预约.")
    CANCELLED = strawberry.enum_value("1", description="取消预约.")
    ATTENDED = strawberry.enum_value("3", description="已就诊.")
    MISSED = strawberry.enum_value("4", description="爽约: the patient did not come.")
    SUSPENDED = strawberry.enum_value("5", description="停诊: the room does not work that day.")
    SUBSTITUTED = strawberry.enum_value("6", description="替诊: another doctor stands in.")
    REGISTERED = strawberry.enum_value("7", description="已登记: signed in at the hospital.")


@strawberry.type(description="An examination the patient booked (已预约项目, 24.1.5).")
class ExamAppointment:
    id: str = strawberry.field(description="The booking's id (预约ID, regId); cancelling and changing send it.")
    status: ExamAppointmentStatus | None = strawberry.field(
        description="Where it stands; null for a code not in the spec."
    )
    status_code: str = strawberry.field(description="The status code as the hospital sent it (status).")
    status_text: str = strawberry.field(description="The hospital's words for the status (statusDes).")
    exam_id: str = strawberry.field(description="The examination's id (检查项目ID, orderId).")
    exam_name: str = strawberry.field(description="The examination (检查项目名, orderName).")
    room_id: str = strawberry.field(description="The room or department's id (roomId).")
    room_name: str = strawberry.field(description="The room or department (roomName).")
    room_address: str | None = strawberry.field(description="Where it is (科室位置, roomAddress).")
    date: date | None = strawberry.field(description="The day booked (selectedDate); null when not written.")
    time_slot_id: str = strawberry.field(description="The period's id (planTimeId).")
    time_slot_name: str = strawberry.field(description="The period, e.g. 11:30-12:00 (planTimeName).")
    can_change: bool = strawberry.field(description="True when it may be rebooked (是否可以改约, changeFlag 1).")
    can_register_online: bool = strawberry.field(
        description="True when it may be signed in online (是否允许线上登记, onlineRegisterFlag 1)."
    )
    attention: str | None = strawberry.field(description="What to heed (注意事项, attention).")
    application_id: str | None = strawberry.field(description="The application form's id (申请单id, applyMainId).")
    executing_department_id: str | None = strawberry.field(description="The executing department (exeDeptId).")
    extra_param: str | None = strawberry.field(description="The hospital's extra parameter, sent back as is.")

    @classmethod
    def from_reply(cls, row: BookedExam) -> ExamAppointment:
        return cls(
            id=row.reg_id,
            status=coded(ExamAppointmentStatus, row.status),
            status_code=row.status,
            status_text=row.status_des,
            exam_id=row.order_id,
            exam_name=row.order_name,
            room_id=row.room_id,
            room_name=row.room_name,
            room_address=row.room_address or None,
            date=read_day(row.selected_date),
            time_slot_id=row.plan_time_id,
            time_slot_name=row.plan_time_name,
            can_change=flag(row.change_flag) is True,
            can_register_online=flag(row.online_register_flag) is True,
            attention=row.attention or None,
            application_id=row.apply_main_id or None,
            executing_department_id=row.exe_dept_id or None,
            extra_param=row.extra_param or None,
        )


@strawberry.type(description="The patient's examination appointments at one hospital (24.1.5).")
class ExamAppointmentsAtHospital(HospitalEntry):
    appointments: list[ExamAppointment] = strawberry.field(description="The appointments in the window asked.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[BookedExam]) -> ExamAppointmentsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), appointments=[ExamAppointment.from_reply(r) for r in reply])

    @classmethod
    def none(cls, hospital_id: str) -> ExamAppointmentsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), appointments=[])


@strawberry.type(description="The patient's physical-examination booking on one day at one hospital (28.1.5, 28.1.8).")
class PhysicalExamBookingAtHospital(HospitalEntry):
    date: date = strawberry.field(description="The day asked.")
    booked: bool | None = strawberry.field(
        description=(
            "Whether the patient booked an examination that day (是否已经预约过, 28.1.5); null when the hospital "
            "could not tell (-1)."
        )
    )
    medical_card_number: strawberry.Private[str]
    id_card_number: strawberry.Private[str]

    @strawberry.field(
        description=(
            "Whether the patient has signed in at the examination centre for that day's booking (登记状态, 28.1.8); "
            "null when the hospital could not tell (-1)."
        )
    )
    async def registered(self, info: Info) -> bool | None:
        request = PhysicalGetTjRegisterFlagRequest(
            medical_card_number=self.medical_card_number, id_card=self.id_card_number, date=spec_day(self.date)
        )
        reply = await ask_hospital(info, self.hospital_id, PHYSICAL_GET_TJ_REGISTER_FLAG, request)
        return False if reply is None else flag(reply)


@strawberry.type(description="A clinic visit the patient booked at the hospital, triaged or not (院内已预约, 42.1.1).")
class BookedVisit:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    department_id: str = strawberry.field(description="The department's code (deptId).")
    department_name: str = strawberry.field(description="The department (deptName).")
    room_id: str | None = strawberry.field(description="The room's id (roomId).")
    room_name: str | None = strawberry.field(description="The room (roomName).")
    doctor_id: str = strawberry.field(description="The doctor's id (doctorId).")
    doctor_name: str = strawberry.field(description="The doctor (doctorName).")
    appointment_time: datetime | None = strawberry.field(
        description="When the visit is booked for (appointmentTime); null when the hospital wrote no time."
    )
    triaged: bool = strawberry.field(
        description="True once signed in and triaged (分诊状态 1); the spec keeps the two apart."
    )
    triaged_at: datetime | None = strawberry.field(description="When it was triaged (triageTime); null before.")
    medical_card_number: strawberry.Private[str]

    @strawberry.field(description="The patient's place in the queue once signed in (预约签到排队, 42.1.3).")
    async def queue(self, info: Info) -> QueueAtHospital | None:
        request = AppointmentQueryLineInfoRequest(
            medical_card_number=self.medical_card_number, dept_id=self.department_id, doctor_id=self.doctor_id
        )
        reply = await ask_hospital(info, self.hospital_id, APPOINTMENT_QUERY_LINE_INFO, request)
        if reply is None:
            return QueueAtHospital.not_queued(self.hospital_id)
        return QueueAtHospital.from_reply(self.hospital_id, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, card: str, row: BookedVisitReply) -> BookedVisit:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            department_id=row.dept_id,
            department_name=row.dept_name,
            room_id=row.room_id or None,
            room_name=row.room_name or None,
            doctor_id=row.doctor_id,
            doctor_name=row.doctor_name,
            appointment_time=read_instant(row.appointment_time),
            triaged=flag(row.triage_state) is True,
            triaged_at=read_instant(row.triage_time),
            medical_card_number=card,
        )


@strawberry.type(description="The patient's booked clinic visits at one hospital (42.1.1).")
class BookedVisitsAtHospital(HospitalEntry):
    visits: list[BookedVisit] = strawberry.field(description="The visits, triaged and not yet triaged.")


@strawberry.type(description="How many times the patient registered today at one hospital (当天挂号次数, 20.1.4).")
class TodayRegistrationCountAtHospital(HospitalEntry):
    count: int = strawberry.field(description="Registrations made today; hospitals use it to cap them.")
