"""What a hospital uploaded for appointment registration (21.1.1-21.1.5), as the hospital graph shows it.

Read from our store (services/registration_uploads.py), never from the hospital: these fields answer
even when the hospital is down. Only what the hospital publishes to patients is shown; a doctor's birth
date and sex stay in the store, and visit results (21.1.6) are for operators (resolvers/operators).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any

import strawberry

from services import registration_uploads as uploads
from store.uploads import HospitalUpload

from ..context import Info
from ..records.common import coded
from ..scalars import Money
from ..schedules.common import HalfDay, count, flag, read_day
from ..schedules.registration import AppointmentSession, ScheduleType

MAX_SCHEDULES = 1000


def _text(payload: dict[str, Any], name: str) -> str | None:
    value = payload.get(name)
    return None if value is None or value == "" else str(value)


def _money(text: str | None) -> Money | None:
    if text is None:
        return None
    try:
        return Money(Decimal(text))
    except InvalidOperation:
        return None


@strawberry.enum(description="A hospital's grade in its level (医院等级(等), 21.1.1 grade).")
class HospitalGrade(Enum):
    SPECIAL = strawberry.enum_value("1", description="特等.")
    FIRST = strawberry.enum_value("2", description="甲等.")
    SECOND = strawberry.enum_value("3", description="乙等.")
    THIRD = strawberry.enum_value("4", description="丙等.")
    UNRATED = strawberry.enum_value("9", description="未评.")


@strawberry.type(description="The hospital as it describes itself for appointment registration (机构信息, 21.1.1).")
class UploadedInstitution:
    hos_code: str = strawberry.field(description="The hospital's code given by the provincial platform (hosCode).")
    name: str = strawberry.field(description="The hospital's full name (hosName).")
    level: str = strawberry.field(description="医院等级(级), level: 1 一级, 2 二级, 3 三级, 9 未评.")
    grade: HospitalGrade | None = strawberry.field(description="医院等级(等), grade; null for a code the spec lacks.")
    hospital_type: str = strawberry.field(
        description="医院类型 (hosType), two digits as the spec lists them, e.g. 05 市级综合性医院."
    )
    address: str = strawberry.field(description="The hospital's address (addr).")
    phone: str = strawberry.field(description="The hospital's public telephone number (tel).")
    website: str = strawberry.field(description="The hospital's website (webAddr), as sent.")
    description: str = strawberry.field(description="What the hospital says about itself (description).")
    picture_url: str | None = strawberry.field(description="A picture of the hospital (pic), a URL as sent.")
    latitude: str = strawberry.field(
        description="The lat field as sent (the spec's table calls it 经度 but its example holds a longitude)."
    )
    longitude: str = strawberry.field(
        description="The lng field as sent (the spec's table calls it 纬度 but its example holds a latitude)."
    )
    area_code: str = strawberry.field(description="行政区划 (cantCode): six digits, e.g. 370101.")
    appointments_open: bool | None = strawberry.field(description="Whether appointments are open (isOpenAppoint).")
    registration_rule: str | None = strawberry.field(description="The registration rules shown to patients.")
    traffic_route: str | None = strawberry.field(description="How to get there (交通路线, trafficRoute).")
    booking_days_ahead: int | None = strawberry.field(
        description="How many days ahead patients may book (预约周期, appCycle)."
    )
    release_time: str = strawberry.field(description="When new slots are released each day, HH:mm (放号时间, noTime).")
    updated_at: datetime = strawberry.field(description="When this version was uploaded (UTC).")

    @classmethod
    def from_row(cls, row: HospitalUpload) -> UploadedInstitution:
        p: dict[str, Any] = row.payload
        return cls(
            hos_code=str(p.get("hosCode", row.natural_key)),
            name=str(p.get("hosName", "")),
            level=str(p.get("level", "")),
            grade=coded(HospitalGrade, _text(p, "grade")),
            hospital_type=str(p.get("hosType", "")),
            address=str(p.get("addr", "")),
            phone=str(p.get("tel", "")),
            website=str(p.get("webAddr", "")),
            description=str(p.get("description", "")),
            picture_url=_text(p, "pic"),
            latitude=str(p.get("lat", "")),
            longitude=str(p.get("lng", "")),
            area_code=str(p.get("cantCode", "")),
            appointments_open=flag(_text(p, "isOpenAppoint")),
            registration_rule=_text(p, "registryRule"),
            traffic_route=_text(p, "trafficRoute"),
            booking_days_ahead=count(_text(p, "appCycle")),
            release_time=str(p.get("noTime", "")),
            updated_at=row.updated_at,
        )


@strawberry.enum(description="A doctor's technical title (技术职称, 21.1.2 technicalTitle).")
class TechnicalTitle(Enum):
    ASSISTANT_PHYSICIAN = strawberry.enum_value("1", description="助理执业医师.")
    PHYSICIAN = strawberry.enum_value("2", description="执业医师.")
    ATTENDING = strawberry.enum_value("3", description="主治医师.")
    ASSOCIATE_CHIEF = strawberry.enum_value("4", description="副主任医师.")
    CHIEF = strawberry.enum_value("5", description="主任医师.")


@strawberry.type(description="A doctor of a department, as the hospital uploaded them (21.1.2).")
class UploadedDoctor:
    id: str = strawberry.field(description="The doctor's code at the hospital (doctorId; the spec's docCode).")
    name: str = strawberry.field(description="The doctor's name (docName).")
    title: TechnicalTitle | None = strawberry.field(description="Technical title (technicalTitle).")
    his_title: str | None = strawberry.field(description="The title as the hospital's own system names it (hisTitle).")
    speciality: str | None = strawberry.field(description="What the doctor is good at (医生特长, speciality).")
    photo_url: str | None = strawberry.field(description="The doctor's photo (docPic), a URL as sent.")
    description: str | None = strawberry.field(description="What the hospital says about the doctor.")
    sort_order: int | None = strawberry.field(description="Where the hospital lists the doctor (docSn).")
    updated_at: datetime = strawberry.field(description="When this version was uploaded (UTC).")

    @classmethod
    def from_row(cls, row: HospitalUpload) -> UploadedDoctor:
        p: dict[str, Any] = row.payload
        return cls(
            id=str(p.get("docCode", "")),
            name=str(p.get("docName", "")),
            title=coded(TechnicalTitle, _text(p, "technicalTitle")),
            his_title=_text(p, "hisTitle"),
            speciality=_text(p, "speciality"),
            photo_url=_text(p, "docPic"),
            description=_text(p, "description"),
            sort_order=count(_text(p, "docSn")),
            updated_at=row.updated_at,
        )


@strawberry.type(description="A department and its doctors, as the hospital uploaded them (科室医生, 21.1.2).")
class UploadedDepartment:
    id: str = strawberry.field(description="The department's code (departmentId; the spec's deptCode).")
    name: str = strawberry.field(description="The department's name (deptName).")
    type_code: str = strawberry.field(description="The code of its kind of department (科室类型, typeCode).")
    type_name: str = strawberry.field(description="Its kind of department, e.g. 内科 (typeName).")
    type_sort_order: int | None = strawberry.field(description="Where the kind is listed (typeSn).")
    sort_order: int | None = strawberry.field(description="Where the department is listed (sn).")
    address: str | None = strawberry.field(description="Where it is, e.g. 门诊楼3楼 (address).")
    description: str | None = strawberry.field(description="What the hospital says about it (description).")
    branch_id: str | None = strawberry.field(description="The campus (院区) it belongs to (branchId); null if none.")
    branch_name: str | None = strawberry.field(description="The campus's name (branchName).")
    doctors: list[UploadedDoctor] = strawberry.field(
        description="Its doctors, by sort order then code; a doctor deleted (21.1.3) is gone."
    )
    updated_at: datetime = strawberry.field(description="When this version was uploaded (UTC).")

    @classmethod
    def from_row(cls, row: HospitalUpload, doctors: list[UploadedDoctor]) -> UploadedDepartment:
        p: dict[str, Any] = row.payload
        return cls(
            id=str(p.get("deptCode", row.natural_key)),
            name=str(p.get("deptName", "")),
            type_code=str(p.get("typeCode", "")),
            type_name=str(p.get("typeName", "")),
            type_sort_order=count(_text(p, "typeSn")),
            sort_order=count(_text(p, "sn")),
            address=_text(p, "address"),
            description=_text(p, "description"),
            branch_id=_text(p, "branchId"),
            branch_name=_text(p, "branchName"),
            doctors=sorted(doctors, key=lambda d: (d.sort_order is None, d.sort_order or 0, d.id)),
            updated_at=row.updated_at,
        )


@strawberry.enum(description="The kind of clinic a schedule is (门诊类型, 21.1.4 opType).")
class ClinicKind(Enum):
    EXPERT = strawberry.enum_value("1", description="专家门诊.")
    GENERAL = strawberry.enum_value("2", description="普通门诊.")
    SPECIAL_NEEDS = strawberry.enum_value("3", description="特需门诊.")


@strawberry.enum(description="Whether a schedule takes place as uploaded (21.1.5 停诊/替诊).")
class ScheduleStatus(Enum):
    OPEN = strawberry.enum_value("OPEN", description="As scheduled: no stop was uploaded for the session.")
    STOPPED = strawberry.enum_value("STOPPED", description="停诊: the doctor does not see patients in the session.")
    SUBSTITUTED = strawberry.enum_value(
        "SUBSTITUTED", description="替诊: another doctor (or department) sees the session's patients."
    )


@strawberry.type(description="A session stopped or handed to a substitute (停诊/替诊, 21.1.5).")
class ScheduleStop:
    department_id: str = strawberry.field(description="The department of the stopped session (the spec's deptCode).")
    doctor_id: str = strawberry.field(description="The doctor of the stopped session (the spec's docCode).")
    date: date | None = strawberry.field(description="The session's day (scheduleDate); null when unreadable.")
    half_day: HalfDay | None = strawberry.field(description="Morning or afternoon (amPm).")
    status: ScheduleStatus = strawberry.field(description="STOPPED, or SUBSTITUTED when a substitute is named.")
    substitute_department_id: str | None = strawberry.field(
        description="The department that takes over (替诊科室, altDeptCode); null when none is named."
    )
    substitute_doctor_id: str | None = strawberry.field(
        description="The doctor who takes over (替诊医生, altDocCode); null when none is named."
    )
    reason: str | None = strawberry.field(description="Why, as the hospital wrote it (停/替诊原因, reason).")
    updated_at: datetime = strawberry.field(description="When the stop was uploaded (UTC).")

    @classmethod
    def from_row(cls, row: HospitalUpload) -> ScheduleStop:
        p: dict[str, Any] = row.payload
        substitute_dept, substitute_doc = _text(p, "altDeptCode"), _text(p, "altDocCode")
        substituted = substitute_dept is not None or substitute_doc is not None
        return cls(
            department_id=str(p.get("deptCode", "")),
            doctor_id=str(p.get("docCode", "")),
            date=read_day(_text(p, "scheduleDate")),
            half_day=HalfDay.read(_text(p, "amPm")),
            status=ScheduleStatus.SUBSTITUTED if substituted else ScheduleStatus.STOPPED,
            substitute_department_id=substitute_dept,
            substitute_doctor_id=substitute_doc,
            reason=_text(p, "reason"),
            updated_at=row.updated_at,
        )


@strawberry.type(description="A doctor's half-day schedule as the hospital uploaded it (排班, 21.1.4).")
class UploadedSchedule:
    hospital_id: strawberry.Private[str]
    department_id: str = strawberry.field(description="The department's code (the spec's deptCode).")
    department_name: str = strawberry.field(description="The department's name (deptName).")
    doctor_id: str = strawberry.field(description="The doctor's code (the spec's docCode).")
    doctor_name: str = strawberry.field(description="The doctor's name (docName).")
    date: date | None = strawberry.field(description="The day (scheduleDate); null when unreadable.")
    half_day: HalfDay | None = strawberry.field(description="Morning or afternoon (amPm).")
    clinic_kind: ClinicKind | None = strawberry.field(description="Expert, general or special-needs clinic (opType).")
    his_clinic_kind: str | None = strawberry.field(description="The clinic type in the hospital's words (hisOpType).")
    schedule_type: ScheduleType | None = strawberry.field(description="Time points or time periods (scheduleType).")
    registration_fee: Money | None = strawberry.field(
        description="The registration fee (挂号费, arAmt); null when the hospital sent none (no charge)."
    )
    capacity: int | None = strawberry.field(description="How many may book the half-day (预约上限, upLimit).")
    booked: int | None = strawberry.field(description="How many have booked it (已预约量, appNum).")
    remaining: int | None = strawberry.field(description="capacity - booked, never below 0.")
    status: ScheduleStatus = strawberry.field(description="OPEN, or STOPPED/SUBSTITUTED when a stop was uploaded.")
    stop: ScheduleStop | None = strawberry.field(description="The stop or substitution of this session, if any.")
    updated_at: datetime = strawberry.field(description="When this version of the schedule was uploaded (UTC).")

    @strawberry.field(
        description=(
            "The bookable half-day this schedule offers (21.2): its slots, each with the slotId booking takes, and "
            "the patient's surcharge. Null for a schedule without a readable day or a morning/afternoon."
        )
    )
    def session(self) -> AppointmentSession | None:
        if self.date is None or self.half_day not in (HalfDay.MORNING, HalfDay.AFTERNOON):
            return None
        return AppointmentSession(
            hospital_id=strawberry.ID(self.hospital_id),
            department_id=self.department_id,
            doctor_id=self.doctor_id,
            date=self.date,
            half_day=self.half_day,
        )

    @classmethod
    def from_row(cls, row: HospitalUpload, stop: ScheduleStop | None) -> UploadedSchedule:
        p: dict[str, Any] = row.payload
        capacity, booked = count(_text(p, "upLimit")), count(_text(p, "appNum"))
        return cls(
            hospital_id=row.hospital_id,
            department_id=str(p.get("deptCode", "")),
            department_name=str(p.get("deptName", "")),
            doctor_id=str(p.get("docCode", "")),
            doctor_name=str(p.get("docName", "")),
            date=read_day(_text(p, "scheduleDate")),
            half_day=HalfDay.read(_text(p, "amPm")),
            clinic_kind=coded(ClinicKind, _text(p, "opType")),
            his_clinic_kind=_text(p, "hisOpType"),
            schedule_type=coded(ScheduleType, _text(p, "scheduleType")),
            registration_fee=_money(_text(p, "arAmt")),
            capacity=capacity,
            booked=booked,
            remaining=None if capacity is None or booked is None else max(0, capacity - booked),
            status=stop.status if stop is not None else ScheduleStatus.OPEN,
            stop=stop,
            updated_at=row.updated_at,
        )


ScheduleDate = Annotated[
    date | None, strawberry.argument(description="Only this day (scheduleDate); every day when left out.")
]


def _day_prefix(day: date | None) -> str | None:
    return None if day is None else f"{day:%Y%m%d}{uploads.KEY_SEPARATOR}"


@strawberry.type(
    description=(
        "What the hospital uploaded to the platform for appointment registration (预约挂号, 21.1.1-21.1.5): "
        "its description, departments and doctors, schedules and their stops. Read from the platform's store, "
        "so it answers when the hospital is down; empty until the hospital uploads."
    )
)
class HospitalUploadedData:
    hospital_id: strawberry.Private[str]

    @strawberry.field(description="The hospital's own description (21.1.1); null until it uploads one.")
    async def institution(self, info: Info) -> UploadedInstitution | None:
        rows = await uploads.uploaded(info.context.services.db, hospital_id=self.hospital_id, kind=uploads.INSTITUTION)
        latest = max(rows, key=lambda r: r.updated_at, default=None)
        return UploadedInstitution.from_row(latest) if latest is not None else None

    @strawberry.field(description="Departments with their doctors (21.1.2, less those deleted by 21.1.3), by code.")
    async def departments(self, info: Info) -> list[UploadedDepartment]:
        db = info.context.services.db
        departments = await uploads.uploaded(db, hospital_id=self.hospital_id, kind=uploads.DEPARTMENT)
        doctors: dict[str, list[UploadedDoctor]] = defaultdict(list)
        for row in await uploads.uploaded(db, hospital_id=self.hospital_id, kind=uploads.DOCTOR):
            doctors[str(row.payload.get("deptCode", ""))].append(UploadedDoctor.from_row(row))
        return [UploadedDepartment.from_row(row, doctors[row.natural_key]) for row in departments]

    @strawberry.field(
        description=(
            f"Half-day schedules (21.1.4) by day, half-day, department and doctor, each with its stop or "
            f"substitution (21.1.5) if one was uploaded; at most {MAX_SCHEDULES}."
        )
    )
    async def schedules(
        self,
        info: Info,
        date: ScheduleDate = None,
        department_id: Annotated[
            str | None, strawberry.argument(description="Only this department's (the spec's deptCode).")
        ] = None,
        doctor_id: Annotated[
            str | None, strawberry.argument(description="Only this doctor's (the spec's docCode).")
        ] = None,
    ) -> list[UploadedSchedule]:
        db, prefix = info.context.services.db, _day_prefix(date)
        rows = await uploads.uploaded(
            db, hospital_id=self.hospital_id, kind=uploads.SCHEDULE, key_prefix=prefix, limit=MAX_SCHEDULES
        )
        stops = await uploads.uploaded(
            db, hospital_id=self.hospital_id, kind=uploads.STOP, key_prefix=prefix, limit=MAX_SCHEDULES
        )
        stop_of = {row.natural_key: ScheduleStop.from_row(row) for row in stops}
        return [
            UploadedSchedule.from_row(row, stop_of.get(row.natural_key))
            for row in rows
            if (department_id is None or row.payload.get("deptCode") == department_id)
            and (doctor_id is None or row.payload.get("docCode") == doctor_id)
        ]

    @strawberry.field(
        description=(
            "Sessions stopped or handed to a substitute (21.1.5), by day, including those whose schedule "
            f"was never uploaded; at most {MAX_SCHEDULES}."
        )
    )
    async def stops(self, info: Info, date: ScheduleDate = None) -> list[ScheduleStop]:
        rows = await uploads.uploaded(
            info.context.services.db,
            hospital_id=self.hospital_id,
            kind=uploads.STOP,
            key_prefix=_day_prefix(date),
            limit=MAX_SCHEDULES,
        )
        return [ScheduleStop.from_row(row) for row in rows]
