"""The latest nucleic-acid (核酸) test result at a hospital (34.1.1)."""

from __future__ import annotations

import datetime as dt

import strawberry

from his_clients.models.reports_physical_exam import NucleicAcidTestItem as NucleicAcidTestItemReply
from his_clients.models.reports_physical_exam import NucleicAcidTestResult as NucleicAcidTestResultReply

from ..hospitals.entry import HospitalEntry
from ..records.common import instant, sex
from ..values import Sex
from .lab import LabResultFlag


@strawberry.type(description="One tested item of a nucleic-acid test (34.1.1 details).")
class NucleicAcidTestItem:
    code: str = strawberry.field(description="The item's code at the hospital (itemId).")
    item: str = strawberry.field(description="What was tested, e.g. 新型冠状病毒核酸检测 (item).")
    result: str = strawberry.field(description="The result, e.g. 阴性 (result).")
    unit: str | None = strawberry.field(description="Unit; null when none (unit).")
    flag: LabResultFlag | None = strawberry.field(
        description="Against the reference: low, normal or high (mark); null when the hospital does not say."
    )
    reference_range: str = strawberry.field(description="The reference range, e.g. 阴性 (range).")

    @classmethod
    def from_reply(cls, row: NucleicAcidTestItemReply) -> NucleicAcidTestItem:
        return cls(
            code=row.item_id,
            item=row.item,
            result=row.result,
            unit=row.unit or None,
            flag=LabResultFlag.read(row.mark),
            reference_range=row.range,
        )


@strawberry.type(description="The latest nucleic-acid test result (最近一次核酸检测结果, 34.1.1).")
class NucleicAcidTestResult:
    patient_name: str = strawberry.field(description="The patient's name (patientName).")
    sex: Sex | None = strawberry.field(description="Sex (sex); null when the hospital writes 未知.")
    age: str = strawberry.field(description="Age with its unit, e.g. 34岁 (age).")
    specimen_number: str = strawberry.field(description="Specimen number (specimenNumber).")
    specimen_category: str = strawberry.field(description="Specimen category, e.g. 咽拭子 (specimenCategory).")
    collected_at: dt.datetime | None = strawberry.field(description="When the sample was taken (regTime).")
    reported_at: dt.datetime | None = strawberry.field(description="When it was reported (time).")
    tested_by: str = strawberry.field(description="Lab doctor (executor).")
    audited_by: str = strawberry.field(description="Auditing doctor (auditor).")
    items: list[NucleicAcidTestItem] = strawberry.field(description="The tested items (details).")


@strawberry.type(description="The latest nucleic-acid test at one hospital (34.1.1 getRecentNucleicAcidTestResult).")
class NucleicAcidTestAtHospital(HospitalEntry):
    result: NucleicAcidTestResult | None = strawberry.field(
        description="The latest result; null when the patient has no test at this hospital."
    )

    @classmethod
    def from_reply(cls, hospital_id: str, reply: NucleicAcidTestResultReply) -> NucleicAcidTestAtHospital:
        result = NucleicAcidTestResult(
            patient_name=reply.patient_name,
            sex=sex(reply.sex),
            age=reply.age,
            specimen_number=reply.specimen_number,
            specimen_category=reply.specimen_category,
            collected_at=instant(reply.reg_time),
            reported_at=instant(reply.time),
            tested_by=reply.executor,
            audited_by=reply.auditor,
            items=[NucleicAcidTestItem.from_reply(row) for row in reply.details],
        )
        return cls(hospital_id=strawberry.ID(hospital_id), result=result)

    @classmethod
    def none(cls, hospital_id: str) -> NucleicAcidTestAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), result=None)
