"""What a hospital stay costs: the stays on record (18.1.2) -> their fee list (18.1.3), fee summary
(18.1.4) and one day's fees (18.1.5); and the one-day list of a current stay (12.1.2 dailycost).

18.1.3 returns every line of a stay at once; the spec lets busy hospitals leave it out in favour of
18.1.4 + 18.1.5, so a front end should prefer feeSummary and feesOfDay.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from his_clients.models.inpatient_costs import (
    QUERY_HOSPITALIZATION_DETAIL,
    QUERY_HOSPITALIZATION_DETAIL_MAIN,
    QUERY_HOSPITALIZATION_DETAIL_ONE_DAY,
    DailyCostSheet,
    HospitalizationCostSheet,
    HospitalizationCostSummary,
    HospitalizationDayCostItem,
    HospitalizationRecord,
    QueryHospitalizationDetailMainRequest,
    QueryHospitalizationDetailOneDayRequest,
    QueryHospitalizationDetailRequest,
)

from ..arguments import Day, spec_day
from ..context import Info
from ..hospitals.entry import HospitalEntry
from ..records.common import day, detail, instant, request, sex
from ..scalars import Money
from ..values import Sex


@strawberry.type(description="One fee line of a hospital stay (住院费用明细).")
class InpatientFeeItem:
    charged_at: dt.datetime | None = strawberry.field(description="When it was charged (time).")
    name: str = strawberry.field(description="What was charged (item).")
    category: str = strawberry.field(description="Fee category (type), e.g. 床位费, 西药费.")
    unit_price: Money = strawberry.field(description="Unit price, up to four decimals.")
    quantity: str = strawberry.field(description="Quantity, as the hospital writes it.")
    amount: Money = strawberry.field(description="The line's amount.")


@strawberry.type(
    description=(
        "A list of a stay's fees with its header: the whole stay (18.1.3 queryHospitalizationDetail) or one day "
        "of the current stay (12.1.2 dailycost, 住院一日清单)."
    )
)
class InpatientFeeSheet:
    patient_name: str = strawberry.field(description="The patient's name.")
    sex: Sex | None = strawberry.field(description="Sex; null when the hospital writes 未知 or 其他.")
    doctor: str = strawberry.field(description="The doctor in charge.")
    admission_number: str = strawberry.field(description="The stay's admission number (住院号).")
    diagnosis: str = strawberry.field(description="Diagnosis (诊断).")
    total: Money = strawberry.field(description="The sheet's total, as the hospital sums it.")
    items: list[InpatientFeeItem] = strawberry.field(description="The fee lines.")

    @classmethod
    def from_reply(cls, r: HospitalizationCostSheet | DailyCostSheet) -> InpatientFeeSheet:
        return cls(
            patient_name=r.name,
            sex=sex(r.sex),
            doctor=r.doctor,
            admission_number=r.admission_number,
            diagnosis=r.diagnosis,
            total=Money(r.total),
            items=[
                InpatientFeeItem(
                    charged_at=instant(d.time),
                    name=d.item,
                    category=d.type,
                    unit_price=Money(d.price),
                    quantity=d.quantity,
                    amount=Money(d.amount),
                )
                for d in r.details
            ],
        )


@strawberry.type(description="What a stay cost on one day (groupByDate).")
class FeesOnDate:
    date: dt.date | None = strawberry.field(description="The day.")
    total: Money = strawberry.field(description="What that day cost.")


@strawberry.type(description="What a stay cost per charge item (groupByCharge).")
class FeesPerItem:
    name: str = strawberry.field(description="The charge item.")
    unit_price: Money = strawberry.field(description="Its unit price, up to four decimals.")
    quantity: str = strawberry.field(description="How much of it the stay used.")
    total: Money = strawberry.field(description="What it cost over the stay (or the day asked).")


@strawberry.type(description="What a stay cost per fee category (groupByChargeClass).")
class FeesPerCategory:
    name: str = strawberry.field(description="The fee category, e.g. 西药费.")
    total: Money = strawberry.field(description="What it cost over the stay (or the day asked).")


@strawberry.type(
    description=(
        "A stay's fees grouped by day, by charge item and by category (18.1.4 queryHospitalizationDetailMain, "
        "住院费用概要): the light way to show a long stay."
    )
)
class InpatientFeeSummary:
    patient_name: str = strawberry.field(description="The patient's name.")
    sex: Sex | None = strawberry.field(description="Sex; null when the hospital writes 未知 or 其他.")
    admission_number: str = strawberry.field(description="The stay's admission number (inpatientNo).")
    doctor: str = strawberry.field(description="The doctor in charge.")
    diagnosis: str = strawberry.field(description="Diagnosis.")
    total: Money = strawberry.field(description="What the stay (or the day asked) cost in total (totalAmount).")
    by_date: list[FeesOnDate] = strawberry.field(description="Per day; pick one for feesOfDay.")
    by_item: list[FeesPerItem] = strawberry.field(description="Per charge item.")
    by_category: list[FeesPerCategory] = strawberry.field(description="Per fee category.")

    @classmethod
    def from_reply(cls, r: HospitalizationCostSummary) -> InpatientFeeSummary:
        return cls(
            patient_name=r.patient_name,
            sex=sex(r.sex),
            admission_number=r.inpatient_no,
            doctor=r.doctor,
            diagnosis=r.diagnosis,
            total=Money(r.total_amount),
            by_date=[FeesOnDate(date=day(g.date), total=Money(g.total)) for g in r.group_by_date],
            by_item=[
                FeesPerItem(name=g.name, unit_price=Money(g.price), quantity=g.quantity, total=Money(g.total))
                for g in r.group_by_charge
            ],
            by_category=[FeesPerCategory(name=g.name, total=Money(g.total)) for g in r.group_by_charge_class],
        )


@strawberry.type(description="One charge item of one day of a stay (18.1.5 queryHospitalizationDetailOneDay).")
class DayFeeItem:
    item_id: str = strawberry.field(description="The charge item's id at the hospital (itemId).")
    name: str = strawberry.field(description="The charge item (itemName).")
    category: str = strawberry.field(description="Its fee category (itemTypeName).")
    unit_price: Money = strawberry.field(description="Unit price, up to four decimals.")
    quantity: str = strawberry.field(description="How much of it that day.")
    amount: Money = strawberry.field(description="What it cost that day.")
    date: dt.date | None = strawberry.field(description="The day.")


SummaryDay = Annotated[
    dt.date | None,
    strawberry.argument(description="Only this day (the one-day list, 一日清单); the whole stay if null."),
]


async def fee_summary(info: Info, hospital_id: str, stay_id: str, on: dt.date | None) -> InpatientFeeSummary | None:
    # The spec asks for an empty string, not an absent key, to mean the whole stay.
    req = QueryHospitalizationDetailMainRequest(id=stay_id, date="" if on is None else spec_day(on))
    reply = await detail(info, QUERY_HOSPITALIZATION_DETAIL_MAIN, hospital_id, req)
    return None if reply is None else InpatientFeeSummary.from_reply(reply)


@strawberry.type(description="One hospital stay on record, current or past (18.1.2 queryHospitalizationRecord).")
class Hospitalization(HospitalEntry):
    id: strawberry.ID = strawberry.field(description="The stay's record id, the key to its fees (住院记录ID).")
    admitted_at: dt.datetime | None = strawberry.field(
        description="When the patient was admitted (a hospital that sends only the day: its start)."
    )
    discharged_at: dt.datetime | None = strawberry.field(description="When discharged; null while in hospital.")
    department: str = strawberry.field(description="The department (dept).")
    diagnosis: str = strawberry.field(description="Diagnosis.")
    cost: Money = strawberry.field(description="What the stay has cost.")

    @strawberry.field(
        description="Every fee line of the stay at once (18.1.3); heavy for long stays, and some hospitals lack it."
    )
    async def fee_list(self, info: Info) -> InpatientFeeSheet | None:
        req = QueryHospitalizationDetailRequest(id=str(self.id))
        reply = await detail(info, QUERY_HOSPITALIZATION_DETAIL, self.hospital_id, req)
        return None if reply is None else InpatientFeeSheet.from_reply(reply)

    @strawberry.field(description="The stay's fees grouped by day, item and category (18.1.4).")
    async def fee_summary(self, info: Info, date: SummaryDay = None) -> InpatientFeeSummary | None:
        return await fee_summary(info, self.hospital_id, str(self.id), date)

    @strawberry.field(description="The fees of one day of the stay, item by item (18.1.5); empty on a day without.")
    async def fees_of_day(self, info: Info, date: Day) -> list[DayFeeItem]:
        req = request(QueryHospitalizationDetailOneDayRequest, id=str(self.id), time=spec_day(date))
        reply = await detail(info, QUERY_HOSPITALIZATION_DETAIL_ONE_DAY, self.hospital_id, req)
        return [_day_item(i) for i in reply or []]

    @classmethod
    def from_reply(cls, hospital_id: str, r: HospitalizationRecord) -> Hospitalization:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            id=strawberry.ID(r.id),
            admitted_at=instant(r.date_of_admission),
            discharged_at=instant(r.date_of_discharge),
            department=r.dept,
            diagnosis=r.diagnosis,
            cost=Money(r.cost),
        )


def _day_item(i: HospitalizationDayCostItem) -> DayFeeItem:
    return DayFeeItem(
        item_id=i.item_id,
        name=i.item_name,
        category=i.item_type_name,
        unit_price=Money(i.price),
        quantity=i.quantity,
        amount=Money(i.amount),
        date=day(i.date),
    )


@strawberry.type(description="The patient's stays at one hospital within the window asked (18.1.2).")
class HospitalizationsAtHospital(HospitalEntry):
    hospitalizations: list[Hospitalization] = strawberry.field(description="The stays; empty when there are none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[HospitalizationRecord]) -> HospitalizationsAtHospital:
        stays = [Hospitalization.from_reply(hospital_id, r) for r in reply]
        return cls(hospital_id=strawberry.ID(hospital_id), hospitalizations=stays)

    @classmethod
    def empty(cls, hospital_id: str) -> HospitalizationsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), hospitalizations=[])
