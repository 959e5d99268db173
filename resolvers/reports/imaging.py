"""Imaging (检查, PACS) reports: list 16.1.1, detail 16.1.2, image series 16.1.3, DICOM files 16.1.4."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry

from his_clients.errors import HisNoData
from his_clients.models.reports_pacs import (
    PACS_REPORT_DCM,
    PACS_REPORT_DCM_FILE,
    PACS_REPORT_DETAIL,
    PacsImageSeries,
    PacsReportDcmFileRequest,
    PacsReportDcmRequest,
    PacsReportDetail,
    PacsReportDetailRequest,
    PacsReportList,
    PacsReportSummary,
)

from ..context import Info
from ..files import file_url
from ..hospitals.entry import HospitalEntry
from ..records.common import instant, sex
from ..values import Sex
from .common import ReportsAtHospital, ReportSpecialType, ReportWithheld, pdf_link


@strawberry.enum(description="Where an imaging examination stands (pacsReport status).")
class ImagingExamStatus(Enum):
    REGISTERED = strawberry.enum_value("registered", description="已登记: registered.")
    CALLED = strawberry.enum_value("called", description="已叫号: called in.")
    CHECKED = strawberry.enum_value("checked", description="已检查: examined.")
    SUBMITTED = strawberry.enum_value("submitted", description="已提交: report submitted.")
    REVIEWED = strawberry.enum_value("reviewed", description="已审核: report audited.")
    RESCINDED = strawberry.enum_value("rescinded", description="已撤销: rescinded.")
    CANCELLED = strawberry.enum_value("cancelled", description="已取消: cancelled.")
    REJECTED = strawberry.enum_value("rejected", description="已驳回: rejected.")
    PASSED = strawberry.enum_value("passed", description="已过号: the patient missed the call.")

    @classmethod
    def read(cls, text: str | None) -> ImagingExamStatus | None:
        """The spec's status word; null for one it does not know."""
        return next((status for status in cls if str(status.value) == (text or "").strip().lower()), None)


@strawberry.type(description="One series of a PACS study (16.1.3 pacsReportDcm): its thumbnail and DICOM images.")
class ImageSeries(HospitalEntry):
    series: str = strawberry.field(description="Series number (series).")
    description: str = strawberry.field(description="Body part described (describe).")
    thumbnail: str | None = strawberry.field(
        description="A download link to the series' thumbnail image (thumbnailUrl); null when none."
    )
    dicom_images: list[str] = strawberry.field(
        description=(
            "Download links to the full images, one DICOM file (application/dicom) each: through 16.1.4 when the "
            "hospital gives image ids, or from the hospital's file host when it gives URLs (dcms)."
        )
    )


def _series(
    info: Info, hospital_id: str, request: PacsReportDcmRequest, index: int, row: PacsImageSeries
) -> ImageSeries:
    by_url = (row.type or "").strip().lower() == "url"
    images = []
    for position, dcm in enumerate(row.dcms):
        name = f"pacs-{request.id}-{row.series.strip() or index}-{position + 1}.dcm"
        if by_url or dcm.startswith(("http://", "https://")):
            link = file_url(
                info,
                hospital_id=hospital_id,
                method=PACS_REPORT_DCM,
                request=request,
                kind="url",
                field=f"{index}.dcms.{position}",
                filename=name,
                content_type="application/dicom",
            )
        else:
            link = file_url(
                info,
                hospital_id=hospital_id,
                method=PACS_REPORT_DCM_FILE,
                request=PacsReportDcmFileRequest(dcm_id=dcm),
                kind="stream",
                field=None,
                filename=name,
                content_type="application/dicom",
            )
        images.append(link)
    thumbnail = None
    if row.thumbnail_url:
        thumbnail = file_url(
            info,
            hospital_id=hospital_id,
            method=PACS_REPORT_DCM,
            request=request,
            kind="url",
            field=f"{index}.thumbnailUrl",
            filename=f"pacs-{request.id}-{index + 1}-thumbnail",
        )
    return ImageSeries(
        hospital_id=strawberry.ID(hospital_id),
        series=row.series,
        description=row.describe,
        thumbnail=thumbnail,
        dicom_images=images,
    )


@strawberry.type(description="An imaging report's details (16.1.2 pacsReportDetail), shown only when viewable.")
class ImagingReportDetail(HospitalEntry):
    report_id: strawberry.ID = strawberry.field(description="The report's id (id).")
    patient_name: str = strawberry.field(description="The patient's name (patientName).")
    sex: Sex | None = strawberry.field(description="Sex (sex); null when the hospital writes 未知 or 其他.")
    age: str = strawberry.field(description="Age as the hospital writes it (age).")
    department: str = strawberry.field(description="Ordering department (dept).")
    body_parts: str = strawberry.field(description="What was examined (parts).")
    findings: str = strawberry.field(description="What the examination found, 检查所见 (result).")
    conclusion: str = strawberry.field(description="Conclusion and advice (conclusion).")
    examined_by: str = strawberry.field(description="Doctor who performed it (executor).")
    audited_by: str = strawberry.field(description="Doctor who audited it (auditor).")
    audited_at: dt.datetime | None = strawberry.field(description="When it was audited (time).")
    medical_card_number: strawberry.Private[str]
    pdf_url: strawberry.Private[str | None]

    @strawberry.field(description="A download link to the report's PDF (pdfUrl); null when the hospital offers none.")
    def pdf(self, info: Info) -> str | None:
        return pdf_link(
            info,
            self.pdf_url,
            hospital_id=self.hospital_id,
            method=PACS_REPORT_DETAIL,
            request=detail_request(self.report_id, self.medical_card_number),
            filename=f"imaging-report-{self.report_id}.pdf",
        )

    @strawberry.field(description="The study's image series (16.1.3), asked from the hospital only when queried.")
    async def image_series(self, info: Info) -> list[ImageSeries]:
        request = PacsReportDcmRequest(id=self.report_id, medical_card_number=self.medical_card_number)
        try:
            rows = await info.context.loaders.his(PACS_REPORT_DCM, self.hospital_id, request)
        except HisNoData:
            return []
        return [_series(info, self.hospital_id, request, index, row) for index, row in enumerate(rows)]

    @classmethod
    def from_reply(cls, hospital_id: str, report_id: str, card: str, reply: PacsReportDetail) -> ImagingReportDetail:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            report_id=strawberry.ID(report_id),
            patient_name=reply.patient_name,
            sex=sex(reply.sex),
            age=reply.age,
            department=reply.dept,
            body_parts=reply.parts,
            findings=reply.result,
            conclusion=reply.conclusion,
            examined_by=reply.executor,
            audited_by=reply.auditor,
            audited_at=instant(reply.time),
            medical_card_number=card,
            pdf_url=reply.pdf_url,
        )


ImagingReportDetailResult = Annotated[
    ImagingReportDetail | ReportWithheld,
    strawberry.union(
        "ImagingReportDetailResult",
        description="An imaging report's details, or why they are withheld from the patient.",
    ),
]


def detail_request(report_id: str, card: str) -> PacsReportDetailRequest:
    return PacsReportDetailRequest(id=report_id, type="1", medical_card_number=card)


@strawberry.type(
    description="An imaging report (检查报告: CT, MR, ultrasound...) as the list shows it (16.1.1 pacsReport)."
)
class ImagingReport(HospitalEntry):
    id: strawberry.ID = strawberry.field(description="The report's id at its hospital (id).")
    item: str = strawberry.field(description="What was examined, e.g. CT (item).")
    audited_at: dt.datetime | None = strawberry.field(description="When it was audited (time).")
    audited_by: str = strawberry.field(description="Doctor who audited it (doctor).")
    exam_status: ImagingExamStatus | None = strawberry.field(
        description="Where the examination stands (status); null when the hospital does not say."
    )
    special_type: ReportSpecialType | None = strawberry.field(
        description="A special kind of report (specialTypes); null if ordinary."
    )
    sensitive: bool = strawberry.field(description="A sensitive report (isPositive 1): never shown in detail.")
    withheld: ReportWithheld | None = strawberry.field(
        description="Why the details are withheld, as far as the list tells; null when they may be shown."
    )
    medical_card_number: strawberry.Private[str]

    @strawberry.field(
        description=(
            "The report's details with its PDF and images (16.1.2), or why they are withheld. Asked from the "
            "hospital only when queried and not withheld; null if the hospital no longer has it."
        )
    )
    async def detail(self, info: Info) -> ImagingReportDetailResult | None:
        if self.withheld is not None:
            return self.withheld
        try:
            reply = await info.context.loaders.his(
                PACS_REPORT_DETAIL, self.hospital_id, detail_request(self.id, self.medical_card_number)
            )
        except HisNoData:
            return None
        withheld = ReportWithheld.check(is_positive=reply.is_positive, report_status=reply.report_status)
        if withheld is not None:
            return withheld
        return ImagingReportDetail.from_reply(self.hospital_id, self.id, self.medical_card_number, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, card: str, row: PacsReportSummary) -> ImagingReport:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            id=strawberry.ID(row.id),
            item=row.item,
            audited_at=instant(row.time),
            audited_by=row.doctor,
            exam_status=ImagingExamStatus.read(row.status),
            special_type=ReportSpecialType.read(row.special_types),
            sensitive=(row.is_positive or "").strip() == "1",
            withheld=ReportWithheld.check(is_positive=row.is_positive),
            medical_card_number=card,
        )


@strawberry.type(description="Imaging reports at one hospital (16.1.1 pacsReport).")
class ImagingReportsAtHospital(ReportsAtHospital[ImagingReport]):
    @classmethod
    def from_reply(cls, hospital_id: str, card: str, reply: PacsReportList) -> ImagingReportsAtHospital:
        rows = sorted(reply.report, key=lambda row: row.time, reverse=True)
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            reports=[ImagingReport.from_reply(hospital_id, card, r) for r in rows],
        )
