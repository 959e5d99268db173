"""Physical-examination packages, items, booking days and times, notices and employer bookings (体检, 28.x).

28.1.1, 28.1.4 and 28.1.9 name the patient (card and ID number), 28.1.10 the ID number: those take
them as arguments. The patient's own booking state (28.1.5, 28.1.8) is on Patient.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.physical_exam import (
    PHYSICAL_GET_ITEM_LIST,
    PHYSICAL_GET_NOTICE,
    PHYSICAL_GET_ORG_GROUP,
    PHYSICAL_GET_ORG_GROUP_COMB,
    PHYSICAL_GET_ORG_REG,
    PHYSICAL_GET_PACKAGE_DETAIL_LIST,
    PHYSICAL_GET_PACKAGE_LIST,
    PHYSICAL_GET_PHYSICAL_REMAIN,
    PHYSICAL_GET_TJ_BOOKING_TIME,
    EmployerGroupCombination,
    EmployerGroupItem,
    ExamPackageItem,
    PhysicalGetItemListRequest,
    PhysicalGetNoticeRequest,
    PhysicalGetOrgGroupCombRequest,
    PhysicalGetOrgGroupRequest,
    PhysicalGetOrgRegRequest,
    PhysicalGetPackageDetailListRequest,
    PhysicalGetPackageListRequest,
    PhysicalGetPhysicalRemainRequest,
    PhysicalGetTjBookingTimeRequest,
)

from ..arguments import From, To, in_order, spec_day
from ..context import Info
from ..records.common import coded
from ..scalars import Money
from .common import MedicalCardNumber, RequiredIdCardNumber, ask_hospital, at, count, flag, read_day
from .slot_ids import SlotKind, slot_id

ExamDate = Annotated[date, strawberry.argument(description="The day of the examination (体检日期).")]
PackageId = Annotated[
    str | None, strawberry.argument(description="A package's id (套餐ID, packageId); leave it out for any package.")
]


@strawberry.enum(description="What a physical-examination package is for (套餐类型, bnsTypeCode).")
class PhysicalExamKind(Enum):
    HEALTH = strawberry.enum_value("0", description="健康体检: a general health check.")
    OCCUPATIONAL = strawberry.enum_value("1", description="职业病体检: occupational disease screening.")
    EMPLOYMENT = strawberry.enum_value("2", description="招工体检: pre-employment check.")
    GREEN_CHANNEL = strawberry.enum_value("3", description="绿色通道: fast track.")
    HEALTH_CERTIFICATE = strawberry.enum_value("4", description="健康证体检: for a health certificate.")


@strawberry.enum(description="Who an item or group applies to (适用性别, sexCode).")
class AppliesTo(Enum):
    EVERYONE = strawberry.enum_value("0", description="全部.")
    MEN = strawberry.enum_value("1", description="仅男.")
    WOMEN = strawberry.enum_value("2", description="仅女.")


@strawberry.type(description="An item of a package or employer group (体检项目, 28.1.2 / 28.1.12).")
class PhysicalExamPackageItem:
    code: str = strawberry.field(description="The item's code (项目编号, combCode).")
    name: str = strawberry.field(description="The item (项目名称, combName).")
    price: Money = strawberry.field(description="What it costs (实际价格, acPrice).")
    standard_price: Money = strawberry.field(description="Its list price (标准价格, stPrice).")

    @classmethod
    def from_reply(
        cls, item: ExamPackageItem | EmployerGroupCombination | EmployerGroupItem
    ) -> PhysicalExamPackageItem:
        return cls(
            code=item.comb_code, name=item.comb_name, price=Money(item.ac_price), standard_price=Money(item.st_price)
        )


@strawberry.type(description="Places left for physical examinations on one day (余号, 28.1.3).")
class PhysicalExamDayQuota:
    date: date = strawberry.field(description="The day.")
    remaining: int = strawberry.field(description="Places left that day (余号号源, poolNumber).")


async def _quota(
    info: Info, hospital_id: str, start: date, end: date, package_id: str | None
) -> list[PhysicalExamDayQuota] | None:
    in_order(start, end)
    request = PhysicalGetTjBookingTimeRequest(start_date=spec_day(start), end_date=spec_day(end), package_id=package_id)
    reply = await ask_hospital(info, hospital_id, PHYSICAL_GET_TJ_BOOKING_TIME, request)
    quota = [(read_day(day.date), day.pool_number) for day in reply or []]
    return [PhysicalExamDayQuota(date=day, remaining=left) for day, left in quota if day is not None]


@strawberry.type(description="A time a physical examination can be booked for (可预约时间, 28.1.4).")
class PhysicalExamTime:
    slot_id: strawberry.ID = strawberry.field(
        description="The time's opaque id: booking (createPhysicalExamPayment) takes it as slotId."
    )
    at: datetime = strawberry.field(description="When the examination would be.")


async def _times(
    info: Info, hospital_id: str, *, card: str, id_card_number: str, day: date, package_id: str | None
) -> list[PhysicalExamTime] | None:
    request = PhysicalGetPhysicalRemainRequest(
        medical_card_number=card, id_card=id_card_number, date=spec_day(day), package_id=package_id
    )
    reply = await ask_hospital(info, hospital_id, PHYSICAL_GET_PHYSICAL_REMAIN, request)
    times = []
    for text in reply or []:
        moment = at(day, text)
        if moment is None:  # not a time of day: nothing a patient could book
            continue
        ref = slot_id(
            info,
            SlotKind.PHYSICAL_EXAM,
            hospital_id,
            date=day.isoformat(),
            time=f"{moment:%H:%M}",
            package_id=package_id,
        )
        times.append(PhysicalExamTime(slot_id=ref, at=moment))
    return times


@strawberry.type(description="A physical-examination package the hospital offers this patient (套餐, 28.1.1).")
class PhysicalExamPackage:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this package.")
    id: str = strawberry.field(description="The package's id (packageId).")
    name: str | None = strawberry.field(description="The package's name (packageName).")
    introduction: str = strawberry.field(description="A short description (套餐简介, briefIntroduction).")
    kind: PhysicalExamKind | None = strawberry.field(description="What the package is for (bnsTypeCode).")
    profession_code: str | None = strawberry.field(description="The trade it is for (工种编码, professionCode).")
    valid_from: date | None = strawberry.field(description="First day it can be booked (startDate).")
    valid_until: date | None = strawberry.field(description="Last day it can be booked (endDate).")
    price: Money = strawberry.field(description="What it costs (实际价格, acPrice).")
    standard_price: Money = strawberry.field(description="Its list price (标准价格, stPrice).")
    medical_card_number: strawberry.Private[str]
    id_card_number: strawberry.Private[str]

    @strawberry.field(description="The package's items (套餐项目明细, 28.1.2).")
    async def items(self, info: Info) -> list[PhysicalExamPackageItem] | None:
        request = PhysicalGetPackageDetailListRequest(package_id=self.id)
        reply = await ask_hospital(info, self.hospital_id, PHYSICAL_GET_PACKAGE_DETAIL_LIST, request)
        return [PhysicalExamPackageItem.from_reply(item) for item in reply or []]

    @strawberry.field(description="Places left for this package per day from `from` to `to`, inclusive (28.1.3).")
    async def quota(self, info: Info, from_: From, to: To) -> list[PhysicalExamDayQuota] | None:
        return await _quota(info, self.hospital_id, from_, to, self.id)

    @strawberry.field(
        description="The times this patient can come for this package on a day (28.1.4), each with its slotId."
    )
    async def booking_times(self, info: Info, date: ExamDate) -> list[PhysicalExamTime] | None:
        return await _times(
            info,
            self.hospital_id,
            card=self.medical_card_number,
            id_card_number=self.id_card_number,
            day=date,
            package_id=self.id,
        )


@strawberry.type(description="A group of an employer's examination booking (单位分组, 28.1.11).")
class EmployerGroup:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    id: str = strawberry.field(description="The group's id (groupId).")
    name: str = strawberry.field(description="The group's name (groupName).")
    applies_to: AppliesTo | None = strawberry.field(description="Who the group is for (sexCode).")
    min_age: int | None = strawberry.field(description="Youngest age it applies to (minAge); null when open.")
    max_age: int | None = strawberry.field(description="Oldest age it applies to (maxAge); null when open.")
    listed_items: strawberry.Private[list[PhysicalExamPackageItem]]
    """The items 28.1.11 already gave (groupCombs)."""

    @strawberry.field(
        description=(
            "The group's items: those 28.1.11 listed with the group (groupCombs), else asked of 28.1.12 (单位分组项目)."
        )
    )
    async def items(self, info: Info) -> list[PhysicalExamPackageItem] | None:
        if self.listed_items:
            return self.listed_items
        request = PhysicalGetOrgGroupCombRequest(group_id=self.id)
        reply = await ask_hospital(info, self.hospital_id, PHYSICAL_GET_ORG_GROUP_COMB, request)
        return [PhysicalExamPackageItem.from_reply(item) for item in reply or []]


@strawberry.type(description="An employer that booked examinations for this person (单位预约, 28.1.10).")
class EmployerBooking:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    employer_id: str = strawberry.field(description="The employer's id (单位id, orgId).")
    employer_name: str = strawberry.field(description="The employer (单位名称, orgName).")

    @strawberry.field(description="The employer's groups (单位分组, 28.1.11).")
    async def groups(self, info: Info) -> list[EmployerGroup] | None:
        request = PhysicalGetOrgGroupRequest(org_id=self.employer_id)
        reply = await ask_hospital(info, self.hospital_id, PHYSICAL_GET_ORG_GROUP, request)
        return [
            EmployerGroup(
                hospital_id=self.hospital_id,
                id=group.group_id,
                name=group.group_name,
                applies_to=coded(AppliesTo, group.sex_code),
                min_age=count(group.min_age),
                max_age=count(group.max_age),
                listed_items=[PhysicalExamPackageItem.from_reply(item) for item in group.group_combs],
            )
            for group in reply or []
        ]


@strawberry.type(description="An item that can be added to an examination (体检项目, 28.1.13).")
class PhysicalExamItem:
    code: str = strawberry.field(description="The item's code (项目编号, combCode).")
    name: str = strawberry.field(description="The item (项目名称, name).")
    department_code: str = strawberry.field(description="The department doing it (科室编号, deptCode).")
    department_name: str = strawberry.field(description="The department doing it (科室名称, deptName).")
    applies_to: AppliesTo | None = strawberry.field(description="Who it is for (sexCode).")
    before_meal: bool = strawberry.field(description="True when it must be done fasting (餐前项目, beforeMealFlag).")
    price: Money = strawberry.field(description="What it costs (实际价格, acPrice).")
    standard_price: Money = strawberry.field(description="Its list price (标准价格, stPrice).")
    discount: str = strawberry.field(description="The discount as the hospital writes it (折扣, disc), e.g. 100.")


@strawberry.type(description="One page of the examination items (28.1.13).")
class PhysicalExamItemPage:
    total_count: int = strawberry.field(description="How many items there are in all (count).")
    items: list[PhysicalExamItem] = strawberry.field(description="The items of this page.")


@strawberry.type
class HospitalPhysicalExamFields:
    """Physical-examination fields of Hospital (28.1.1-28.1.4, 28.1.9-28.1.13)."""

    if TYPE_CHECKING:
        id: strawberry.ID

    @strawberry.field(description="Packages this patient can book (套餐列表, 28.1.1); professionCode picks a trade's.")
    async def physical_exam_packages(
        self,
        info: Info,
        medical_card_number: MedicalCardNumber,
        id_card_number: RequiredIdCardNumber,
        profession_code: Annotated[
            str | None,
            strawberry.argument(description="A trade's code (工种ID, professionCode) for occupational packages."),
        ] = None,
    ) -> list[PhysicalExamPackage] | None:
        request = PhysicalGetPackageListRequest(
            medical_card_number=medical_card_number, id_card=id_card_number, profession_code=profession_code
        )
        reply = await ask_hospital(info, self.id, PHYSICAL_GET_PACKAGE_LIST, request)
        return [
            PhysicalExamPackage(
                hospital_id=self.id,
                id=p.package_id,
                name=p.package_name,
                introduction=p.brief_introduction,
                kind=coded(PhysicalExamKind, p.bns_type_code),
                profession_code=p.profession_code,
                valid_from=read_day(p.start_date),
                valid_until=read_day(p.end_date),
                price=Money(p.ac_price),
                standard_price=Money(p.st_price),
                medical_card_number=medical_card_number,
                id_card_number=id_card_number,
            )
            for p in reply or []
        ]

    @strawberry.field(
        description=(
            "Places left per day from `from` to `to`, inclusive (余号, 28.1.3); packageId narrows to a package."
        )
    )
    async def physical_exam_quota(
        self, info: Info, from_: From, to: To, package_id: PackageId = None
    ) -> list[PhysicalExamDayQuota] | None:
        return await _quota(info, self.id, from_, to, package_id)

    @strawberry.field(description="The times this patient can come on a day (28.1.4), each with its slotId.")
    async def physical_exam_times(
        self,
        info: Info,
        medical_card_number: MedicalCardNumber,
        id_card_number: RequiredIdCardNumber,
        date: ExamDate,
        package_id: PackageId = None,
    ) -> list[PhysicalExamTime] | None:
        return await _times(
            info, self.id, card=medical_card_number, id_card_number=id_card_number, day=date, package_id=package_id
        )

    @strawberry.field(description="What to know before the examination, as rich text (HTML) (体检须知, 28.1.9).")
    async def physical_exam_notice(
        self, info: Info, medical_card_number: MedicalCardNumber, id_card_number: RequiredIdCardNumber
    ) -> str | None:
        request = PhysicalGetNoticeRequest(medical_card_number=medical_card_number, id_card=id_card_number)
        return await ask_hospital(info, self.id, PHYSICAL_GET_NOTICE, request)

    @strawberry.field(description="Employers that booked examinations for the person with this ID number (28.1.10).")
    async def employer_bookings(
        self,
        info: Info,
        id_card_number: Annotated[
            str, strawberry.argument(description="The ID number (身份证号) the employer booked under.")
        ],
    ) -> list[EmployerBooking] | None:
        request = PhysicalGetOrgRegRequest(id_card=id_card_number)
        reply = await ask_hospital(info, self.id, PHYSICAL_GET_ORG_REG, request)
        return [
            EmployerBooking(hospital_id=self.id, employer_id=org.org_id, employer_name=org.org_name)
            for org in reply or []
        ]

    @strawberry.field(
        description="The examination items, a page at a time (体检项目列表, 28.1.13); page counts from 1."
    )
    async def physical_exam_items(
        self,
        info: Info,
        page: Annotated[int, strawberry.argument(description="Which page, from 1 (当前页, currentPage).")] = 1,
        page_size: Annotated[int, strawberry.argument(description="Items per page (显示条数, pageSize).")] = 20,
    ) -> PhysicalExamItemPage | None:
        request = PhysicalGetItemListRequest(current_page=str(page), page_size=str(page_size))
        reply = await ask_hospital(info, self.id, PHYSICAL_GET_ITEM_LIST, request)
        if reply is None:
            return PhysicalExamItemPage(total_count=0, items=[])
        return PhysicalExamItemPage(
            total_count=reply.count,
            items=[
                PhysicalExamItem(
                    code=item.comb_code,
                    name=item.name,
                    department_code=item.dept_code,
                    department_name=item.dept_name,
                    applies_to=coded(AppliesTo, item.sex_code),
                    before_meal=flag(item.before_meal_flag) is True,
                    price=Money(item.ac_price),
                    standard_price=Money(item.st_price),
                    discount=item.disc,
                )
                for item in reply.item_list
            ],
        )
