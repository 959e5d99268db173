"""Pathology (病理) reports: list 41.1.1, detail 41.1.2, report file 41.1.3."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from his_clients.errors import HisNoData
from his_clients.models.reports_pathology import (
    PATHOLOGY_REPORT_DETAIL,
    PATHOLOGY_REPORT_FILE,
    PathologyReportDetailRequest,
    PathologyReportFileRequest,
    PathologyReportSummary,
)
from his_clients.models.reports_pathology import (
    PathologyReport as PathologyReportReply,
)

from ..context import Info
from ..files import file_url
from ..hospitals.entry import HospitalEntry
from ..records.common import instant, sex
from ..values import Sex
from .common import (
    ReportPatientType,
    ReportsAtHospital,
    ReportWithheld,
    listed_hospital_id,
    pdf_link,
    shows_restricted_pathology,
)


@strawberry.type(description="A pathology report's details (41.1.2 pathologyReportDetail), shown only when viewable.")
class PathologyReportDetail(HospitalEntry):
    report_id: strawberry.ID = strawberry.field(description="The report's id (id).")
    registration_id: str = strawberry.field(description="The registration's id (regId).")
    pathology_number: str | None = strawberry.field(description="Pathology number, 病理号 (processNum).")
    patient_name: str = strawberry.field(description="The patient's name (patientName).")
    sex: Sex | None = strawberry.field(description="Sex (sex); null when the hospital writes 未知 or 其他.")
    age: str = strawberry.field(description="Age with its unit, e.g. 23岁, 2月 (age).")
    requesting_department: str = strawberry.field(description="Department that sent the specimen (reqDepartment).")
    requesting_doctor: str = strawberry.field(description="Doctor who sent it (reqDoctor).")
    method: str = strawberry.field(description="Examination method, e.g. 活检 (examineMethod).")
    specimen_site: str | None = strawberry.field(description="Where the specimen was taken, 取材部位 (drawnBodyPart).")
    gross_description: str = strawberry.field(description="What was seen by eye, 肉眼所见 (seenByEyes).")
    conclusion: str = strawberry.field(description="The diagnosis (conclusion).")
    supplementary: bool = strawberry.field(
        description="A supplementary report (补发报告, reportType 2) attached to the original one."
    )
    reported_by: str = strawberry.field(description="Doctor who wrote the report (reportDoctor).")
    audited_by: str = strawberry.field(description="Doctor who audited it (auditDoctor).")
    audited_at: dt.datetime | None = strawberry.field(description="When it was audited (auditTime).")
    hospital_name: str | None = strawberry.field(
        description=(
            "The hospital's name as the report gives it (hospitalName); where it gives none, the name the platform "
            "knows the hospital by, as the spec says (如果接口不返回，将使用医院在公众号系统中的名字)."
        )
    )
    phone: str | None = strawberry.field(description="The patient's contact phone on the report (phone); null if none.")
    address: str | None = strawberry.field(
        description="The patient's contact address on the report (address); null if none."
    )
    medical_card_number: strawberry.Private[str]
    pdf_url: strawberry.Private[str | None]
    labelled: strawberry.Private[bool]
    """Whether 41.1.1 named the report's hospital (else 41.1.2/41.1.3 go without hospitalId)."""

    @strawberry.field(
        description=(
            "A download link to the report file (41.1.3 pathologyReportFile): a PDF or an image, fetched from the "
            "hospital's file host (reportUrl) or decoded from base64 (reportFileCode)."
        )
    )
    def file(self, info: Info) -> str:
        return file_url(
            info,
            hospital_id=self.hospital_id,
            method=PATHOLOGY_REPORT_FILE,
            request=PathologyReportFileRequest(
                id=self.report_id,
                medical_card_number=self.medical_card_number,
                hospital_id=listed_hospital_id(self.labelled),
            ),
            kind="base64",
            # The spec: when both are given, reportUrl wins.
            field="reportUrl|reportFileCode",
            filename=f"pathology-report-{self.report_id}",
        )

    @strawberry.field(description="A download link to the report's PDF (pdfUrl); null when the hospital offers none.")
    def pdf(self, info: Info) -> str | None:
        return pdf_link(
            info,
            self.pdf_url,
            hospital_id=self.hospital_id,
            method=PATHOLOGY_REPORT_DETAIL,
            request=detail_request(self.report_id, self.medical_card_number, labelled=self.labelled),
            filename=f"pathology-report-{self.report_id}.pdf",
        )

    @classmethod
    def from_reply(
        cls,
        hospital_id: str,
        report_id: str,
        card: str,
        reply: PathologyReportReply,
        *,
        registry_name: str | None,
        labelled: bool,
    ) -> PathologyReportDetail:
        return cls(
            labelled=labelled,
            hospital_name=reply.hospital_name or registry_name,
            phone=reply.phone or None,
            address=reply.address or None,
            hospital_id=strawberry.ID(hospital_id),
            report_id=strawberry.ID(report_id),
            registration_id=reply.reg_id,
            pathology_number=reply.process_num or None,
            patient_name=reply.patient_name,
            sex=sex(reply.sex),
            age=reply.age,
            requesting_department=reply.req_department,
            requesting_doctor=reply.req_doctor,
            method=reply.examine_method,
            specimen_site=reply.drawn_body_part or None,
            gross_description=reply.seen_by_eyes,
            conclusion=reply.conclusion,
            supplementary=reply.report_type.strip() == "2",
            reported_by=reply.report_doctor,
            audited_by=reply.audit_doctor,
            audited_at=instant(reply.audit_time),
            medical_card_number=card,
            pdf_url=reply.pdf_url,
        )


PathologyReportDetailResult = Annotated[
    PathologyReportDetail | ReportWithheld,
    strawberry.union(
        "PathologyReportDetailResult",
        description="A pathology report's details, or why they are withheld from the patient.",
    ),
]


def detail_request(report_id: str, card: str, *, labelled: bool) -> PathologyReportDetailRequest:
    return PathologyReportDetailRequest(
        id=report_id, medical_card_number=card, hospital_id=listed_hospital_id(labelled)
    )


@strawberry.type(description="A pathology report (病理报告) as the list shows it (41.1.1 pathologyReportRecord).")
class PathologyReport(HospitalEntry):
    id: strawberry.ID = strawberry.field(description="The report's id at its hospital (id).")
    item: str = strawberry.field(description="The report's name (item).")
    registered_at: dt.datetime | None = strawberry.field(description="When the specimen was registered (regTime).")
    audited_at: dt.datetime | None = strawberry.field(
        description="When it was audited; null while unaudited (auditTime)."
    )
    audited_by: str = strawberry.field(description="Doctor who audited it (auditDoctor).")
    patient_type: ReportPatientType | None = strawberry.field(
        description="Whose report: outpatient, inpatient, physical exam, green channel or other (patType)."
    )
    audited: bool = strawberry.field(description="Whether it is audited (reportStatus 2 or 3).")
    sensitive: bool = strawberry.field(
        description=(
            "Sensitive: isPositive 1, or audited but sensitive by the hospital's policy (reportStatus 3). The latter "
            "is shown only where the hospital allows it."
        )
    )
    withheld: ReportWithheld | None = strawberry.field(
        description="Why the details are withheld; null when they may be shown."
    )
    medical_card_number: strawberry.Private[str]
    labelled: strawberry.Private[bool]
    """Whether 41.1.1 named the report's hospital (hospitalId)."""

    @strawberry.field(
        description=(
            "The report's details with its file and PDF (41.1.2), or why they are withheld. Asked from the hospital "
            "only when queried and not withheld (the spec forbids calling 41.1.2/41.1.3 for unaudited reports); "
            "null if the hospital no longer has it."
        )
    )
    async def detail(self, info: Info) -> PathologyReportDetailResult | None:
        if self.withheld is not None:
            return self.withheld
        try:
            reply = await info.context.loaders.his(
                PATHOLOGY_REPORT_DETAIL,
                self.hospital_id,
                detail_request(self.id, self.medical_card_number, labelled=self.labelled),
            )
        except HisNoData:
            return None
        withheld = ReportWithheld.check(
            is_positive=reply.is_positive,
            report_status=reply.report_status,
            show_restricted=shows_restricted_pathology(info, self.hospital_id),
        )
        if withheld is not None:
            return withheld
        known = info.context.registry.hospital(self.hospital_id)
        return PathologyReportDetail.from_reply(
            self.hospital_id,
            self.id,
            self.medical_card_number,
            reply,
            registry_name=known.name if known else None,
            labelled=self.labelled,
        )

    @classmethod
    def from_reply(
        cls, hospital_id: str, card: str, row: PathologyReportSummary, *, show_restricted: bool
    ) -> PathologyReport:
        status = row.report_status.strip()
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            id=strawberry.ID(row.id),
            item=row.item,
            registered_at=instant(row.reg_time),
            audited_at=instant(row.audit_time or None),
            audited_by=row.audit_doctor,
            patient_type=ReportPatientType.read(row.pat_type),
            audited=status != "1",
            sensitive=(row.is_positive or "").strip() == "1" or status == "3",
            withheld=ReportWithheld.check(
                is_positive=row.is_positive, report_status=status, show_restricted=show_restricted
            ),
            medical_card_number=card,
            labelled=bool(row.hospital_id),
        )


@strawberry.type(description="Pathology reports at one hospital (41.1.1 pathologyReportRecord).")
class PathologyReportsAtHospital(ReportsAtHospital[PathologyReport]):
    @classmethod
    def from_reply(
        cls, hospital_id: str, card: str, rows: list[PathologyReportSummary], *, show_restricted: bool
    ) -> PathologyReportsAtHospital:
        ordered = sorted(rows, key=lambda row: row.reg_time, reverse=True)
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            reports=[
                PathologyReport.from_reply(hospital_id, card, r, show_restricted=show_restricted) for r in ordered
            ],
        )
