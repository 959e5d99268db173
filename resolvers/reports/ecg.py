"""Electrocardiogram (心电) reports: list 40.1.1, detail 40.1.2, ECG image 40.1.3."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from his_clients.errors import HisNoData
from his_clients.models.reports_ecg import (
    ECG_REPORT_DETAIL,
    ECG_REPORT_IMAGE,
    EcgReportDetailRequest,
    EcgReportImageRequest,
    EcgReportSummary,
)
from his_clients.models.reports_ecg import (
    EcgReport as EcgReportReply,
)

from ..context import Info
from ..files import file_url
from ..hospitals.entry import HospitalEntry
from ..records.common import instant, sex
from ..values import Sex
from .common import ReportPatientType, ReportsAtHospital, ReportWithheld, listed_hospital_id, pdf_link


@strawberry.type(description="An ECG report's details (40.1.2 ecgReportDetail), shown only when viewable.")
class EcgReportDetail(HospitalEntry):
    report_id: strawberry.ID = strawberry.field(description="The report's id (id).")
    patient_name: str = strawberry.field(description="The patient's name (name).")
    sex: Sex | None = strawberry.field(description="Sex (sex); null when the hospital writes 未知 or 其他.")
    age: str = strawberry.field(description="Age with its unit, as the hospital writes it (age).")
    ordering_department: str = strawberry.field(description="Department that asked for it (applyDeptName).")
    diagnosing_department: str = strawberry.field(description="Department that read it (diagnoseDeptName).")
    audited_by: str = strawberry.field(description="Doctor who audited it (doctor).")
    diagnosis: str = strawberry.field(description="The diagnosis (diagnosis).")
    acquired_at: dt.datetime | None = strawberry.field(description="When it was recorded (acquisitionTime).")
    diagnosed_at: dt.datetime | None = strawberry.field(description="When it was read (diagnoseTime).")
    audited_at: dt.datetime | None = strawberry.field(description="When it was audited (auditTime).")
    heart_rate: str = strawberry.field(description="Heart rate with its unit, e.g. 67bpm (heartRate).")
    rv5: str = strawberry.field(description="RV5 in mV (rv5).")
    sv1: str = strawberry.field(description="SV1 in mV (sv1).")
    pr_interval: str = strawberry.field(description="P-R interval in ms (pr).")
    qrs_duration: str = strawberry.field(description="QRS duration in ms (qrs).")
    qt: str = strawberry.field(description="QT in ms (qt).")
    qtc: str = strawberry.field(description="QTc in ms (qtc).")
    p_axis: str = strawberry.field(description="P axis in degrees (pAxes).")
    qrs_axis: str = strawberry.field(description="QRS axis in degrees (qrsAxes).")
    t_axis: str = strawberry.field(description="T axis in degrees (tAxes).")
    medical_card_number: strawberry.Private[str]
    pdf_url: strawberry.Private[str | None]
    labelled: strawberry.Private[bool]
    """Whether 40.1.1 named the report's hospital (else 40.1.2/40.1.3 go without hospitalId)."""

    @strawberry.field(
        description="A download link to the ECG tracing image (40.1.3 ecgReportImage, decoded on the server)."
    )
    def image(self, info: Info) -> str:
        return file_url(
            info,
            hospital_id=self.hospital_id,
            method=ECG_REPORT_IMAGE,
            request=EcgReportImageRequest(
                id=self.report_id,
                medical_card_number=self.medical_card_number,
                hospital_id=listed_hospital_id(self.labelled),
            ),
            kind="base64",
            field="img",
            filename=f"ecg-{self.report_id}",
            content_type="image/jpeg",
        )

    @strawberry.field(description="A download link to the report's PDF (pdfUrl); null when the hospital offers none.")
    def pdf(self, info: Info) -> str | None:
        return pdf_link(
            info,
            self.pdf_url,
            hospital_id=self.hospital_id,
            method=ECG_REPORT_DETAIL,
            request=detail_request(self.report_id, self.medical_card_number, labelled=self.labelled),
            filename=f"ecg-report-{self.report_id}.pdf",
        )

    @classmethod
    def from_reply(
        cls, hospital_id: str, report_id: str, card: str, reply: EcgReportReply, *, labelled: bool
    ) -> EcgReportDetail:
        return cls(
            labelled=labelled,
            hospital_id=strawberry.ID(hospital_id),
            report_id=strawberry.ID(report_id),
            patient_name=reply.name,
            sex=sex(reply.sex),
            age=reply.age,
            ordering_department=reply.apply_dept_name,
            diagnosing_department=reply.diagnose_dept_name,
            audited_by=reply.doctor,
            diagnosis=reply.diagnosis,
            acquired_at=instant(reply.acquisition_time),
            diagnosed_at=instant(reply.diagnose_time),
            audited_at=instant(reply.audit_time),
            heart_rate=reply.heart_rate,
            rv5=reply.rv5,
            sv1=reply.sv1,
            pr_interval=reply.pr,
            qrs_duration=reply.qrs,
            qt=reply.qt,
            qtc=reply.qtc,
            p_axis=reply.p_axes,
            qrs_axis=reply.qrs_axes,
            t_axis=reply.t_axes,
            medical_card_number=card,
            pdf_url=reply.pdf_url,
        )


EcgReportDetailResult = Annotated[
    EcgReportDetail | ReportWithheld,
    strawberry.union(
        "EcgReportDetailResult", description="An ECG report's details, or why they are withheld from the patient."
    ),
]


def detail_request(report_id: str, card: str, *, labelled: bool) -> EcgReportDetailRequest:
    return EcgReportDetailRequest(id=report_id, medical_card_number=card, hospital_id=listed_hospital_id(labelled))


@strawberry.type(description="An ECG report (心电报告) as the list shows it (40.1.1 ecgReportRecord).")
class EcgReport(HospitalEntry):
    id: strawberry.ID = strawberry.field(description="The report's id at its hospital (id).")
    item: str = strawberry.field(description="The report's name, e.g. 十二导联心电图 (item).")
    acquired_at: dt.datetime | None = strawberry.field(description="When it was recorded (acquisitionTime).")
    diagnosed_at: dt.datetime | None = strawberry.field(description="When it was read (diagnoseTime).")
    audited_at: dt.datetime | None = strawberry.field(description="When it was audited (auditTime).")
    patient_type: ReportPatientType | None = strawberry.field(
        description="Whose report: outpatient, inpatient, physical exam or green channel (patType); null if unknown."
    )
    audited: bool = strawberry.field(description="Whether it is audited (reportStatus 2); unaudited ones show nothing.")
    sensitive: bool = strawberry.field(description="A sensitive report (isPositive 1): never shown in detail.")
    withheld: ReportWithheld | None = strawberry.field(
        description="Why the details are withheld; null when they may be shown."
    )
    medical_card_number: strawberry.Private[str]
    labelled: strawberry.Private[bool]
    """Whether 40.1.1 named the report's hospital (hospitalId)."""

    @strawberry.field(
        description=(
            "The report's details with its tracing and PDF (40.1.2), or why they are withheld. Asked from the "
            "hospital only when queried and not withheld (the spec forbids calling 40.1.2/40.1.3 for unaudited "
            "reports); null if the hospital no longer has it."
        )
    )
    async def detail(self, info: Info) -> EcgReportDetailResult | None:
        if self.withheld is not None:
            return self.withheld
        try:
            reply = await info.context.loaders.his(
                ECG_REPORT_DETAIL,
                self.hospital_id,
                detail_request(self.id, self.medical_card_number, labelled=self.labelled),
            )
        except HisNoData:
            return None
        withheld = ReportWithheld.check(is_positive=reply.is_positive, report_status=reply.report_status)
        if withheld is not None:
            return withheld
        return EcgReportDetail.from_reply(
            self.hospital_id, self.id, self.medical_card_number, reply, labelled=self.labelled
        )

    @classmethod
    def from_reply(cls, hospital_id: str, card: str, row: EcgReportSummary) -> EcgReport:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            id=strawberry.ID(row.id),
            item=row.item,
            acquired_at=instant(row.acquisition_time),
            diagnosed_at=instant(row.diagnose_time),
            audited_at=instant(row.audit_time),
            patient_type=ReportPatientType.read(row.pat_type),
            audited=row.report_status.strip() != "1",
            sensitive=(row.is_positive or "").strip() == "1",
            withheld=ReportWithheld.check(is_positive=row.is_positive, report_status=row.report_status),
            medical_card_number=card,
            labelled=bool(row.hospital_id),
        )


@strawberry.type(description="ECG reports at one hospital (40.1.1 ecgReportRecord).")
class EcgReportsAtHospital(ReportsAtHospital[EcgReport]):
    @classmethod
    def from_reply(cls, hospital_id: str, card: str, rows: list[EcgReportSummary]) -> EcgReportsAtHospital:
        ordered = sorted(rows, key=lambda row: row.acquisition_time, reverse=True)
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            reports=[EcgReport.from_reply(hospital_id, card, r) for r in ordered],
        )
