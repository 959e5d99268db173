"""The patient's reports: lab, exam/PACS with images, physical exam, ECG, pathology, nucleic acid.

Every list spans hospitals (``hospitalId`` comma-separated: one entry per hospital, a failing
hospital is a null entry plus its own error). Details hang off each report and are asked only when
queried; files are download links (``/files/{token}``), never file contents. Reports the spec says
the patient must not see in detail (sensitive, unaudited or recalled, restricted pathology,
unfinished physical exams) still appear in the lists, with ``withheld`` saying why, and their
details are never asked from the hospital.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.reports_ecg import ECG_REPORT_RECORD, EcgReportRecordRequest
from his_clients.models.reports_lab import LABORATORY_REPORT, LaboratoryReportRequest
from his_clients.models.reports_pacs import PACS_REPORT, PacsReportRequest
from his_clients.models.reports_pathology import PATHOLOGY_REPORT_RECORD, PathologyReportRecordRequest
from his_clients.models.reports_physical_exam import (
    GET_RECENT_NUCLEIC_ACID_TEST_RESULT,
    PHYSICAL_EXAMINATION_REPORT_LIST,
    GetRecentNucleicAcidTestResultRequest,
    PhysicalExaminationReportListRequest,
)
from services.refusals import RefusalCode, Refused

from ..arguments import HospitalIds
from ..context import Info
from ..fanout import known_hospital_ids, per_hospital
from .common import DEFAULT_WINDOW_DAYS, ReportPatientType, card_holder, shows_restricted_pathology, window
from .ecg import EcgReportsAtHospital
from .imaging import ImagingReportsAtHospital
from .lab import LabReportsAtHospital
from .nucleic_acid import NucleicAcidTestAtHospital
from .pathology import PathologyReportsAtHospital
from .physical_exam import PhysicalExamReportsAtHospital

ReportsFrom = Annotated[
    datetime | None,
    strawberry.argument(
        name="from",
        description=(
            f"Start of the window (inclusive; without an offset, Beijing time); default: {DEFAULT_WINDOW_DAYS} days "
            "before to."
        ),
    ),
]
ReportsTo = Annotated[
    datetime | None,
    strawberry.argument(
        name="to", description="End of the window (inclusive; without an offset, Beijing time); default: now."
    ),
]
PatientTypeArg = Annotated[
    ReportPatientType | None, strawberry.argument(description="Only outpatient or only inpatient reports; default all.")
]
AdmissionNumber = Annotated[
    str | None,
    strawberry.argument(
        description="An inpatient admission number (住院号): the hospital also returns that stay's reports."
    ),
]

LIST = (
    "One entry per hospital asked, in the order asked; a hospital with none gives an entry with no reports, a "
    "failing hospital a null entry and its own error with extensions {hospitalId, code, method}."
)


@strawberry.type
class PatientReportFields:
    """Report fields of Patient (16.x, 17.x, 34.1.1, 40.x, 41.x)."""

    if TYPE_CHECKING:
        medical_card_number: str

    @strawberry.field(
        description=f"Lab reports (检验报告, 16.1.1 laboratoryReport), newest first. {LIST}",
        graphql_type=list[LabReportsAtHospital | None],
    )
    async def lab_reports(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: ReportsFrom = None,
        to: ReportsTo = None,
        patient_type: PatientTypeArg = None,
        admission_number: AdmissionNumber = None,
    ) -> list[Awaitable[LabReportsAtHospital]]:
        card = self.medical_card_number
        start, end = window(from_, to)
        holder = await card_holder(info, card, known_hospital_ids(info, hospital_id))
        request = LaboratoryReportRequest(
            medical_card_number=card,
            patient_name=holder.name,
            start_time=start,
            end_time=end,
            pat_type=patient_type.value if patient_type else None,
            admission_number=admission_number,
        )
        return per_hospital(
            info,
            hospital_id,
            method=LABORATORY_REPORT,
            request=request,
            convert=lambda h, reply: LabReportsAtHospital.from_reply(h, card, reply),
            empty=LabReportsAtHospital.none,
        )

    @strawberry.field(
        description=f"Imaging reports (检查报告: CT, MR, ultrasound, X-ray; 16.1.1 pacsReport), newest first. {LIST}",
        graphql_type=list[ImagingReportsAtHospital | None],
    )
    async def imaging_reports(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: ReportsFrom = None,
        to: ReportsTo = None,
        patient_type: PatientTypeArg = None,
        admission_number: AdmissionNumber = None,
    ) -> list[Awaitable[ImagingReportsAtHospital]]:
        card = self.medical_card_number
        start, end = window(from_, to)
        holder = await card_holder(info, card, known_hospital_ids(info, hospital_id))
        request = PacsReportRequest(
            medical_card_number=card,
            patient_name=holder.name,
            start_time=start,
            end_time=end,
            pat_type=patient_type.value if patient_type else None,
            admission_number=admission_number,
        )
        return per_hospital(
            info,
            hospital_id,
            method=PACS_REPORT,
            request=request,
            convert=lambda h, reply: ImagingReportsAtHospital.from_reply(h, card, reply),
            empty=ImagingReportsAtHospital.none,
        )

    @strawberry.field(
        description=(f"Physical exam reports (体检报告, 17.1.1), newest first; the window is on the exam date. {LIST}"),
        graphql_type=list[PhysicalExamReportsAtHospital | None],
    )
    def physical_exam_reports(
        self, info: Info, hospital_id: HospitalIds, from_: ReportsFrom = None, to: ReportsTo = None
    ) -> list[Awaitable[PhysicalExamReportsAtHospital]]:
        card = self.medical_card_number
        start, end = window(from_, to)
        request = PhysicalExaminationReportListRequest(medical_card_number=card, start_time=start, end_time=end)
        return per_hospital(
            info,
            hospital_id,
            method=PHYSICAL_EXAMINATION_REPORT_LIST,
            request=request,
            convert=lambda h, reply: PhysicalExamReportsAtHospital.from_reply(h, card, reply),
            empty=PhysicalExamReportsAtHospital.none,
        )

    @strawberry.field(
        description=(
            f"ECG reports (心电报告, 40.1.1 ecgReportRecord), newest first; the window is on the recording time, so "
            f"unaudited reports are listed too (withheld). {LIST}"
        ),
        graphql_type=list[EcgReportsAtHospital | None],
    )
    async def ecg_reports(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: ReportsFrom = None,
        to: ReportsTo = None,
        admission_number: AdmissionNumber = None,
    ) -> list[Awaitable[EcgReportsAtHospital]]:
        card = self.medical_card_number
        start, end = window(from_, to)
        holder = await card_holder(info, card, known_hospital_ids(info, hospital_id))
        request = EcgReportRecordRequest(
            medical_card_number=card,
            patient_name=holder.name,
            start_time=start,
            end_time=end,
            admission_number=admission_number,
        )
        return per_hospital(
            info,
            hospital_id,
            method=ECG_REPORT_RECORD,
            request=request,
            convert=lambda h, rows: EcgReportsAtHospital.from_reply(h, card, rows),
            empty=EcgReportsAtHospital.none,
        )

    @strawberry.field(
        description=(
            f"Pathology reports (病理报告, 41.1.1 pathologyReportRecord), newest first; the window is on the "
            f"registration time. Reports audited but sensitive by policy (reportStatus 3) are shown only where the "
            f"hospital's registry entry allows it. {LIST}"
        ),
        graphql_type=list[PathologyReportsAtHospital | None],
    )
    async def pathology_reports(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: ReportsFrom = None,
        to: ReportsTo = None,
        patient_type: Annotated[
            ReportPatientType | None, strawberry.argument(description="Only reports of this kind of patient.")
        ] = None,
        admission_number: AdmissionNumber = None,
    ) -> list[Awaitable[PathologyReportsAtHospital]]:
        card = self.medical_card_number
        start, end = window(from_, to)
        holder = await card_holder(info, card, known_hospital_ids(info, hospital_id))
        request = PathologyReportRecordRequest(
            medical_card_number=card,
            patient_name=holder.name,
            start_time=start,
            end_time=end,
            pat_type=patient_type.value if patient_type else None,
            admission_number=admission_number,
        )
        return per_hospital(
            info,
            hospital_id,
            method=PATHOLOGY_REPORT_RECORD,
            request=request,
            convert=lambda h, rows: PathologyReportsAtHospital.from_reply(
                h, card, rows, show_restricted=shows_restricted_pathology(info, h)
            ),
            empty=PathologyReportsAtHospital.none,
        )

    @strawberry.field(
        description=(
            "The latest nucleic-acid test result at each hospital asked (34.1.1), asked by the ID number: the card "
            "holder's, else idCardNumber (20001 when neither is known). One entry per hospital, in the order asked; "
            "result is null where the patient has none; a failing hospital is a null entry and its own error."
        ),
        graphql_type=list[NucleicAcidTestAtHospital | None],
    )
    async def nucleic_acid_tests(
        self,
        info: Info,
        hospital_id: HospitalIds,
        id_card_number: Annotated[
            str | None,
            strawberry.argument(description="The patient's ID-card number, when the card's record holds none."),
        ] = None,
    ) -> list[Awaitable[NucleicAcidTestAtHospital]]:
        card = self.medical_card_number
        holder = await card_holder(info, card, known_hospital_ids(info, hospital_id))
        id_card = holder.id_card or id_card_number
        if not id_card:
            raise Refused(
                RefusalCode.MISSING_PARAMETER, "查询核酸检测结果需要身份证号，请填写身份证号。", field="idCardNumber"
            )
        request = GetRecentNucleicAcidTestResultRequest(
            id_card=id_card, patient_name=holder.name, medical_card_number=card
        )
        return per_hospital(
            info,
            hospital_id,
            method=GET_RECENT_NUCLEIC_ACID_TEST_RESULT,
            request=request,
            convert=NucleicAcidTestAtHospital.from_reply,
            empty=NucleicAcidTestAtHospital.none,
        )
