"""The patient's inpatient stays: deposits, fees per day, discharge, admission applications, caregivers.

Every field spans hospitals: one entry per hospital asked, a failing hospital is a null entry and its
own error, and 10002 (no data) is an empty entry. graphql-core completes the awaitable entries one by
one, so the return annotations are the GraphQL shape, not what the resolvers literally return.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.codes import ReturnCode
from his_clients.models.inpatient import (
    GET_DEPOSIT_RECORD,
    QUERY_INPATIENT_INFO,
    InpatientInfo,
    QueryInpatientInfoRequest,
)
from his_clients.models.inpatient_costs import (
    INPATIENT_RECORD,
    QUERY_HOSPITALIZATION_RECORD,
    InpatientRecordRequest,
    QueryHospitalizationRecordRequest,
)
from his_clients.models.inpatient_records import (
    GET_APPLICATION_HOSPITAL_INFORMATION,
    GET_OUT_OF_HOSPITAL_HISTORY,
    GetApplicationHospitalInformationRequest,
    GetOutOfHospitalHistoryRequest,
)

from ..arguments import FromTime, HospitalIds, ToTime, time_bounds
from ..context import Info
from ..fanout import per_hospital
from ..records.common import PER_HOSPITAL, IdCardNumber, request, same_name
from ..results import InputRefused
from ..tasks import in_task
from .fees import HospitalizationsAtHospital
from .history import AdmissionApplicationAtHospital, DischargesAtHospital, PastStaysAtHospital
from .stays import (
    DepositsAtHospital,
    HolderName,
    InpatientStay,
    InpatientStayAtHospital,
    deposit_request,
    holder_name,
)

AdmissionNumber = Annotated[
    str | None, strawberry.argument(description="The admission number (住院号), when known; optional.")
]


@strawberry.type
class PatientInpatientFields:
    """Inpatient fields of Patient (10.1.1, 12.1.2, 18.1.2-18.1.5, 27.1.1, 35.x, 36.1.1, 37.1.1, 39.1.1)."""

    if TYPE_CHECKING:
        medical_card_number: str

    @strawberry.field(
        description=(
            "The patient's current or latest stay (住院信息) at each hospital, in hospital or discharged (10.1.1 "
            "queryInpatientInfo): costs, deposit left, the limits of a deposit payment; with its deposits, "
            "one-day fee lists, fee summary and caregiver passes. Giving the ID-card number helps: hospitals "
            "match it first. A stay the hospital answers under another name than patientName is not shown "
            "(stay: null)." + PER_HOSPITAL
        ),
        graphql_type=list[InpatientStayAtHospital | None],
    )
    @in_task
    async def inpatient_stays(
        self,
        info: Info,
        hospital_id: HospitalIds,
        patient_name: HolderName = None,
        id_card_number: IdCardNumber = None,
        admission_number: AdmissionNumber = None,
    ) -> list[Awaitable[InpatientStayAtHospital]]:
        name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        req = QueryInpatientInfoRequest(
            medical_card_number=self.medical_card_number,
            patient_name=name,
            id_card=id_card_number,
            admission_number=admission_number,
        )

        def convert(hospital: str, reply: InpatientInfo) -> InpatientStayAtHospital:
            if not same_name(reply.in_pat_name, name):
                # The hospital answered someone else's stay (a HIS that ignores patientName): not this patient's.
                return InpatientStayAtHospital(hospital_id=strawberry.ID(hospital), stay=None)
            stay = InpatientStay.from_reply(hospital, reply, patient_name=name, id_card=id_card_number)
            return InpatientStayAtHospital(hospital_id=strawberry.ID(hospital), stay=stay)

        return per_hospital(
            info,
            hospital_id,
            method=QUERY_INPATIENT_INFO,
            request=req,
            convert=convert,
            empty=lambda hospital: InpatientStayAtHospital(hospital_id=strawberry.ID(hospital), stay=None),
        )

    @strawberry.field(
        description=(
            "Every deposit (住院押金) the patient paid or got back at each hospital, over all stays (39.1.1 "
            "getDepositRecord). The spec allows one hospital per call, so each hospital is its own call." + PER_HOSPITAL
        ),
        graphql_type=list[DepositsAtHospital | None],
    )
    @in_task
    async def deposit_records(
        self, info: Info, hospital_id: HospitalIds, patient_name: HolderName = None, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[DepositsAtHospital]]:
        name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        return per_hospital(
            info,
            hospital_id,
            method=GET_DEPOSIT_RECORD,
            request=deposit_request(self.medical_card_number, name, id_card_number),
            convert=DepositsAtHospital.from_reply,
            empty=DepositsAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Hospital stays within a window (18.1.2 queryHospitalizationRecord, 住院记录), each with its fees: "
            "summary (18.1.4), one day (18.1.5) or all lines (18.1.3). Hospitals behind one regional HIS are "
            "asked in one call." + PER_HOSPITAL
        ),
        graphql_type=list[HospitalizationsAtHospital | None],
    )
    @in_task
    async def hospitalizations(
        self,
        info: Info,
        hospital_id: HospitalIds,
        from_: FromTime,
        to: ToTime,
        patient_name: HolderName = None,
        id_card_number: IdCardNumber = None,
        admission_number: AdmissionNumber = None,
    ) -> list[Awaitable[HospitalizationsAtHospital]]:
        patient_name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        first, last = time_bounds(from_, to)
        req = request(
            QueryHospitalizationRecordRequest,
            medical_card_number=self.medical_card_number,
            admission_number=admission_number,
            start_time=first,
            end_time=last,
            id_card=id_card_number,
            patient_name=patient_name,
        )
        return per_hospital(
            info,
            hospital_id,
            method=QUERY_HOSPITALIZATION_RECORD,
            request=req,
            convert=HospitalizationsAtHospital.from_reply,
            empty=HospitalizationsAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Every stay on record at each hospital, in and out (27.1.1 inpatientRecord, 历次住院记录). Needs the "
            "ID-card number or an admission number." + PER_HOSPITAL
        ),
        graphql_type=list[PastStaysAtHospital | None],
    )
    @in_task
    async def past_stays(
        self,
        info: Info,
        hospital_id: HospitalIds,
        patient_name: HolderName = None,
        id_card_number: IdCardNumber = None,
        admission_number: AdmissionNumber = None,
    ) -> list[Awaitable[PastStaysAtHospital]]:
        if not id_card_number and not admission_number:
            raise InputRefused(
                "idCardNumber", ReturnCode.MISSING_PARAMETER, "需要身份证号或住院号: idCardNumber or admissionNumber"
            )
        patient_name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        req = InpatientRecordRequest(
            patient_name=patient_name, id_card=id_card_number, admission_number=admission_number
        )
        return per_hospital(
            info,
            hospital_id,
            method=INPATIENT_RECORD,
            request=req,
            convert=PastStaysAtHospital.from_reply,
            empty=PastStaysAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "Discharges on record (出院记录) at each hospital (35.1.1 getOutOfHospitalHistory), each with the drugs "
            "taken home (35.1.2)." + PER_HOSPITAL
        ),
        graphql_type=list[DischargesAtHospital | None],
    )
    @in_task
    async def discharges(
        self,
        info: Info,
        hospital_id: HospitalIds,
        id_card_number: Annotated[str, strawberry.argument(description="The patient's ID-card number (身份证号).")],
        patient_name: HolderName = None,
    ) -> list[Awaitable[DischargesAtHospital]]:
        patient_name = patient_name or await holder_name(info, self.medical_card_number, hospital_id)
        req = GetOutOfHospitalHistoryRequest(
            medical_card_number=self.medical_card_number, id_card=id_card_number, patient_name=patient_name
        )
        return per_hospital(
            info,
            hospital_id,
            method=GET_OUT_OF_HOSPITAL_HISTORY,
            request=req,
            convert=DischargesAtHospital.from_reply,
            empty=DischargesAtHospital.empty,
        )

    @strawberry.field(
        description=(
            "The admission application (入院申请) a doctor made for the patient at each hospital (36.1.1 "
            "getApplicationHospitalInformation)." + PER_HOSPITAL
        ),
        graphql_type=list[AdmissionApplicationAtHospital | None],
    )
    def admission_applications(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[AdmissionApplicationAtHospital]]:
        req = GetApplicationHospitalInformationRequest(
            medical_card_number=self.medical_card_number, id_card=id_card_number
        )
        return per_hospital(
            info,
            hospital_id,
            method=GET_APPLICATION_HOSPITAL_INFORMATION,
            request=req,
            convert=AdmissionApplicationAtHospital.from_reply,
            empty=AdmissionApplicationAtHospital.none,
        )
