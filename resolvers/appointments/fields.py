"""The patient's appointments of every kind and the queues they stand in.

Every field spans hospitals: hospitalId is one id or several, comma-separated, asked at once; each
hospital gives one entry, a hospital with nothing (10002) an empty one, and a failing hospital a
null entry with its own error (extensions {hospitalId, code, method}).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.exam_appointments import (
    APPOINTMENT_GET_PACS_CONTENT_LIST,
    APPOINTMENT_GET_SCHEDULE_INFO,
    AppointmentGetPacsContentListRequest,
    AppointmentGetScheduleInfoRequest,
)
from his_clients.models.physical_exam import PHYSICAL_HAS_APPOINT_BY_DATE, PhysicalHasAppointByDateRequest
from his_clients.models.registration_today import (
    TODAY_REGISTER_COUNTS,
    TODAY_REGISTER_QUEUING_INFO,
    TodayRegisterCountsRequest,
    TodayRegisterQueuingInfoRequest,
)
from his_clients.models.triage import (
    APPOINTMENT_QUERY_LINE_INFO,
    GET_APPOINTMENT_DOCTORS,
    QUERY_LINE_INFO,
    AppointmentQueryLineInfoRequest,
    GetAppointmentDoctorsRequest,
    QueryLineInfoRequest,
)

from ..arguments import Day, From, HospitalIds, To, in_order, spec_day
from ..context import Info
from ..fanout import per_hospital
from ..schedules.common import IdCardNumber, RequiredIdCardNumber, flag
from .queues import ExamQueuesAtHospital, QueueAtHospital
from .types import (
    BookedVisit,
    BookedVisitsAtHospital,
    ExamAppointmentsAtHospital,
    PhysicalExamBookingAtHospital,
    TodayRegistrationCountAtHospital,
)

DoctorId = Annotated[str, strawberry.argument(description="The doctor's code at the hospital (医生编码, doctorId).")]
OptionalDoctorId = Annotated[
    str | None, strawberry.argument(description="The doctor's code at the hospital (医生编码, doctorId), if any.")
]

_SPANS = (
    " hospitalId is one id or several, comma-separated; each hospital gives one entry, a failing one a null "
    "entry and its own error."
)


@strawberry.type
class PatientAppointmentFields:
    """Appointment and queue fields of Patient (15.1.3, 20.1.4, 20.1.9, 24.1.5, 26.1.1, 28.1.5, 28.1.8, 42.1.x).

    Each field answers ``per_hospital``'s awaitables: graphql-core completes them item by item, so the GraphQL
    type (a list of nullable entries) is declared in the decorator and the Python type says what is returned.
    """

    if TYPE_CHECKING:
        medical_card_number: str

    @strawberry.field(
        description="Examinations the patient booked from `from` to `to`, inclusive (已预约项目, 24.1.5)." + _SPANS,
        graphql_type=list[ExamAppointmentsAtHospital | None],
    )
    def exam_appointments(
        self, info: Info, hospital_id: HospitalIds, from_: From, to: To, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[ExamAppointmentsAtHospital]]:
        in_order(from_, to)
        request = AppointmentGetScheduleInfoRequest(
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            start_date=spec_day(from_),
            end_date=spec_day(to),
        )
        return per_hospital(
            info,
            hospital_id,
            method=APPOINTMENT_GET_SCHEDULE_INFO,
            request=request,
            convert=ExamAppointmentsAtHospital.from_reply,
            empty=ExamAppointmentsAtHospital.none,
        )

    @strawberry.field(
        description=(
            "Whether the patient booked a physical examination on a day (28.1.5), and whether they signed in for "
            "it (28.1.8)." + _SPANS
        ),
        graphql_type=list[PhysicalExamBookingAtHospital | None],
    )
    def physical_exam_booking(
        self, info: Info, hospital_id: HospitalIds, id_card_number: RequiredIdCardNumber, date: Day
    ) -> list[Awaitable[PhysicalExamBookingAtHospital]]:
        card = self.medical_card_number

        def state(hospital: str, booked: bool | None) -> PhysicalExamBookingAtHospital:
            return PhysicalExamBookingAtHospital(
                hospital_id=strawberry.ID(hospital),
                date=date,
                booked=booked,
                medical_card_number=card,
                id_card_number=id_card_number,
            )

        return per_hospital(
            info,
            hospital_id,
            method=PHYSICAL_HAS_APPOINT_BY_DATE,
            request=PhysicalHasAppointByDateRequest(
                medical_card_number=card, id_card=id_card_number, date=spec_day(date)
            ),
            convert=lambda hospital, reply: state(hospital, flag(reply)),
            empty=lambda hospital: state(hospital, False),
        )

    @strawberry.field(
        description=(
            "Clinic visits the patient booked at the hospital, triaged or not, each with its queue (42.1.1)." + _SPANS
        ),
        graphql_type=list[BookedVisitsAtHospital | None],
    )
    def booked_visits(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[BookedVisitsAtHospital]]:
        card = self.medical_card_number
        return per_hospital(
            info,
            hospital_id,
            method=GET_APPOINTMENT_DOCTORS,
            request=GetAppointmentDoctorsRequest(medical_card_number=card, id_card=id_card_number),
            convert=lambda hospital, reply: BookedVisitsAtHospital(
                hospital_id=strawberry.ID(hospital), visits=[BookedVisit.from_reply(hospital, card, r) for r in reply]
            ),
            empty=lambda hospital: BookedVisitsAtHospital(hospital_id=strawberry.ID(hospital), visits=[]),
        )

    @strawberry.field(
        description="The patient's place in a doctor's (or room's) queue after triage (排队信息, 15.1.3)." + _SPANS,
        graphql_type=list[QueueAtHospital | None],
    )
    def triage_queue(
        self,
        info: Info,
        hospital_id: HospitalIds,
        doctor_id: DoctorId,
        room_id: Annotated[
            str | None,
            strawberry.argument(description="The consulting room (诊室主键, roomId) the patient was triaged to."),
        ] = None,
        id_card_number: IdCardNumber = None,
    ) -> list[Awaitable[QueueAtHospital]]:
        request = QueryLineInfoRequest(
            medical_card_number=self.medical_card_number, id_card=id_card_number, room_id=room_id, doctor_id=doctor_id
        )
        return per_hospital(
            info,
            hospital_id,
            method=QUERY_LINE_INFO,
            request=request,
            convert=QueueAtHospital.from_reply,
            empty=QueueAtHospital.not_queued,
        )

    @strawberry.field(
        description=(
            "The patient's place in the queue after signing in for a booked visit (42.1.3); departmentId is the "
            "visit's deptId." + _SPANS
        ),
        graphql_type=list[QueueAtHospital | None],
    )
    def appointment_queue(
        self,
        info: Info,
        hospital_id: HospitalIds,
        department_id: Annotated[
            str, strawberry.argument(description="The booked visit's deptId (诊室主键), as bookedVisits gives it.")
        ],
        doctor_id: DoctorId,
        id_card_number: IdCardNumber = None,
    ) -> list[Awaitable[QueueAtHospital]]:
        request = AppointmentQueryLineInfoRequest(
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            dept_id=department_id,
            doctor_id=doctor_id,
        )
        return per_hospital(
            info,
            hospital_id,
            method=APPOINTMENT_QUERY_LINE_INFO,
            request=request,
            convert=QueueAtHospital.from_reply,
            empty=QueueAtHospital.not_queued,
        )

    @strawberry.field(
        description=(
            "The patient's place in the queue of a same-day registration (当日挂号排队, 20.1.9), by the "
            "registration's todayRegisterId." + _SPANS
        ),
        graphql_type=list[QueueAtHospital | None],
    )
    def registration_queue(
        self,
        info: Info,
        hospital_id: HospitalIds,
        today_register_id: Annotated[
            str,
            strawberry.argument(description="The same-day registration's id (当日挂号唯一标识, todayRegisterId)."),
        ],
        department_id: Annotated[
            str, strawberry.argument(description="The registration's department code (院内科室Id, departmentId).")
        ],
        doctor_id: OptionalDoctorId = None,
        id_card_number: IdCardNumber = None,
    ) -> list[Awaitable[QueueAtHospital]]:
        request = TodayRegisterQueuingInfoRequest(
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            doctor_id=doctor_id,
            department_id=department_id,
            today_register_id=today_register_id,
        )
        return per_hospital(
            info,
            hospital_id,
            method=TODAY_REGISTER_QUEUING_INFO,
            request=request,
            convert=QueueAtHospital.from_registration,
            empty=QueueAtHospital.not_queued,
        )

    @strawberry.field(
        description="The patient's queues at examination rooms (PACS排队, 26.1.1)." + _SPANS,
        graphql_type=list[ExamQueuesAtHospital | None],
    )
    def exam_queues(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[ExamQueuesAtHospital]]:
        request = AppointmentGetPacsContentListRequest(
            medical_card_number=self.medical_card_number, id_card=id_card_number
        )
        return per_hospital(
            info,
            hospital_id,
            method=APPOINTMENT_GET_PACS_CONTENT_LIST,
            request=request,
            convert=ExamQueuesAtHospital.from_reply,
            empty=ExamQueuesAtHospital.none,
        )

    @strawberry.field(
        description="How many times the patient registered today (当天挂号次数, 20.1.4)." + _SPANS,
        graphql_type=list[TodayRegistrationCountAtHospital | None],
    )
    def today_registration_count(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[TodayRegistrationCountAtHospital]]:
        return per_hospital(
            info,
            hospital_id,
            method=TODAY_REGISTER_COUNTS,
            request=TodayRegisterCountsRequest(medical_card_number=self.medical_card_number, id_card=id_card_number),
            convert=lambda hospital, reply: TodayRegistrationCountAtHospital(
                hospital_id=strawberry.ID(hospital), count=reply
            ),
            empty=lambda hospital: TodayRegistrationCountAtHospital(hospital_id=strawberry.ID(hospital), count=0),
        )
