"""Physical-examination (体检) reports: list 17.1.1, detail 17.1.2."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from his_clients.errors import HisNoData
from his_clients.models.reports_physical_exam import (
    PHYSICAL_EXAMINATION_REPORT_DETAIL,
    PhysicalExaminationReportDetailRequest,
    PhysicalExamReportList,
    PhysicalExamReportSummary,
)
from his_clients.models.reports_physical_exam import (
    PhysicalExamReport as PhysicalExamReportReply,
)
from his_clients.models.reports_physical_exam import (
    PhysicalExamResult as PhysicalExamResultReply,
)
from his_clients.models.reports_physical_exam import (
    PhysicalExamSection as PhysicalExamSectionReply,
)

from ..context import Info
from ..hospitals.entry import HospitalEntry
from ..records.common import coded, day, sex
from ..schedules.physical_exam import PhysicalExamKind
from ..values import Sex
from .common import ReportsAtHospital, ReportWithheld, pdf_link


@strawberry.type(description="A name and value, as the hospital gives it (key/value).")
class LabeledValue:
    label: str = strawberry.field(description="What the value means (key).")
    value: str = strawberry.field(description="The value (value).")


@strawberry.type(description="One result within a section of a physical exam (17.1.2 exam.detail).")
class PhysicalExamResult:
    name: str = strawberry.field(description="What was measured (key).")
    value: str = strawberry.field(description="The result (value).")
    unit: str | None = strawberry.field(description="Unit (unit).")
    reference_lower: str | None = strawberry.field(description="Lower end of the reference range (referValueLower).")
    reference_upper: str | None = strawberry.field(description="Upper end of the reference range (referValueUpper).")
    reference_text: str | None = strawberry.field(description="The reference range as text (multiRowValue).")

    @classmethod
    def from_reply(cls, row: PhysicalExamResultReply) -> PhysicalExamResult:
        return cls(
            name=row.key,
            value=row.value,
            unit=row.unit or None,
            reference_lower=row.refer_value_lower or None,
            reference_upper=row.refer_value_upper or None,
            reference_text=row.multi_row_value or None,
        )


@strawberry.type(description="One section of a physical exam, e.g. 内科 or 血常规 (17.1.2 exam).")
class PhysicalExamSection:
    name: str = strawberry.field(description="The section's name (examName).")
    department: str = strawberry.field(description="Department (dept).")
    summary: str = strawberry.field(description="The section's summary, 小结 (summary).")
    doctor: str = strawberry.field(description="Examining doctor (doctor).")
    date: dt.date | None = strawberry.field(description="The day (time).")
    results: list[PhysicalExamResult] = strawberry.field(description="Its results (detail).")

    @classmethod
    def from_reply(cls, row: PhysicalExamSectionReply) -> PhysicalExamSection:
        return cls(
            name=row.exam_name,
            department=row.dept,
            summary=row.summary,
            doctor=row.doctor,
            date=day(row.time),
            results=[PhysicalExamResult.from_reply(r) for r in row.detail],
        )


@strawberry.type(description="A physical exam report's details (17.1.2), shown only when viewable.")
class PhysicalExamReportDetail(HospitalEntry):
    health_exam_number: strawberry.ID = strawberry.field(description="The exam's number, 体检编号 (healthExamNo).")
    patient_name: str = strawberry.field(description="The patient's name (patientName).")
    sex: Sex | None = strawberry.field(description="Sex (sex); null when the hospital writes 未知 or 其他.")
    age: str = strawberry.field(description="Age as the hospital writes it (age).")
    phone: str = strawberry.field(description="The patient's phone (phone).")
    work_unit: str | None = strawberry.field(description="Employer (workUnit).")
    department: str = strawberry.field(description="Department (department).")
    started_on: dt.date | None = strawberry.field(description="First day of the exam (startTime).")
    ended_on: dt.date | None = strawberry.field(description="Last day of the exam (endTime).")
    summarized_on: dt.date | None = strawberry.field(description="When it was summarised, 总检时间 (summaryTime).")
    doctor: str = strawberry.field(description="Summarising doctor (doctor).")
    summary: str = strawberry.field(description="The overall conclusion, 总检结论 (examSummary).")
    advice: str = strawberry.field(description="Health advice, 健康建议 (advice).")
    marital_status: str = strawberry.field(description="未婚, 已婚, 丧偶, 离婚 or 未知 (maritalStatusName).")
    occupation: str = strawberry.field(description="Occupation; empty when unknown (occupationName).")
    habits: str = strawberry.field(description="Living habits; empty when none (habbit).")
    allergy_history: str = strawberry.field(description="Allergies; empty when none (allergyHistory).")
    disease_history: str = strawberry.field(description="Past diseases; empty when none (diseaseHistory).")
    menstrual_history: str = strawberry.field(description="Menstrual history; empty when none (menstrualHistory).")
    birth_history: str = strawberry.field(description="Births; empty when none (birthHistory).")
    operation_history: str = strawberry.field(description="Operations; empty when none (operationHistory).")
    attachments: list[LabeledValue] = strawberry.field(
        description="More facts about the person, shown like the profile (attachment)."
    )
    sections: list[PhysicalExamSection] = strawberry.field(description="The exam's sections (exam).")
    medical_card_number: strawberry.Private[str]
    pdf_url: strawberry.Private[str | None]

    @strawberry.field(description="A download link to the report's PDF (pdfUrl); null when the hospital offers none.")
    def pdf(self, info: Info) -> str | None:
        return pdf_link(
            info,
            self.pdf_url,
            hospital_id=self.hospital_id,
            method=PHYSICAL_EXAMINATION_REPORT_DETAIL,
            request=detail_request(self.health_exam_number, self.medical_card_number),
            filename=f"physical-exam-{self.health_exam_number}.pdf",
        )

    @classmethod
    def from_reply(cls, hospital_id: str, card: str, reply: PhysicalExamReportReply) -> PhysicalExamReportDetail:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            health_exam_number=strawberry.ID(reply.health_exam_no),
            patient_name=reply.patient_name,
            sex=sex(reply.sex),
            age=reply.age,
            phone=reply.phone,
            work_unit=reply.work_unit or None,
            department=reply.department,
            started_on=day(reply.start_time),
            ended_on=day(reply.end_time),
            summarized_on=day(reply.summary_time),
            doctor=reply.doctor,
            summary=reply.exam_summary,
            advice=reply.advice,
            marital_status=reply.marital_status_name,
            occupation=reply.occupation_name,
            habits=reply.habit,
            allergy_history=reply.allergy_history,
            disease_history=reply.disease_history,
            menstrual_history=reply.menstrual_history,
            birth_history=reply.birth_history,
            operation_history=reply.operation_history,
            attachments=[LabeledValue(label=a.key or "", value=a.value or "") for a in reply.attachment],
            sections=[PhysicalExamSection.from_reply(s) for s in reply.exam],
            medical_card_number=card,
            pdf_url=reply.pdf_url,
        )


PhysicalExamReportDetailResult = Annotated[
    PhysicalExamReportDetail | ReportWithheld,
    strawberry.union(
        "PhysicalExamReportDetailResult",
        description="A physical exam report's details, or why they are withheld from the patient.",
    ),
]


def detail_request(health_exam_number: str, card: str) -> PhysicalExaminationReportDetailRequest:
    return PhysicalExaminationReportDetailRequest(health_exam_no=health_exam_number, medical_card_number=card)


@strawberry.type(description="A physical exam report (体检报告) as the list shows it (17.1.1).")
class PhysicalExamReport(HospitalEntry):
    health_exam_number: strawberry.ID = strawberry.field(description="The exam's number, 体检编号 (healthExamNo).")
    hospital_name: str = strawberry.field(description="The hospital's name as it writes it (hospitalName).")
    started_on: dt.date | None = strawberry.field(description="First day of the exam (startTime).")
    ended_on: dt.date | None = strawberry.field(description="Last day of the exam (endTime).")
    summarized_on: dt.date | None = strawberry.field(description="When it was summarised, 总检日期 (summaryTime).")
    doctor: str = strawberry.field(description="Summarising doctor; empty when none (doctor).")
    finished: bool = strawberry.field(description="Whether the summary is done and the report out (isFinished 1).")
    qualified: bool | None = strawberry.field(
        description="Whether the person passed, for employment or health-certificate exams (qualifiedFlag)."
    )
    exam_type: PhysicalExamKind | None = strawberry.field(
        description="What the examination was for (bnsTypeCode); null when the hospital does not say."
    )
    sensitive: bool = strawberry.field(description="A sensitive report (isPositive 1): never shown in detail.")
    withheld: ReportWithheld | None = strawberry.field(
        description="Why the details are withheld (sensitive, or not yet summarised); null when they may be shown."
    )
    medical_card_number: strawberry.Private[str]

    @strawberry.field(
        description=(
            "The report's details with sections and PDF (17.1.2), or why they are withheld. Asked from the hospital "
            "only when queried and not withheld; null if the hospital no longer has it."
        )
    )
    async def detail(self, info: Info) -> PhysicalExamReportDetailResult | None:
        if self.withheld is not None:
            return self.withheld
        try:
            reply = await info.context.loaders.his(
                PHYSICAL_EXAMINATION_REPORT_DETAIL,
                self.hospital_id,
                detail_request(self.health_exam_number, self.medical_card_number),
            )
        except HisNoData:
            return None
        withheld = ReportWithheld.check(is_positive=reply.is_positive, is_finished=reply.is_finished)
        if withheld is not None:
            return withheld
        return PhysicalExamReportDetail.from_reply(self.hospital_id, self.medical_card_number, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, card: str, row: PhysicalExamReportSummary) -> PhysicalExamReport:
        qualified = (row.qualified_flag or "").strip()
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            health_exam_number=strawberry.ID(row.health_exam_no),
            hospital_name=row.hospital_name,
            started_on=day(row.start_time),
            ended_on=day(row.end_time),
            summarized_on=day(row.summary_time),
            doctor=row.doctor,
            finished=row.is_finished.strip() == "1",
            qualified=None if row.qualified_flag is None else qualified == "1",
            exam_type=coded(PhysicalExamKind, row.bns_type_code),
            sensitive=(row.is_positive or "").strip() == "1",
            withheld=ReportWithheld.check(is_positive=row.is_positive, is_finished=row.is_finished),
            medical_card_number=card,
        )


@strawberry.type(description="Physical exam reports at one hospital (17.1.1 physicalExaminationReportList).")
class PhysicalExamReportsAtHospital(ReportsAtHospital[PhysicalExamReport]):
    @classmethod
    def from_reply(cls, hospital_id: str, card: str, reply: PhysicalExamReportList) -> PhysicalExamReportsAtHospital:
        rows = sorted(reply.report, key=lambda row: row.start_time, reverse=True)
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            reports=[PhysicalExamReport.from_reply(hospital_id, card, r) for r in rows],
        )
