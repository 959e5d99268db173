"""Same-day registration (chapter 20) and appointment slots (21.2.1, 21.2.5): departments -> schedules
-> doctors -> slots, each edge asked of the hospital only when the query reaches it."""

from __future__ import annotations

from datetime import date as date_type
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.codes import ReturnCode
from his_clients.errors import HisNotOpened, HisRejected
from his_clients.models.registration_appointment import (
    QUERY_SURCHARGE,
    REMAIN_APP,
    QuerySurchargeRequest,
    RemainAppRequest,
)
from his_clients.models.registration_today import (
    TODAY_REGISTER_GET_DEPT_LIMIT,
    TODAY_REGISTER_GET_DEPTS,
    TODAY_REGISTER_GET_DISCOUNT,
    TODAY_REGISTER_GET_DOCTORS,
    TODAY_REGISTER_GET_REMAIN,
    TodayDepartmentGroup,
    TodayDoctorSchedule,
    TodayRegisterGetDeptLimitRequest,
    TodayRegisterGetDeptsRequest,
    TodayRegisterGetDiscountRequest,
    TodayRegisterGetDoctorsRequest,
    TodayRegisterGetRemainRequest,
    TodaySlot,
)
from services.refusals import RefusalCode, Refused

from ..arguments import Day
from ..context import Info
from ..errors import patient_message, record_hospital_text
from ..records.common import coded
from ..refusal import RefusalCode as _RefusalCodeEnum  # noqa: F401  (registers the GraphQL enum)
from ..scalars import Money
from .common import HalfDay, IdCardNumber, MedicalCardNumber, ask_hospital, at, beijing_today, count
from .slot_ids import SlotKind, slot_id

_LIMIT_REACHED = "今日暂不能挂此科室的号，详情请到医院窗口咨询。"
"""What a 20.1.5 refusal without a 附四 code tells the patient."""


@strawberry.enum(description="How a schedule hands out its slots (20.1.2 scheduleType).")
class ScheduleType(Enum):
    TIME_POINT = strawberry.enum_value("1", description="时间点: each slot is one point in time.")
    TIME_PERIOD = strawberry.enum_value("2", description="时间段: each slot is a period several patients share.")


@strawberry.type(description="A doctor on today's schedule (20.1.2).")
class Doctor:
    id: strawberry.ID = strawberry.field(description="The doctor's code at the hospital (doctorId).")
    name: str = strawberry.field(description="The doctor's name (doctorName).")
    title: str | None = strawberry.field(description="Professional title (技术职称, professional), e.g. 主任医师.")
    introduction: str | None = strawberry.field(description="What the hospital says about the doctor (introduce).")
    expertise: str | None = strawberry.field(description="What the doctor is good at (擅长, expertIn).")
    photo_url: str | None = strawberry.field(description="A URL of the doctor's photo (doctorPic), as sent.")


@strawberry.type(description="One slot of a schedule today (号源, 20.1.3).")
class TodayRegistrationSlot:
    slot_id: strawberry.ID = strawberry.field(
        description="The slot's opaque id: registering (createTodayRegistrationPayment) takes it as slotId."
    )
    from_: datetime | None = strawberry.field(
        name="from", description="When it starts, today (startTime); null when the hospital wrote no time."
    )
    to: datetime | None = strawberry.field(
        description="When it ends, today (endTime); null when the hospital wrote no time."
    )
    remaining: int | None = strawberry.field(description="How many can still register in it (appNum).")
    half_day: HalfDay | None = strawberry.field(description="Morning, afternoon or evening (amPm a/p/n).")
    serial_number: str | None = strawberry.field(description="The slot's number (号源序号, serialNumber).")

    @classmethod
    def from_reply(cls, info: Info, schedule: TodaySchedule, slot: TodaySlot) -> TodayRegistrationSlot:
        day = beijing_today()
        half_day = HalfDay.read(slot.am_pm)
        return cls(
            slot_id=schedule.slot_id_with(
                info,
                sequence=slot.sequence,
                serial_number=slot.serial_number,
                start_time=slot.start_time,
                end_time=slot.end_time,
                half_day=str(half_day.value) if half_day else None,
                time_code=slot.time_code,
            ),
            from_=at(day, slot.start_time),
            to=at(day, slot.end_time),
            remaining=count(slot.app_num),
            half_day=half_day,
            serial_number=slot.serial_number,
        )


@strawberry.type(
    description=(
        "One schedule a patient can register with today (当天排班, 20.1.2): a doctor's, or, when the hospital "
        "names no doctor, the department's own (挂号到科室), in which case the page shows the department."
    )
)
class TodaySchedule:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this schedule.")
    department_id: str = strawberry.field(description="The department's code (departmentId).")
    department_name: str = strawberry.field(description="The department's name (departmentName).")
    department_address: str | None = strawberry.field(description="Where the department is (deptAddr).")
    doctor: Doctor | None = strawberry.field(
        description="The doctor; null when the schedule registers to the department (no doctorId, spec 20)."
    )
    registers_to_department: bool = strawberry.field(
        description="True when the schedule has no doctor: registration is to the department (挂号到科室)."
    )
    display_name: str = strawberry.field(
        description="What the page shows for this schedule: the doctor's name, or the department's name."
    )
    registration_fee: Money = strawberry.field(description="The registration fee (挂号费, registrationFee).")
    clinic_type_id: strawberry.ID = strawberry.field(
        description="The clinic type's code (号别, the spec's regClassId)."
    )
    clinic_type_name: str = strawberry.field(description="The clinic type, e.g. 普通, 专家, 特需 (regClassName).")
    remaining_count: int | None = strawberry.field(description="Slots left today (剩余号源量, freePatCount).")
    schedule_type: ScheduleType | None = strawberry.field(description="Time points or time periods (scheduleType).")

    def slot_id_with(self, info: Info, **slot: str | None) -> strawberry.ID:
        return slot_id(
            info,
            SlotKind.TODAY_REGISTRATION,
            self.hospital_id,
            date=beijing_today().isoformat(),
            department_id=self.department_id,
            doctor_id=self.doctor.id if self.doctor else None,
            clinic_type_id=str(self.clinic_type_id),
            **slot,
        )

    @strawberry.field(
        description=(
            "The schedule's own opaque id for registering without a slot (createTodayRegistrationPayment's slotId), "
            "where the hospital hands out no slots today (slots is empty); a slot's own slotId where it does."
        )
    )
    def slot_id(self, info: Info) -> strawberry.ID:
        return self.slot_id_with(info)

    @strawberry.field(
        description=(
            "Today's slots with places left (20.1.3). Empty when the hospital does not limit today's slots and "
            "has not opened 20.1.3 (the spec then registers directly); null with an error when the call fails."
        )
    )
    async def slots(self, info: Info) -> list[TodayRegistrationSlot] | None:
        request = TodayRegisterGetRemainRequest(
            department_id=self.department_id,
            doctor_id=self.doctor.id if self.doctor else None,
            reg_class_id=str(self.clinic_type_id),
        )
        try:
            reply = await ask_hospital(info, self.hospital_id, TODAY_REGISTER_GET_REMAIN, request)
        except HisNotOpened:
            return []
        return [TodayRegistrationSlot.from_reply(info, self, slot) for slot in reply or []]

    @strawberry.field(
        description=(
            "What this patient pays to register with this schedule after the hospital's discounts "
            "(优惠后的价格, 20.1.6); 0 is a free registration. The schedule's own fee when the hospital has "
            "nothing to say (10002)."
        )
    )
    async def fee_for_patient(self, info: Info, medical_card_number: MedicalCardNumber) -> Money | None:
        request = TodayRegisterGetDiscountRequest(
            medical_card_number=medical_card_number,
            department_id=self.department_id,
            doctor_id=self.doctor.id if self.doctor else None,
            op_type=str(self.clinic_type_id),
        )
        reply = await ask_hospital(info, self.hospital_id, TODAY_REGISTER_GET_DISCOUNT, request)
        return Money(reply) if reply is not None else Money(self.registration_fee)

    @classmethod
    def from_reply(cls, hospital_id: str, row: TodayDoctorSchedule) -> TodaySchedule:
        doctor = None
        if row.doctor_id:
            doctor = Doctor(
                id=strawberry.ID(row.doctor_id),
                name=row.doctor_name or "",
                title=row.professional,
                introduction=row.introduce,
                expertise=row.expert_in,
                photo_url=row.doctor_pic,
            )
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            department_id=row.department_id,
            department_name=row.department_name,
            department_address=row.dept_addr,
            doctor=doctor,
            registers_to_department=doctor is None,
            display_name=doctor.name if doctor and doctor.name else row.department_name,
            registration_fee=Money(row.registration_fee),
            clinic_type_id=strawberry.ID(row.reg_class_id),
            clinic_type_name=row.reg_class_name,
            remaining_count=count(row.free_pat_count),
            schedule_type=coded(ScheduleType, row.schedule_type),
        )


@strawberry.type(description="Whether a patient may register with a department today (20.1.5).")
class RegistrationCheck:
    allowed: bool = strawberry.field(description="False when the hospital refuses, e.g. 男性不能挂妇科.")
    reason: str | None = strawberry.field(
        description=(
            "Why not, when refused: the fixed words of the 附四 code, or a general notice when the hospital gave "
            "none; never the hospital's own text (msg), which goes to the operators' log."
        )
    )
    code: RefusalCode | None = strawberry.field(
        description=(
            "The hospital's code when refused (UNKNOWN_ERROR for one outside 附四); null when allowed, or when the "
            "hospital refused without a code (often: 20.1.5's example has none)."
        )
    )


async def today_schedules(info: Info, hospital_id: str, department_id: str) -> list[TodaySchedule] | None:
    request = TodayRegisterGetDoctorsRequest(department_id=department_id)
    reply = await ask_hospital(info, hospital_id, TODAY_REGISTER_GET_DOCTORS, request)
    return [TodaySchedule.from_reply(hospital_id, row) for row in reply or []]


@strawberry.type(description="A department taking registrations today (二级科室, 20.1.1).")
class Department:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this department.")
    id: strawberry.ID = strawberry.field(description="The department's code (departmentId).")
    name: str = strawberry.field(description="The department's name (departmentName).")
    address: str | None = strawberry.field(description="Where it is (deptAddr).")

    @strawberry.field(description="Today's schedules of the department: doctors', or its own (20.1.2).")
    async def schedules(self, info: Info) -> list[TodaySchedule] | None:
        return await today_schedules(info, self.hospital_id, self.id)

    @strawberry.field(description="Whether this patient may register here today (科室挂号限制, 20.1.5).")
    async def registration_check(
        self, info: Info, medical_card_number: MedicalCardNumber, id_card_number: IdCardNumber = None
    ) -> RegistrationCheck | None:
        request = TodayRegisterGetDeptLimitRequest(
            department_id=self.id, medical_card_number=medical_card_number, id_card=id_card_number
        )
        try:
            await ask_hospital(info, self.hospital_id, TODAY_REGISTER_GET_DEPT_LIMIT, request)
        except HisNotOpened:
            raise
        except HisRejected as refusal:
            # 20.1.5 answers a limit as success:false with the reason in msg (its example has no code). The msg
            # is the hospital's own text (it may be an Oracle error): the patient reads the code's fixed words.
            record_hospital_text(refusal)
            reason = patient_message(refusal.code) if ReturnCode.parse(refusal.code) else _LIMIT_REACHED
            code = RefusalCode.of(refusal.code) if (refusal.code or "").strip() else None
            return RegistrationCheck(allowed=False, reason=reason, code=code)
        return RegistrationCheck(allowed=True, reason=None, code=None)


@strawberry.type(description="A group of departments (一级科室, 20.1.1), e.g. 内科.")
class DepartmentGroup:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this group.")
    id: strawberry.ID = strawberry.field(description="The group's code (deptTypeId).")
    name: str = strawberry.field(description="The group's name (deptTypeName).")
    address: str | None = strawberry.field(description="Where it is (deptAddr).")
    departments: list[Department] = strawberry.field(
        description=(
            "Its departments. A hospital that has only one level of departments sends the department as the "
            "group itself (spec 20.1.1); it is then listed here as the group's only department."
        )
    )

    @classmethod
    def from_reply(cls, hospital_id: str, group: TodayDepartmentGroup) -> DepartmentGroup:
        hospital = strawberry.ID(hospital_id)
        departments = [
            Department(
                hospital_id=hospital,
                id=strawberry.ID(d.department_id),
                name=d.department_name or "",
                address=d.dept_addr,
            )
            for d in group.dept
            if d.department_id
        ] or [
            Department(
                hospital_id=hospital,
                id=strawberry.ID(group.dept_type_id),
                name=group.dept_type_name,
                address=group.dept_addr,
            )
        ]
        return cls(
            hospital_id=hospital,
            id=strawberry.ID(group.dept_type_id),
            name=group.dept_type_name,
            address=group.dept_addr,
            departments=departments,
        )


async def _today_departments(info: Info, hospital_id: str) -> list[DepartmentGroup] | None:
    reply = await ask_hospital(info, hospital_id, TODAY_REGISTER_GET_DEPTS, TodayRegisterGetDeptsRequest())
    return [DepartmentGroup.from_reply(hospital_id, group) for group in reply or []]


@strawberry.type(description="One slot of a doctor's bookable half-day (预约号源, 21.2.1).")
class AppointmentSlot:
    slot_id: strawberry.ID = strawberry.field(
        description="The slot's opaque id: booking (createAppointmentPayment) takes it as slotId."
    )
    from_: datetime | None = strawberry.field(
        name="from", description="When it starts (startTime on the session's day); null when not written."
    )
    to: datetime | None = strawberry.field(description="When it ends (endTime); null when the hospital sent none.")
    capacity: int | None = strawberry.field(description="How many it takes (预约上限, upLimit).")
    booked: int | None = strawberry.field(description="How many have booked it (已预约量, appNum).")
    remaining: int | None = strawberry.field(description="capacity - booked, when both are known.")
    serial_number: str | None = strawberry.field(description="The slot's number (号源序号, serialNumber).")


@strawberry.type(description="A doctor's bookable half-day (预约挂号, 21.2): its slots and the patient's surcharge.")
class AppointmentSession:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    department_id: str = strawberry.field(description="The department's code (the spec's deptCode).")
    doctor_id: str = strawberry.field(description="The doctor's code (the spec's docCode).")
    date: date_type = strawberry.field(description="The day (scheduleDate).")
    half_day: HalfDay = strawberry.field(description="Morning or afternoon (the spec's amPm).")

    @property
    def _am_pm(self) -> str:
        if self.half_day is HalfDay.EVENING:
            raise Refused(
                RefusalCode.PARAMETER_RANGE,
                "预约挂号只能预约上午或下午的号源。",
                field="halfDay",
                hospital_id=self.hospital_id,
            )
        return str(self.half_day.value)

    def _hos_code(self, info: Info) -> str:
        hospital = info.context.registry.hospital(self.hospital_id)
        # 21.x names a hospital by the provincial platform's hosCode; the registry holds it where known.
        return hospital.hos_code if hospital is not None and hospital.hos_code else str(self.hospital_id)

    @strawberry.field(description="The session's slots with their capacity and bookings (医生挂号余量, 21.2.1).")
    async def slots(self, info: Info) -> list[AppointmentSlot] | None:
        hos_code = self._hos_code(info)
        request = RemainAppRequest(
            hos_code=hos_code,
            dept_code=self.department_id,
            doc_code=self.doctor_id,
            schedule_date=f"{self.date:%Y%m%d}",
            am_pm=self._am_pm,
        )
        reply = await ask_hospital(info, self.hospital_id, REMAIN_APP, request)
        slots = []
        for row in reply or []:
            capacity, booked = count(row.up_limit), count(row.app_num)
            slots.append(
                AppointmentSlot(
                    slot_id=slot_id(
                        info,
                        SlotKind.APPOINTMENT,
                        self.hospital_id,
                        hos_code=hos_code,
                        department_id=self.department_id,
                        doctor_id=self.doctor_id,
                        date=self.date.isoformat(),
                        half_day=str(self.half_day.value),
                        start_time=row.start_time,
                        end_time=row.end_time,
                        his_time_id=row.his_time_id,
                        serial_number=row.serial_number,
                    ),
                    from_=at(self.date, row.start_time),
                    to=at(self.date, row.end_time),
                    capacity=capacity,
                    booked=booked,
                    remaining=None if capacity is None or booked is None else max(0, capacity - booked),
                    serial_number=row.serial_number,
                )
            )
        return slots

    @strawberry.field(
        description="The extra fee this patient pays on top of the registration fee (附加费, 21.2.5); 0 when none."
    )
    async def surcharge(
        self,
        info: Info,
        medical_card_number: MedicalCardNumber,
        patient_name: Annotated[
            str, strawberry.argument(description="The patient's name (就诊人姓名), as the hospital knows it.")
        ],
        id_card_number: IdCardNumber = None,
    ) -> Money | None:
        request = QuerySurchargeRequest(
            medical_card_number=medical_card_number,
            id_card=id_card_number,
            patient_name=patient_name,
            dept_code=self.department_id,
            doc_code=self.doctor_id,
            schedule_date=f"{self.date:%Y%m%d}",
            am_pm=self._am_pm,
        )
        reply = await ask_hospital(info, self.hospital_id, QUERY_SURCHARGE, request)
        # 10002 here means nothing extra to pay, as the spec's "不需要附加返回0" would.
        return Money(reply.surcharge) if reply is not None else Money(Decimal(0))


@strawberry.type
class HospitalRegistrationFields:
    """Registration fields of Hospital (20.1.1-20.1.3, 20.1.5, 20.1.6, 21.2.1, 21.2.5)."""

    if TYPE_CHECKING:
        id: strawberry.ID

    @strawberry.field(
        description=(
            "Departments taking registrations today, in their groups (当天可挂号科室, 20.1.1); each department "
            "leads to its schedules, doctors and slots. Null with an error when this hospital fails."
        )
    )
    async def today_departments(self, info: Info) -> list[DepartmentGroup] | None:
        return await _today_departments(info, self.id)

    @strawberry.field(
        description=(
            "One department taking registrations today, by its code, found in today's departments (20.1.1); "
            "null when the hospital lists no such department today."
        )
    )
    async def today_department(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The department's code (departmentId).")],
    ) -> Department | None:
        groups = await _today_departments(info, self.id) or []
        return next((d for group in groups for d in group.departments if d.id == id), None)

    @strawberry.field(description="Today's schedules of one department, by its code (20.1.2).")
    async def today_schedules(
        self,
        info: Info,
        department_id: Annotated[
            str,
            strawberry.argument(description="The department's code (科室编码, departmentId), from todayDepartments."),
        ],
    ) -> list[TodaySchedule] | None:
        return await today_schedules(info, self.id, department_id)

    @strawberry.field(
        description=(
            "A doctor's bookable half-day for appointment registration (21.2): its slots (21.2.1), each with the "
            "slotId booking takes, and the patient's surcharge (21.2.5)."
        )
    )
    def appointment_session(
        self,
        department_id: Annotated[
            str, strawberry.argument(description="The department's code (科室编码, the spec's deptCode).")
        ],
        doctor_id: Annotated[str, strawberry.argument(description="The doctor's code (医生编码, the spec's docCode).")],
        date: Day,
        half_day: Annotated[
            HalfDay, strawberry.argument(description="MORNING or AFTERNOON (amPm); chapter 21 books no evenings.")
        ],
    ) -> AppointmentSession:
        return AppointmentSession(
            hospital_id=self.id, department_id=department_id, doctor_id=doctor_id, date=date, half_day=half_day
        )
