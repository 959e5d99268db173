"""Self-ordered examinations (自选套餐, 29.1.1-29.1.2) and bookable lab tests (检验项目预约, 33.1.1-33.1.2)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.lab_appointments import (
    PROJECT_APPT_GET_NUMBER_SOURCE,
    PROJECT_APPT_GET_PROJECT_SCHEDULE,
    ProjectApptGetNumberSourceRequest,
    ProjectApptGetProjectScheduleRequest,
)
from his_clients.models.self_order import (
    SELF_PRESCRIPTION_GET_SELF_HIS_CHARGE_LIST,
    SELF_PRESCRIPTION_SELF_APPOINTMENT_DATE,
    SelectedGroup,
    SelectedItem,
    SelfPrescriptionGetSelfHisChargeListRequest,
    SelfPrescriptionSelfAppointmentDateRequest,
)

from ..context import Info
from ..records.common import coded
from ..scalars import Money
from ..values import HalfDay
from .common import IdCardNumber, MedicalCardNumber, ask_hospital, at, count, read_day
from .slot_ids import SlotKind, slot_id


@strawberry.enum(description="How a lab schedule hands out its places (33.1.1 scheduleType).")
class LabScheduleType(Enum):
    TIME_POINT = strawberry.enum_value("1", description="时间点: each number source is one point in time, one place.")
    TIME_PERIOD = strawberry.enum_value("2", description="时间段: each number source is a period several share.")
    HALF_DAY = strawberry.enum_value("3", description="半天: each number source is a half-day.")
    UNLIMITED = strawberry.enum_value(
        "4", description="不限号: places are not limited; there are no number sources (33.1.2 is not asked)."
    )


@strawberry.type(description="A day a self-ordered selection can be done (可预约日期, 29.1.2).")
class SelfOrderDate:
    slot_id: strawberry.ID = strawberry.field(
        description="The day's opaque id for this selection: ordering (createSelfOrderPayment) takes it as slotId."
    )
    date: date = strawberry.field(description="The day (appointmentDate).")
    remaining: int | None = strawberry.field(description="Places left that day (可预约号源数, count).")


@strawberry.input(description="One group a patient picked, with the items picked in it (29.1.2 group).")
class SelfOrderSelection:
    group_id: str = strawberry.field(description="The group's id (groupId).")
    item_ids: list[str] = strawberry.field(description="The ids of the items picked in it (itemId).")


async def _dates(
    info: Info, hospital_id: str, *, card: str, id_card_number: str | None, groups: list[SelectedGroup]
) -> list[SelfOrderDate] | None:
    request = SelfPrescriptionSelfAppointmentDateRequest(medical_card_number=card, id_card=id_card_number, group=groups)
    reply = await ask_hospital(info, hospital_id, SELF_PRESCRIPTION_SELF_APPOINTMENT_DATE, request)
    selection = {g.group_id: [i.item_id for i in g.item] for g in groups}
    dates = []
    for answer in reply or []:
        day = read_day(answer.appointment_date)
        if day is None:  # not a day a patient could pick
            continue
        ref = slot_id(info, SlotKind.SELF_ORDER, hospital_id, date=day.isoformat(), groups=selection)
        dates.append(SelfOrderDate(slot_id=ref, date=day, remaining=count(answer.count)))
    return dates


@strawberry.type(description="An item of a self-order group, its smallest unit (执行单项, 29.1.1).")
class SelfOrderItem:
    id: str = strawberry.field(description="The item's id (itemId).")
    name: str = strawberry.field(description="The item (itemName).")
    price: Money = strawberry.field(description="What it costs (price).")
    unit: str = strawberry.field(description="What the price is per, e.g. 元/次 (unit).")


@strawberry.type(description="A group a patient can order without a doctor (组, 29.1.1); the least one can pick.")
class SelfOrderGroup:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    id: str = strawberry.field(description="The group's id (groupId).")
    name: str = strawberry.field(description="The group (groupName).")
    required: bool = strawberry.field(
        description="True when picking anything of the department requires this group too (necessary 1)."
    )
    single_choice: bool = strawberry.field(description="True when only one item of it may be picked (isSingle 1).")
    nucleic_acid: bool = strawberry.field(description="True for a nucleic-acid test group (groupType 1).")
    purpose: str | None = strawberry.field(description="What the examination is for (检查意义, meaning).")
    advised_time: str | None = strawberry.field(description="When it can be done (adviceTime).")
    place: str | None = strawberry.field(description="Where it is done (place).")
    items: list[SelfOrderItem] = strawberry.field(description="Its items.")
    medical_card_number: strawberry.Private[str]
    id_card_number: strawberry.Private[str | None]

    @strawberry.field(description="Days this whole group can be done (29.1.2), each with its slotId.")
    async def dates(self, info: Info) -> list[SelfOrderDate] | None:
        group = SelectedGroup(group_id=self.id, item=[SelectedItem(item_id=item.id) for item in self.items])
        return await _dates(
            info, self.hospital_id, card=self.medical_card_number, id_card_number=self.id_card_number, groups=[group]
        )


@strawberry.type(description="A department offering self-ordered examinations (29.1.1).")
class SelfOrderDepartment:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    id: str = strawberry.field(description="The department's id (deptId).")
    name: str = strawberry.field(description="The department (deptName).")
    groups: list[SelfOrderGroup] = strawberry.field(description="Its groups; a patient picks at least one.")


@strawberry.type(description="Places left in one period of a lab schedule (号源, 33.1.2).")
class LabNumberSource:
    slot_id: strawberry.ID = strawberry.field(
        description="The number source's opaque id: booking (createLabAppointmentPayment) takes it as slotId."
    )
    from_: datetime | None = strawberry.field(
        name="from", description="When it starts (startTime on the schedule's day); null when not written."
    )
    to: datetime | None = strawberry.field(description="When it ends (endTime); null when not written.")
    remaining: int = strawberry.field(description="Places left (remainNum).")


@strawberry.type(description="A day (or half-day) a lab test can be booked for (排班, 33.1.1 scheduleList).")
class LabSchedule:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    id: str = strawberry.field(description="The schedule's id (排班Id, schedulingId).")
    date: date | None = strawberry.field(description="The day (workDate); null when the hospital wrote no day.")
    capacity: int = strawberry.field(description="Places in all (可预约号源总数, sourceNumber).")
    remaining: int = strawberry.field(description="Places left (剩余预约号源数, currentNumber).")
    half_day: HalfDay | None = strawberry.field(
        description="Morning or afternoon (shiftCode AM/PM); null for a whole day (全天) or a code of its own."
    )
    shift_name: str = strawberry.field(
        description="The hospital's words for the shift: 上午, 下午 or 全天 (shiftName)."
    )
    unlimited: bool = strawberry.field(description="True when places are not limited (scheduleType 4).")
    schedule_type: LabScheduleType | None = strawberry.field(
        description="How places are handed out (scheduleType); null for a code the spec does not define."
    )
    project_id: strawberry.Private[str]

    def _slot_id(self, info: Info, source_id: str | None) -> strawberry.ID:
        return slot_id(
            info,
            SlotKind.LAB,
            self.hospital_id,
            project_id=self.project_id,
            scheduling_id=self.id,
            date=self.date.isoformat() if self.date else None,
            source_id=source_id,
        )

    @strawberry.field(
        description=(
            "The schedule's own opaque id for booking without a number source (createLabAppointmentPayment's "
            "slotId): only an unlimited schedule (scheduleType 4) takes it; others book a number source's slotId."
        )
    )
    def slot_id(self, info: Info) -> strawberry.ID:
        return self._slot_id(info, None)

    @strawberry.field(
        description="The periods and places left (33.1.2); empty without asking the hospital when unlimited."
    )
    async def number_sources(self, info: Info) -> list[LabNumberSource] | None:
        if self.unlimited:
            return []
        request = ProjectApptGetNumberSourceRequest(scheduling_id=self.id)
        reply = await ask_hospital(info, self.hospital_id, PROJECT_APPT_GET_NUMBER_SOURCE, request)
        return [
            LabNumberSource(
                slot_id=self._slot_id(info, source.source_id),
                from_=at(self.date, source.start_time),
                to=at(self.date, source.end_time),
                remaining=source.remain_num,
            )
            for source in reply or []
        ]


@strawberry.type(description="A lab test that can be booked and paid online (可预约检验项目, 33.1.1).")
class LabProject:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    id: str = strawberry.field(description="The project's id (projectId).")
    name: str = strawberry.field(description="The test (projectName).")
    price: Money = strawberry.field(description="What it costs (项目价格, projectPrice).")
    consultation_fee: Money | None = strawberry.field(description="The consultation fee (诊查费, inspectingPrice).")
    diagnosis: str | None = strawberry.field(description="The order's diagnosis (诊断(医嘱), diagnoseName).")
    ordering_doctor_id: str | None = strawberry.field(description="The ordering doctor's code (billDocSysId).")
    schedules: list[LabSchedule] = strawberry.field(description="The days it can be booked for.")


@strawberry.type
class HospitalSelfOrderFields:
    """Self-order and lab-booking fields of Hospital (29.1.1-29.1.2, 33.1.1-33.1.2)."""

    if TYPE_CHECKING:
        id: strawberry.ID

    @strawberry.field(description="What this patient can order without a doctor, by department (自选套餐, 29.1.1).")
    async def self_order_departments(
        self, info: Info, medical_card_number: MedicalCardNumber, id_card_number: IdCardNumber = None
    ) -> list[SelfOrderDepartment] | None:
        request = SelfPrescriptionGetSelfHisChargeListRequest(
            medical_card_number=medical_card_number, id_card=id_card_number
        )
        reply = await ask_hospital(info, self.id, SELF_PRESCRIPTION_GET_SELF_HIS_CHARGE_LIST, request)
        return [
            SelfOrderDepartment(
                hospital_id=self.id,
                id=dept.dept_id,
                name=dept.dept_name,
                groups=[
                    SelfOrderGroup(
                        hospital_id=self.id,
                        id=g.group_id,
                        name=g.group_name,
                        required=g.necessary.strip() == "1",
                        single_choice=g.is_single.strip() == "1",
                        nucleic_acid=(g.group_type or "").strip() == "1",
                        purpose=g.meaning or None,
                        advised_time=g.advice_time or None,
                        place=g.place or None,
                        items=[
                            SelfOrderItem(id=i.item_id, name=i.item_name, price=Money(i.price), unit=i.unit)
                            for i in g.item
                        ],
                        medical_card_number=medical_card_number,
                        id_card_number=id_card_number,
                    )
                    for g in dept.group
                ],
            )
            for dept in reply or []
        ]

    @strawberry.field(
        description="Days a selection of several groups can be done (可预约日期, 29.1.2), each with its slotId."
    )
    async def self_order_dates(
        self,
        info: Info,
        medical_card_number: MedicalCardNumber,
        selection: Annotated[
            list[SelfOrderSelection],
            strawberry.argument(
                description="The groups picked and, in each, the items picked (group/item, the smallest choice)."
            ),
        ],
        id_card_number: IdCardNumber = None,
    ) -> list[SelfOrderDate] | None:
        groups = [
            SelectedGroup(group_id=s.group_id, item=[SelectedItem(item_id=i) for i in s.item_ids]) for s in selection
        ]
        return await _dates(info, self.id, card=medical_card_number, id_card_number=id_card_number, groups=groups)

    @strawberry.field(description="Lab tests that can be booked, with their schedules (33.1.1).")
    async def lab_projects(self, info: Info) -> list[LabProject] | None:
        reply = await ask_hospital(
            info, self.id, PROJECT_APPT_GET_PROJECT_SCHEDULE, ProjectApptGetProjectScheduleRequest()
        )
        return [
            LabProject(
                hospital_id=self.id,
                id=p.project_id,
                name=p.project_name,
                price=Money(p.project_price),
                consultation_fee=Money(p.inspecting_price) if p.inspecting_price is not None else None,
                diagnosis=p.diagnose_name,
                ordering_doctor_id=p.bill_doc_sys_id,
                schedules=[
                    LabSchedule(
                        hospital_id=self.id,
                        id=s.scheduling_id,
                        date=read_day(s.work_date),
                        capacity=s.source_number,
                        remaining=s.current_number,
                        half_day=HalfDay.read(s.shift_code),
                        shift_name=s.shift_name,
                        unlimited=coded(LabScheduleType, s.schedule_type) is LabScheduleType.UNLIMITED,
                        schedule_type=coded(LabScheduleType, s.schedule_type),
                        project_id=p.project_id,
                    )
                    for s in p.schedule_list
                ],
            )
            for p in reply or []
        ]
