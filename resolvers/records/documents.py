"""The patient's papers: electronic invoices (31.x), medical records (32.x) and education records (23.1.x).

Lists come with their details as edges, each one call through the request's loader when asked.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from his_clients.models.education import (
    INHOSPITAL_EDUCATION_GET_DETAIL_BY_ID,
    EducationDetail,
    EducationSummary,
    InhospitalEducationGetDetailByIdRequest,
)
from his_clients.models.invoices import (
    CREATE_ELECTRONIC_INVOICE,
    CreateElectronicInvoiceRequest,
    InvoiceSummary,
)
from his_clients.models.medical_records import (
    ELECTRONIC_MEDICAL_RECORD_DETAIL,
    ElectronicMedicalRecordDetailRequest,
    MedicalRecordSummary,
)
from his_clients.models.medical_records import MedicalRecord as MedicalRecordReply

from ..context import Info
from ..files import file_url
from ..hospitals.entry import HospitalEntry
from ..scalars import Money
from ..values import Sex
from .common import coded, day, detail, instant, or_none, sex

# invoiceImageType: 1 the base64 is a PDF, 2 an image; hospitals that leave it out mostly send PDFs.
_INVOICE_FILES = {"1": ("application/pdf", "pdf"), "2": ("image/png", "png")}


@strawberry.enum(description="What an invoice is for (patientType).")
class InvoicePurpose(Enum):
    OUTPATIENT = strawberry.enum_value("1", description="门诊: outpatient fees.")
    INPATIENT = strawberry.enum_value("2", description="住院: inpatient fees.")
    INPATIENT_DEPOSIT = strawberry.enum_value("3", description="住院押金: an inpatient deposit.")


@strawberry.enum(description="What an electronic invoice's file is (invoiceImageType).")
class InvoiceFileType(Enum):
    PDF = strawberry.enum_value("1", description="A PDF document.")
    IMAGE = strawberry.enum_value("2", description="An image (PNG).")


@strawberry.type(description="An electronic invoice as the hospital issues it (31.1.2 createElectronicInvoice).")
class ElectronicInvoice(HospitalEntry):
    invoice_id: str = strawberry.field(description="The invoice's key at the HIS (invoiceId).")
    invoice_number: str = strawberry.field(description="The invoice's number at the HIS (invoiceCode, 发票号).")
    page_url: str | None = strawberry.field(
        description="A public web page showing the invoice (billPageUrl); null when the hospital gives a file only."
    )
    file_type: InvoiceFileType | None = strawberry.field(
        description="What fileUrl serves (invoiceImageType); null when there is no file."
    )
    has_file: strawberry.Private[bool]
    request: strawberry.Private[CreateElectronicInvoiceRequest]

    @strawberry.field(
        description=(
            "A short-lived download link to the invoice file (the HIS's base64 invoiceImage, decoded on our side); "
            "null when the hospital gives a page only."
        )
    )
    def file_url(self, info: Info) -> str | None:
        if not self.has_file:
            return None
        content_type, extension = _INVOICE_FILES[str((self.file_type or InvoiceFileType.PDF).value)]
        return file_url(
            info,
            hospital_id=self.hospital_id,
            method=CREATE_ELECTRONIC_INVOICE,
            request=self.request,
            kind="base64",
            field="invoiceImage",
            filename=f"invoice-{self.invoice_id}.{extension}",
            content_type=content_type,
        )


@strawberry.type(description="One invoice the hospital issued to the patient (31.1.1 electronicInvoiceInformation).")
class Invoice(HospitalEntry):
    invoice_id: str = strawberry.field(description="The invoice's key at the HIS (invoiceId).")
    invoice_number: str = strawberry.field(description="The invoice's number at the HIS (invoiceCode, 发票号).")
    amount: Money = strawberry.field(description="The invoiced amount (invoiceAmount).")
    issued_at: dt.datetime | None = strawberry.field(description="When it was issued (invoiceDate).")
    patient_name: str = strawberry.field(description="The patient's name on it (outPatName).")
    patient_type: InvoicePurpose | None = strawberry.field(
        description="What it is for (patientType); null for a code the spec does not know."
    )
    patient_type_code: strawberry.Private[str]

    @strawberry.field(description="The electronic invoice itself: page and file (31.1.2); null when not found.")
    async def electronic_invoice(self, info: Info) -> ElectronicInvoice | None:
        req = CreateElectronicInvoiceRequest(invoice_id=self.invoice_id, patient_type=self.patient_type_code or None)
        reply = await detail(info, CREATE_ELECTRONIC_INVOICE, self.hospital_id, req)
        if reply is None:
            return None
        has_file = bool(reply.invoice_image)
        return ElectronicInvoice(
            hospital_id=self.hospital_id,
            invoice_id=reply.invoice_id or self.invoice_id,
            invoice_number=reply.invoice_code,
            page_url=or_none(reply.bill_page_url),
            file_type=(coded(InvoiceFileType, reply.invoice_image_type) or InvoiceFileType.PDF) if has_file else None,
            has_file=has_file,
            request=req,
        )

    @classmethod
    def from_reply(cls, hospital_id: str, invoice: InvoiceSummary) -> Invoice:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.invoice_code,
            amount=Money(invoice.invoice_amount),
            issued_at=instant(invoice.invoice_date),
            patient_name=invoice.out_pat_name,
            patient_type=coded(InvoicePurpose, invoice.patient_type),
            patient_type_code=invoice.patient_type,
        )


@strawberry.type(description="The patient's invoices at one hospital within the days asked (31.1.1).")
class InvoicesAtHospital(HospitalEntry):
    invoices: list[Invoice] = strawberry.field(description="The invoices; empty when there are none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[InvoiceSummary]) -> InvoicesAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), invoices=[Invoice.from_reply(hospital_id, i) for i in reply])

    @classmethod
    def empty(cls, hospital_id: str) -> InvoicesAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), invoices=[])


@strawberry.enum(description="Outpatient or inpatient medical record (patType).")
class MedicalRecordKind(Enum):
    OUTPATIENT = strawberry.enum_value("1", description="门诊: a record of an outpatient visit.")
    INPATIENT = strawberry.enum_value("2", description="住院: a record of an inpatient stay.")


@strawberry.type(description="Vital signs taken at the visit (体格检查).")
class VitalSigns:
    body_temperature: str = strawberry.field(description="Body temperature, e.g. 36.8℃.")
    blood_pressure: str = strawberry.field(description="Blood pressure, e.g. 180/95mmHg.")
    pulse: str = strawberry.field(description="Pulse, e.g. 72次/分.")
    respiratory_rate: str = strawberry.field(description="Respiratory rate, e.g. 16次/分.")
    other: str = strawberry.field(description="Anything else observed (otherDescription).")


@strawberry.type(description="An examination the record refers to (辅助检查).")
class MedicalRecordExam:
    exam_id: str = strawberry.field(description="The exam's id (examId).")
    name: str = strawberry.field(description="The exam's name.")
    department: str = strawberry.field(description="The department that did it.")
    summary: str = strawberry.field(description="Its conclusion (examSummary).")
    doctor: str = strawberry.field(description="The examining doctor.")
    date: dt.date | None = strawberry.field(description="The day of the examination (examTime).")


@strawberry.type(description="A medical record in full (32.1.2 electronicMedicalRecordDetail, 电子病历).")
class MedicalRecord:
    hospital_name: str = strawberry.field(description="The hospital's name.")
    patient_name: str = strawberry.field(description="The patient's name.")
    sex: Sex | None = strawberry.field(description="Sex; null when the hospital writes 未知.")
    age: str = strawberry.field(description="Age with its unit, e.g. 32岁, 2月.")
    registration_id: str = strawberry.field(description="The visit's registration number (登记号).")
    visited_at: dt.datetime | None = strawberry.field(description="When (visitTime).")
    department: str = strawberry.field(description="The department visited.")
    complaints: str = strawberry.field(description="Chief complaint (主诉).")
    present_illness: str = strawberry.field(description="History of present illness (现病史).")
    past_history: str = strawberry.field(description="Past and other history (既往史, anamnesis).")
    diagnosis: str = strawberry.field(description="Diagnosis (诊断).")
    advice: str = strawberry.field(description="The doctor's advice (处理意见).")
    doctor_name: str = strawberry.field(description="The signing doctor.")
    signed_at: dt.datetime | None = strawberry.field(description="When the doctor signed (signatureDate).")
    health_education: str = strawberry.field(description="Health education given (健康教育).")
    vital_signs: VitalSigns = strawberry.field(description="Vital signs (physicalExamination).")
    exams: list[MedicalRecordExam] = strawberry.field(description="Examinations referred to (exam).")

    @classmethod
    def from_reply(cls, r: MedicalRecordReply) -> MedicalRecord:
        signs = r.physical_examination
        return cls(
            hospital_name=r.hospital_name,
            patient_name=r.patient_name,
            sex=sex(r.sex),
            age=r.age,
            registration_id=r.registration_id,
            visited_at=instant(r.visit_time),
            department=r.department,
            complaints=r.complaints,
            present_illness=r.present_illness_history,
            past_history=r.anamnesis,
            diagnosis=r.diagnosis,
            advice=r.advice,
            doctor_name=r.doctor_name,
            signed_at=instant(r.signature_date),
            health_education=r.health_education,
            vital_signs=VitalSigns(
                body_temperature=signs.body_temperature,
                blood_pressure=signs.blood_pressure,
                pulse=signs.pulse,
                respiratory_rate=signs.respiratory_rate,
                other=signs.other_description,
            ),
            exams=[
                MedicalRecordExam(
                    exam_id=e.exam_id,
                    name=e.exam_name,
                    department=e.exam_department,
                    summary=e.exam_summary,
                    doctor=e.exam_doctor,
                    date=day(e.exam_time),
                )
                for e in r.exam
            ],
        )


@strawberry.type(description="One visit's medical record, in brief (32.1.1 electronicMedicalRecord).")
class MedicalRecordSummaryEntry(HospitalEntry):
    id: strawberry.ID = strawberry.field(description="The record's id at the hospital.")
    hospital_name: str = strawberry.field(description="The hospital's name as the HIS writes it.")
    kind: MedicalRecordKind | None = strawberry.field(
        description="OUTPATIENT or INPATIENT (patType 1 or 2); null for a code the spec does not know."
    )
    visited_at: dt.datetime | None = strawberry.field(description="When (time).")
    doctor: str = strawberry.field(description="The signing doctor.")
    complaints: str = strawberry.field(description="Chief complaint (主诉).")
    department: str = strawberry.field(description="The department visited.")

    @strawberry.field(description="The record in full (32.1.2); null when the hospital no longer finds it.")
    async def detail(self, info: Info) -> MedicalRecord | None:
        req = ElectronicMedicalRecordDetailRequest(id=str(self.id))
        reply = await detail(info, ELECTRONIC_MEDICAL_RECORD_DETAIL, self.hospital_id, req)
        return None if reply is None else MedicalRecord.from_reply(reply)

    @classmethod
    def from_reply(cls, hospital_id: str, r: MedicalRecordSummary) -> MedicalRecordSummaryEntry:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            id=strawberry.ID(r.id),
            hospital_name=r.hospital_name,
            kind=next((k for k in MedicalRecordKind if str(k.value) == r.pat_type), None),
            visited_at=instant(r.time),
            doctor=r.doctor,
            complaints=r.complaints,
            department=r.department,
        )


@strawberry.type(description="The patient's medical records at one hospital within the window asked (32.1.1).")
class MedicalRecordsAtHospital(HospitalEntry):
    records: list[MedicalRecordSummaryEntry] = strawberry.field(description="The records, in brief.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[MedicalRecordSummary]) -> MedicalRecordsAtHospital:
        entries = [MedicalRecordSummaryEntry.from_reply(hospital_id, r) for r in reply]
        return cls(hospital_id=strawberry.ID(hospital_id), records=entries)

    @classmethod
    def empty(cls, hospital_id: str) -> MedicalRecordsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), records=[])


@strawberry.type(description="An education session in full (23.1.2 inhospitalEducation.getDetailById, 宣教详情).")
class EducationContent(HospitalEntry):
    content: str = strawberry.field(description="What the patient was taught (educationContent), as the HIS writes it.")
    signed: bool = strawberry.field(description="Whether the patient has signed it (signStatus signed).")
    has_signature: strawberry.Private[bool]
    request: strawberry.Private[InhospitalEducationGetDetailByIdRequest]

    @strawberry.field(
        description="A short-lived download link to the patient's signature image (signImage); null until signed."
    )
    def signature_image_url(self, info: Info) -> str | None:
        if not self.has_signature:
            return None
        return file_url(
            info,
            hospital_id=self.hospital_id,
            method=INHOSPITAL_EDUCATION_GET_DETAIL_BY_ID,
            request=self.request,
            kind="base64",
            field="signImage",
            filename=f"education-{self.request.id}-signature.png",
            content_type="image/png",
        )

    @classmethod
    def from_reply(
        cls, hospital_id: str, req: InhospitalEducationGetDetailByIdRequest, r: EducationDetail
    ) -> EducationContent:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            content=r.education_content,
            signed=r.sign_status == "signed",
            has_signature=bool(r.sign_image),
            request=req,
        )


@strawberry.type(description="One education session given to the patient in hospital (23.1.1, 住院宣教).")
class EducationRecord(HospitalEntry):
    id: strawberry.ID = strawberry.field(description="The record's id at the hospital.")
    name: str = strawberry.field(description="What was taught (peduName).")
    title: str = strawberry.field(description="Main heading (mainHeading).")
    subtitle: str | None = strawberry.field(description="Subheading; null when none.")
    nurse_name: str = strawberry.field(description="Who taught it (peduNurseName).")
    given_at: dt.datetime | None = strawberry.field(description="When (pushTime).")
    signed: bool = strawberry.field(
        description="Whether the patient has signed it (signStatus signed; notSign: the patient still has to sign)."
    )
    patient_name: str = strawberry.field(description="The patient's name.")

    @strawberry.field(description="The session in full (23.1.2); null when the hospital no longer finds it.")
    async def detail(self, info: Info) -> EducationContent | None:
        req = InhospitalEducationGetDetailByIdRequest(id=str(self.id))
        reply = await detail(info, INHOSPITAL_EDUCATION_GET_DETAIL_BY_ID, self.hospital_id, req)
        return None if reply is None else EducationContent.from_reply(self.hospital_id, req, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, r: EducationSummary) -> EducationRecord:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            id=strawberry.ID(r.id),
            name=r.pedu_name,
            title=r.main_heading,
            subtitle=or_none(r.sub_heading),
            nurse_name=r.pedu_nurse_name,
            given_at=instant(r.push_time),
            signed=r.sign_status == "signed",
            patient_name=r.patient_name,
        )


@strawberry.type(description="The patient's education records at one hospital (23.1.1 inhospitalEducation.getList).")
class EducationRecordsAtHospital(HospitalEntry):
    records: list[EducationRecord] = strawberry.field(description="The sessions; empty when there are none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[EducationSummary]) -> EducationRecordsAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id), records=[EducationRecord.from_reply(hospital_id, r) for r in reply]
        )

    @classmethod
    def empty(cls, hospital_id: str) -> EducationRecordsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), records=[])
