"""Laboratory (检验) reports: list 16.1.1, detail 16.1.2, PDF 16.1.5."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry

from his_clients.errors import HisNoData
from his_clients.models.reports_lab import (
    LABORATORY_REPORT_DETAIL,
    LIS_REPORT_PDF,
    LaboratoryReportDetailRequest,
    LabReportList,
    LabReportSummary,
    LisReportPdfRequest,
)
from his_clients.models.reports_lab import (
    LabReportDetail as LabReportDetailReply,
)
from his_clients.models.reports_lab import (
    LabResult as LabResultReply,
)

from ..context import Info
from ..files import file_url
from ..hospitals.entry import HospitalEntry
from ..records.common import instant, sex
from ..values import Sex
from .common import ReportsAtHospital, ReportSpecialType, ReportWithheld, pdf_link


@strawberry.enum(description="How a lab result compares with its reference range (normal).")
class LabResultFlag(Enum):
    LOW = strawberry.enum_value("-1", description="偏低: below the reference range (normal -1).")
    NORMAL = strawberry.enum_value("0", description="正常: within the reference range (normal 0).")
    HIGH = strawberry.enum_value("1", description="偏高: above the reference range (normal 1).")
    ABNORMAL = strawberry.enum_value(
        "2", description="异常: a qualitative result (positive/negative) that is abnormal (normal 2)."
    )

    @classmethod
    def read(cls, text: str | None) -> LabResultFlag | None:
        """The spec's normal/mark code; null when the hospital does not say or writes another."""
        return next((flag for flag in cls if str(flag.value) == (text or "").strip()), None)


@strawberry.type(description="One measured item of a lab report (检验项目明细, 16.1.2 details).")
class LabResult:
    item: str = strawberry.field(description="What was measured (item).")
    result: str = strawberry.field(description="The result, as the hospital writes it (result).")
    unit: str | None = strawberry.field(description="Unit of the result (unit).")
    reference_lower: str | None = strawberry.field(description="Lower end of the reference range (referValueLower).")
    reference_upper: str | None = strawberry.field(description="Upper end of the reference range (referValueUpper).")
    reference_text: str | None = strawberry.field(
        description="The reference range as text, possibly several lines (multiRowValue)."
    )
    flag: LabResultFlag | None = strawberry.field(
        description="Low, normal, high or abnormal; null when the hospital does not say (normal)."
    )

    @classmethod
    def from_reply(cls, row: LabResultReply) -> LabResult:
        return cls(
            item=row.item,
            result=row.result,
            unit=row.unit or None,
            reference_lower=row.refer_value_lower or None,
            reference_upper=row.refer_value_upper or None,
            reference_text=row.multi_row_value or None,
            flag=LabResultFlag.read(row.normal),
        )


@strawberry.type(description="A lab report's details (16.1.2 laboratoryReportDetail), shown only when viewable.")
class LabReportDetail(HospitalEntry):
    report_id: strawberry.ID = strawberry.field(description="The report's id (id).")
    patient_name: str = strawberry.field(description="The patient's name (patientName).")
    sex: Sex | None = strawberry.field(description="Sex (sex); null when the hospital writes 未知 or 其他.")
    age: str = strawberry.field(description="Age as the hospital writes it (age).")
    department: str = strawberry.field(description="Department (dept).")
    ward_number: str | None = strawberry.field(description="Ward (wardNumber), for inpatients.")
    bed_number: str | None = strawberry.field(description="Bed (bedNumber), for inpatients.")
    specimen_category: str | None = strawberry.field(description="Specimen category, e.g. 血液 (specimenCategory).")
    specimen_number: str = strawberry.field(description="Specimen number (specimenNumber).")
    ordering_doctor: str = strawberry.field(description="Doctor who ordered the test (doctor).")
    tested_by: str = strawberry.field(description="Lab doctor who ran it (executor).")
    audited_by: str = strawberry.field(description="Doctor who audited it (auditor).")
    audited_at: dt.datetime | None = strawberry.field(description="When it was audited (time).")
    results: list[LabResult] = strawberry.field(description="The measured items (details).")
    medical_card_number: strawberry.Private[str]
    pdf_url: strawberry.Private[str | None]

    @strawberry.field(
        description=(
            "A download link to the report's PDF, valid for a few minutes: from 16.1.5 lisReportPdf where the "
            "hospital has opened it, else the detail's pdfUrl; null when the hospital offers none."
        )
    )
    def pdf(self, info: Info) -> str | None:
        hospital = info.context.registry.hospital(self.hospital_id)
        if hospital is not None and hospital.has_opened(LIS_REPORT_PDF.name):
            return file_url(
                info,
                hospital_id=self.hospital_id,
                method=LIS_REPORT_PDF,
                request=LisReportPdfRequest(id=self.report_id, medical_card_number=self.medical_card_number),
                kind="base64",
                field="reportPdfCode|reportUrl",
                filename=f"lab-report-{self.report_id}.pdf",
                content_type="application/pdf",
            )
        return pdf_link(
            info,
            self.pdf_url,
            hospital_id=self.hospital_id,
            method=LABORATORY_REPORT_DETAIL,
            request=detail_request(self.report_id, self.medical_card_number),
            filename=f"lab-report-{self.report_id}.pdf",
        )

    @classmethod
    def from_reply(cls, hospital_id: str, report_id: str, card: str, reply: LabReportDetailReply) -> LabReportDetail:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            report_id=strawberry.ID(report_id),
            patient_name=reply.patient_name,
            sex=sex(reply.sex),
            age=reply.age,
            department=reply.dept,
            ward_number=reply.ward_number or None,
            bed_number=reply.bed_number or None,
            specimen_category=reply.specimen_category or None,
            specimen_number=reply.specimen_number,
            ordering_doctor=reply.doctor,
            tested_by=reply.executor,
            audited_by=reply.auditor,
            audited_at=instant(reply.time),
            results=[LabResult.from_reply(row) for row in reply.details],
            medical_card_number=card,
            pdf_url=reply.pdf_url,
        )


LabReportDetailResult = Annotated[
    LabReportDetail | ReportWithheld,
    strawberry.union(
        "LabReportDetailResult", description="A lab report's details, or why they are withheld from the patient."
    ),
]


def detail_request(report_id: str, card: str) -> LaboratoryReportDetailRequest:
    return LaboratoryReportDetailRequest(id=report_id, type="0", medical_card_number=card)


@strawberry.type(description="A lab report (检验报告) as the list shows it (16.1.1 laboratoryReport).")
class LabReport(HospitalEntry):
    id: strawberry.ID = strawberry.field(description="The report's id at its hospital (id).")
    item: str = strawberry.field(description="What was tested, e.g. 血常规 (item).")
    audited_at: dt.datetime | None = strawberry.field(description="When it was audited (time).")
    audited_by: str = strawberry.field(description="Doctor who audited it (doctor).")
    special_type: ReportSpecialType | None = strawberry.field(
        description="A special kind needing its own display (specialTypes); null for ordinary reports."
    )
    sensitive: bool = strawberry.field(description="A sensitive report (isPositive 1): never shown in detail.")
    withheld: ReportWithheld | None = strawberry.field(
        description=(
            "Why the details are withheld, as far as the list tells; null when they may be shown. The detail "
            "itself may still say it is withheld (unaudited or recalled reports are only known there)."
        )
    )
    medical_card_number: strawberry.Private[str]

    @strawberry.field(
        description=(
            "The report's details with its results and PDF (16.1.2), or why they are withheld. Asked from the "
            "hospital only when this field is queried and the report is not withheld; null if the hospital no "
            "longer has it."
        )
    )
    async def detail(self, info: Info) -> LabReportDetailResult | None:
        if self.withheld is not None:
            return self.withheld
        try:
            reply = await info.context.loaders.his(
                LABORATORY_REPORT_DETAIL, self.hospital_id, detail_request(self.id, self.medical_card_number)
            )
        except HisNoData:
            return None
        withheld = ReportWithheld.check(is_positive=reply.is_positive, report_status=reply.report_status)
        if withheld is not None:
            return withheld
        return LabReportDetail.from_reply(self.hospital_id, self.id, self.medical_card_number, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, card: str, row: LabReportSummary) -> LabReport:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            id=strawberry.ID(row.id),
            item=row.item,
            audited_at=instant(row.time),
            audited_by=row.doctor,
            special_type=ReportSpecialType.read(row.special_types),
            sensitive=(row.is_positive or "").strip() == "1",
            withheld=ReportWithheld.check(is_positive=row.is_positive),
            medical_card_number=card,
        )


@strawberry.type(description="Lab reports at one hospital (16.1.1 laboratoryReport).")
class LabReportsAtHospital(ReportsAtHospital[LabReport]):
    @classmethod
    def from_reply(cls, hospital_id: str, card: str, reply: LabReportList) -> LabReportsAtHospital:
        rows = sorted(reply.report, key=lambda row: row.time, reverse=True)
        return cls(
            hospital_id=strawberry.ID(hospital_id), reports=[LabReport.from_reply(hospital_id, card, r) for r in rows]
        )
