"""The patient's records: profile and cards, outpatient fees and guide sheets, balances, invoices,
medical records, prescriptions, education, unfinished insurance orders, doctors seen online.

Every field spans hospitals: one entry per hospital asked, a failing hospital is a null entry and its
own error, and 10002 (no data) is an empty entry. Each returns one awaitable entry per hospital
(``per_hospital``), which graphql-core completes one by one; its decorator declares the GraphQL list.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.education import INHOSPITAL_EDUCATION_GET_LIST, InhospitalEducationGetListRequest
from his_clients.models.insurance import (
    MEDICAL_INSURANCE_QUERY_UNFINISHED_ORDERS,
    MedicalInsuranceQueryUnfinishedOrdersRequest,
)
from his_clients.models.internet_hospital import (
    INTERNET_HOSPITAL_QUERY_VISITED_DOCTOR_DATA,
    InternetHospitalQueryVisitedDoctorDataRequest,
)
from his_clients.models.invoices import ELECTRONIC_INVOICE_INFORMATION, ElectronicInvoiceInformationRequest
from his_clients.models.medical_records import ELECTRONIC_MEDICAL_RECORD, ElectronicMedicalRecordRequest
from his_clients.models.outpatient import (
    QUERY_GUIDE_SHEET,
    QUERY_OUTPATIENT_COST_DETAIL,
    QueryGuideSheetRequest,
    QueryOutpatientCostDetailRequest,
)
from his_clients.models.prescriptions import GET_PRESCRIPTION_RECORD, GetPrescriptionRecordRequest

from ..arguments import Day, From, FromTime, HospitalIds, To, ToTime, in_order, spec_day, time_bounds
from ..context import Info
from ..fanout import per_hospital
from ..inpatient.stays import HolderName, holder_name
from ..tasks import in_task
from .card_fields import PatientCardFields
from .common import PER_HOSPITAL, IdCardNumber, named, request
from .documents import (
    EducationRecordsAtHospital,
    InvoicesAtHospital,
    MedicalRecordKind,
    MedicalRecordsAtHospital,
)
from .outpatient import (
    GuideSheetAtHospital,
    OutpatientFeesAtHospital,
    UnfinishedInsuranceOrderAtHospital,
    VisitedDoctorsAtHospital,
)
from .prescriptions import PrescriptionsAtHospital


@strawberry.type
class PatientRecordFields(PatientCardFields):
    """Record fields of Patient (4.1.1, 5.1.5, 18.1.1, 23.1.x, 25.1.2, 31.x, 32.x, 38.x); cards: PatientCardFields."""

    if TYPE_CHECKING:
        medical_card_number: str

    @strawberry.field(
        description=(
            "The outpatient guide sheet (门诊导引单, 4.1.1) of one day at each hospital: where to go next, "
            "what to mind there." + PER_HOSPITAL
        ),
        graphql_type=list[GuideSheetAtHospital | None],
    )
    @in_task
    async def guide_sheets(
        self,
        info: Info,
        hospital_id: HospitalIds,
        date: Day,
        id_card_number: IdCardNumber = None,
        patient_name: HolderName = None,
    ) -> list[Awaitable[GuideSheetAtHospital]]:
        patient_name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        req = request(
            QueryGuideSheetRequest,
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            query_date=spec_day(date),
            patient_name=patient_name,
        )
        return per_hospital(
            info,
            hospital_id,
            method=QUERY_GUIDE_SHEET,
            request=req,
            convert=GuideSheetAtHospital.from_reply,
            empty=GuideSheetAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Outpatient bills paid within a window (18.1.1 queryOutpatientCostDetail). Hospitals behind one "
            "regional HIS are asked in one call. A bill the hospital lists under another name than patientName "
            "is not shown." + PER_HOSPITAL
        ),
        graphql_type=list[OutpatientFeesAtHospital | None],
    )
    @in_task
    async def outpatient_fees(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: FromTime,
        to: ToTime,
        id_card_number: IdCardNumber = None,
        patient_name: HolderName = None,
    ) -> list[Awaitable[OutpatientFeesAtHospital]]:
        patient_name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        first, last = time_bounds(from_, to)
        req = request(
            QueryOutpatientCostDetailRequest,
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            start_time=first,
            end_time=last,
            patient_name=patient_name,
        )
        return per_hospital(
            info,
            hospital_id,
            method=QUERY_OUTPATIENT_COST_DETAIL,
            request=req,
            convert=lambda hospital, bills: OutpatientFeesAtHospital.from_reply(
                hospital, [bill for bill in bills if named(bill.patient_name, patient_name)]
            ),
            empty=OutpatientFeesAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "The medical-insurance order the patient left unfinished at each hospital (5.1.5 "
            "medicalInsurance.queryUnfinishedOrders), to resume paying it." + PER_HOSPITAL
        ),
        graphql_type=list[UnfinishedInsuranceOrderAtHospital | None],
    )
    def unfinished_insurance_orders(
        self,
        info: Info,
        hospital_id: HospitalIds,
        id_card_number: IdCardNumber = None,
        phone: Annotated[str | None, strawberry.argument(description="The patient's phone (phoneNo).")] = None,
        social_card_tail: Annotated[
            str | None,
            strawberry.argument(description="Last 6 digits of the social-security card's bank number (socialCardNo)."),
        ] = None,
    ) -> list[Awaitable[UnfinishedInsuranceOrderAtHospital]]:
        req = MedicalInsuranceQueryUnfinishedOrdersRequest(
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            phone_no=phone,
            social_card_no=social_card_tail,
        )
        return per_hospital(
            info,
            hospital_id,
            method=MEDICAL_INSURANCE_QUERY_UNFINISHED_ORDERS,
            request=req,
            convert=UnfinishedInsuranceOrderAtHospital.from_reply,
            empty=UnfinishedInsuranceOrderAtHospital.none,
        )

    @strawberry.field(
        description=(
            "Doctors the patient has seen between two days (25.1.2 internetHospital.queryVisitedDoctorData), "
            "e.g. to consult them again online." + PER_HOSPITAL
        ),
        graphql_type=list[VisitedDoctorsAtHospital | None],
    )
    def visited_doctors(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: From,
        to: To,
    ) -> list[Awaitable[VisitedDoctorsAtHospital]]:
        in_order(from_, to)
        req = request(
            InternetHospitalQueryVisitedDoctorDataRequest,
            medical_card_number=self.medical_card_number,
            begin_time=spec_day(from_),
            end_time=spec_day(to),
        )
        return per_hospital(
            info,
            hospital_id,
            method=INTERNET_HOSPITAL_QUERY_VISITED_DOCTOR_DATA,
            request=req,
            convert=VisitedDoctorsAtHospital.from_reply,
            empty=VisitedDoctorsAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Electronic invoices (电子发票) issued between two days (31.1.1 electronicInvoiceInformation); each "
            "leads to its page and file (31.1.2). Given patientName, an invoice made out to another name is not "
            "shown." + PER_HOSPITAL
        ),
        graphql_type=list[InvoicesAtHospital | None],
    )
    def invoices(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: From,
        to: To,
        patient_name: Annotated[str | None, strawberry.argument(description="The patient's name (optional).")] = None,
        id_card_number: IdCardNumber = None,
    ) -> list[Awaitable[InvoicesAtHospital]]:
        in_order(from_, to)
        req = request(
            ElectronicInvoiceInformationRequest,
            medical_card_number=self.medical_card_number,
            start_date=spec_day(from_),
            end_date=spec_day(to),
            id_card=id_card_number,
            patient_name=patient_name,
        )
        return per_hospital(
            info,
            hospital_id,
            method=ELECTRONIC_INVOICE_INFORMATION,
            request=req,
            convert=lambda hospital, invoices: InvoicesAtHospital.from_reply(
                hospital, [invoice for invoice in invoices if named(invoice.out_pat_name, patient_name)]
            ),
            empty=InvoicesAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Medical records (电子病历) of the visits within a window (32.1.1 electronicMedicalRecord); each leads "
            "to the record in full (32.1.2). Hospitals behind one regional HIS are asked in one call." + PER_HOSPITAL
        ),
        graphql_type=list[MedicalRecordsAtHospital | None],
    )
    @in_task
    async def medical_records(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: FromTime,
        to: ToTime,
        kind: Annotated[
            MedicalRecordKind | None,
            strawberry.argument(description="Only outpatient or inpatient records; both if null."),
        ] = None,
        id_card_number: IdCardNumber = None,
        patient_name: HolderName = None,
    ) -> list[Awaitable[MedicalRecordsAtHospital]]:
        patient_name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        first, last = time_bounds(from_, to)
        req = request(
            ElectronicMedicalRecordRequest,
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            # The spec asks for an empty string, not an absent key, to mean both kinds.
            pat_type=kind.value if kind else "",
            start_time=first,
            end_time=last,
            patient_name=patient_name,
        )
        return per_hospital(
            info,
            hospital_id,
            method=ELECTRONIC_MEDICAL_RECORD,
            request=req,
            convert=MedicalRecordsAtHospital.from_reply,
            empty=MedicalRecordsAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Outpatient prescriptions (处方) within a window (38.1.1 getPrescriptionRecord); each leads to its "
            "drugs (38.1.2) and their leaflets (38.1.3). Hospitals behind one regional HIS are asked in one call."
            + PER_HOSPITAL
        ),
        graphql_type=list[PrescriptionsAtHospital | None],
    )
    @in_task
    async def prescriptions(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: FromTime,
        to: ToTime,
        id_card_number: IdCardNumber = None,
        patient_name: HolderName = None,
    ) -> list[Awaitable[PrescriptionsAtHospital]]:
        patient_name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        first, last = time_bounds(from_, to)
        req = request(
            GetPrescriptionRecordRequest,
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            start_time=first,
            end_time=last,
            patient_name=patient_name,
        )
        return per_hospital(
            info,
            hospital_id,
            method=GET_PRESCRIPTION_RECORD,
            request=req,
            convert=PrescriptionsAtHospital.from_reply,
            empty=PrescriptionsAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Education sessions (住院宣教) given to the patient in hospital (23.1.1 inhospitalEducation.getList); "
            "each leads to its content and signature (23.1.2)." + PER_HOSPITAL
        ),
        graphql_type=list[EducationRecordsAtHospital | None],
    )
    def education_records(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[EducationRecordsAtHospital]]:
        req = InhospitalEducationGetListRequest(medical_card_number=self.medical_card_number, id_card=id_card_number)
        return per_hospital(
            info,
            hospital_id,
            method=INHOSPITAL_EDUCATION_GET_LIST,
            request=req,
            convert=EducationRecordsAtHospital.from_reply,
            empty=EducationRecordsAtHospital.empty,
        )
