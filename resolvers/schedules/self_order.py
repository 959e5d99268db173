"""Self-ordered examinations (自选套餐, 29.1.1-29.1.2) and bookable lab tests (检验项目预约, 33.1.1-33.1.2)."""

from __future__ import annotations

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
from ..scalars import Money
from .common import IdCardNumber, MedicalCardNumber, ask_hospital, count

# 33.1.1 scheduleType 4: no slot limit, and the spec says 33.1.2 is then not called.
UNLIMITED_SCHEDULE = "4"


@strawberry.type(description="A day a self-ordered selection can be done (可预约日期, 29.1.2).")
class SelfOrderDate:
    date: str = strawberry.field(description="The day, yyyy-MM-dd (appointmentDate).")
    remaining: int | None = strawberry.field(description="Places left that day (可预约号源数, count).")


@strawberry.input(description="One group a patient picked, with the items picked in it (29.1.2 group).")
class SelfOrderSelection:
    group_id: str = strawberry.field(description="The group's id (groupId).")
    item_ids: list[str] = strawberry.field(description="The ids of the items picked in it (itemId).")


async def _dates(
    info: Info, hospital_id: str, *, card: str, id_card: str | None, groups: list[SelectedGroup]
) -> list[SelfOrderDate] | None:
    request = SelfPrescriptionSelfAppointmentDateRequest(medical_card_number=card, id_card=id_card, group=groups)
    reply = await ask_hospital(info, hospital_id, SELF_PRESCRIPTION_SELF_APPOINTMENT_DATE, request)
    return [SelfOrderDate(date=d.appointment_date, remaining=count(d.count)) for d in reply or []]


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
    id_card: strawberry.Private[str | None]

    @strawberry.field(description="Days this whole group can be done (29.1.2).")
    async def dates(self, info: Info) -> list[SelfOrderDate] | None:
        group = SelectedGroup(group_id=self.id, item=[SelectedItem(item_id=item.id) for item in self.items])
        return await _dates(info, self.hospital_id, card=self.medical_card_number, id_card=self.id_card, groups=[group])


@strawberry.type(description="A department offering self-ordered examinations (29.1.1).")
class SelfOrderDepartment:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    id: str = strawberry.field(description="The department's id (deptId).")
    name: str = strawberry.field(description="The department (deptName).")
    groups: list[SelfOrderGroup] = strawberry.field(description="Its groups; a patient picks at least one.")


@strawberry.type(description="Places left in one period of a lab schedule (号源, 33.1.2).")
class LabNumberSource:
    id: str = strawberry.field(description="The number source's id (sourceId); locking it sends it.")
    start_time: str = strawberry.field(description="Start, HH:mm (startTime).")
    end_time: str = strawberry.field(description="End, HH:mm (endTime).")
    remaining: int = strawberry.field(description="Places left (remainNum).")


@strawberry.type(description="A day (or half-day) a lab test can be booked for (排班, 33.1.1 scheduleList).")
class LabSchedule:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    id: str = strawberry.field(description="The schedule's id (排班Id, schedulingId).")
    date: str = strawberry.field(description="The day, yyyy-MM-dd (workDate).")
    capacity: int = strawberry.field(description="Places in all (可预约号源总数, sourceNumber).")
    remaining: int = strawberry.field(description="Places left (剩余预约号源数, currentNumber).")
    shift_name: str = strawberry.field(description="上午, 下午 or 全天 (shiftName).")
    shift_code: str = strawberry.field(description="The hospital's shift code, e.g. AM (shiftCode).")
    unlimited: bool = strawberry.field(description="True when places are not limited (scheduleType 4).")
    schedule_type: str = strawberry.field(
        description="1 time points (one each), 2 periods, 3 half-days, 4 unlimited (scheduleType)."
    )

    @strawberry.field(
        description="The periods and places left (33.1.2); empty without asking the hospital when unlimited."
    )
    async def number_sources(self, info: Info) -> list[LabNumberSource] | None:
        if self.unlimited:
            return []
        request = ProjectApptGetNumberSourceRequest(scheduling_id=self.id)
        reply = await ask_hospital(info, self.hospital_id, PROJECT_APPT_GET_NUMBER_SOURCE, request)
        return [
            LabNumberSource(id=s.source_id, start_time=s.start_time, end_time=s.end_time, remaining=s.remain_num)
            for s in reply or []
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
        self, info: Info, medical_card_number: MedicalCardNumber, id_card: IdCardNumber = None
    ) -> list[SelfOrderDepartment] | None:
        request = SelfPrescriptionGetSelfHisChargeListRequest(medical_card_number=medical_card_number, id_card=id_card)
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
                        id_card=id_card,
                    )
                    for g in dept.group
                ],
            )
            for dept in reply or []
        ]

    @strawberry.field(description="Days a selection of several groups can be done (可预约日期, 29.1.2).")
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
        id_card: IdCardNumber = None,
    ) -> list[SelfOrderDate] | None:
        groups = [
            SelectedGroup(group_id=s.group_id, item=[SelectedItem(item_id=i) for i in s.item_ids]) for s in selection
        ]
        return await _dates(info, self.id, card=medical_card_number, id_card=id_card, groups=groups)

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
                        date=s.work_date,
                        capacity=s.source_number,
                        remaining=s.current_number,
                        shift_name=s.shift_name,
                        shift_code=s.shift_code,
                        unlimited=s.schedule_type.strip() == UNLIMITED_SCHEDULE,
                        schedule_type=s.schedule_type.strip(),
                    )
                    for s in p.schedule_list
                ],
            )
            for p in reply or []
        ]
