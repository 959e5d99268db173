"""Stays before and after: past stays (27.1.1), discharge records -> drugs to take home (35.x),
and admission applications (36.1.1)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from his_clients.models.inpatient_costs import PastHospitalization
from his_clients.models.inpatient_records import (
    GET_DRUG_ITEM_FOR_DISCHARGED,
    DischargeDrug,
    DischargeMedication,
    DischargeRecord,
    GetDrugItemForDischargedRequest,
)
from his_clients.models.inpatient_records import (
    AdmissionApplication as AdmissionApplicationReply,
)

from ..context import Info
from ..hospitals.entry import HospitalEntry
from ..records.common import coded, day, detail, instant, or_none, sex
from ..records.prescriptions import DrugLeafletSection, drug_leaflet
from ..scalars import Money
from ..values import Sex


@strawberry.enum(description="Where a stay on record stands (patInStatus).")
class PastStayStatus(Enum):
    IN_HOSPITAL = strawberry.enum_value("1", description="在院: in hospital.")
    DISCHARGED = strawberry.enum_value("2", description="出院: discharged.")
    CANCELLED = strawberry.enum_value("3", description="作废撤销: cancelled.")


@strawberry.type(description="One stay on record, current or past (27.1.1 inpatientRecord, 历次住院记录).")
class PastStay:
    admission_number: str = strawberry.field(description="The admission number (patInHosCode, 住院号).")
    admitted_on: dt.date | None = strawberry.field(description="Admission day (patInTime).")
    discharged_on: dt.date | None = strawberry.field(description="Discharge day; null while in hospital.")
    ward: str = strawberry.field(description="The ward (wardName, 病区).")
    status: PastStayStatus | None = strawberry.field(
        description="Where the stay stands (patInStatus); null for a code the spec does not know."
    )

    @classmethod
    def from_reply(cls, r: PastHospitalization) -> PastStay:
        return cls(
            admission_number=r.pat_in_hos_code,
            admitted_on=day(r.pat_in_time),
            discharged_on=day(r.pat_out_time),
            ward=r.ward_name,
            status=coded(PastStayStatus, r.pat_in_status),
        )


@strawberry.type(description="The patient's stays on record at one hospital, in and out (27.1.1).")
class PastStaysAtHospital(HospitalEntry):
    stays: list[PastStay] = strawberry.field(description="The stays; empty when there are none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[PastHospitalization]) -> PastStaysAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), stays=[PastStay.from_reply(r) for r in reply])

    @classmethod
    def empty(cls, hospital_id: str) -> PastStaysAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), stays=[])


@strawberry.type(description="One drug given at discharge (出院带药).")
class DischargeDrugItem(HospitalEntry):
    drug_id: str | None = strawberry.field(description="The drug's id (drugId); null when there are no leaflets.")
    name: str = strawberry.field(description="The drug's name.")
    specification: str = strawberry.field(description="Its specification (spec, 规格).")
    quantity: str = strawberry.field(description="How much is given, with its unit, e.g. 2盒.")
    usage: str = strawberry.field(description="How to take it (用法).")
    dose: str = strawberry.field(description="How much per take, with its unit (useAmount).")
    frequency: str = strawberry.field(description="How often, abbreviated: qd, tid, q6h...")
    frequency_name: str = strawberry.field(description="How often, in words.")

    @strawberry.field(description="The drug's leaflet (38.1.3), section by section; null when there is none.")
    async def leaflet(self, info: Info) -> list[DrugLeafletSection] | None:
        return await drug_leaflet(info, self.hospital_id, self.drug_id)

    @classmethod
    def from_reply(cls, hospital_id: str, d: DischargeDrug) -> DischargeDrugItem:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            drug_id=or_none(d.drug_id),
            name=d.drug_name,
            specification=d.spec,
            quantity=d.quantity,
            usage=d.usage,
            dose=d.use_amount,
            frequency=d.frequency,
            frequency_name=d.frequency_name,
        )


@strawberry.type(description="What the patient takes home at discharge (35.1.2 getDrugItemForDischarged, 出院带药).")
class DischargeMedicines(HospitalEntry):
    patient_name: str = strawberry.field(description="The patient's name.")
    sex: Sex | None = strawberry.field(description="Sex; null when the hospital writes 未知.")
    age: str = strawberry.field(description="Age with its unit, e.g. 34岁.")
    prescribed_at: dt.datetime | None = strawberry.field(description="When prescribed (createTime).")
    department: str = strawberry.field(description="The department or ward.")
    diagnosis: str = strawberry.field(description="Diagnosis (diagnose).")
    doctor_name: str = strawberry.field(description="The prescribing doctor.")
    drugs: list[DischargeDrugItem] = strawberry.field(description="The drugs (drugList).")

    @classmethod
    def from_reply(cls, hospital_id: str, r: DischargeMedication) -> DischargeMedicines:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            patient_name=r.patient_name,
            sex=sex(r.sex),
            age=r.age,
            prescribed_at=instant(r.create_time),
            department=r.department,
            diagnosis=r.diagnose,
            doctor_name=r.doctor_name,
            drugs=[DischargeDrugItem.from_reply(hospital_id, d) for d in r.drug_list],
        )


@strawberry.type(description="One discharge on record (35.1.1 getOutOfHospitalHistory, 出院记录).")
class Discharge(HospitalEntry):
    stay_id: str = strawberry.field(description="The stay's unique id (patientInHospitalId).")
    admission_number: str = strawberry.field(description="The admission number (inHospitalCode, 住院号).")
    hospital_name: str | None = strawberry.field(description="The hospital's name, when the HIS gives it.")
    department: str = strawberry.field(description="The department or ward.")
    diagnosis: str = strawberry.field(description="Diagnosis (diagnose).")
    age: str = strawberry.field(description="The patient's age then, with its unit.")
    admitted_at: dt.datetime | None = strawberry.field(description="When admitted (inHospitalTime).")
    discharged_at: dt.datetime | None = strawberry.field(description="When discharged (outHospitalTime).")
    prescription_type: str = strawberry.field(description="The take-home prescription's type, e.g. 西药处方.")

    @strawberry.field(description="The drugs taken home (35.1.2); null when the hospital has none on record.")
    async def medicines(self, info: Info) -> DischargeMedicines | None:
        req = GetDrugItemForDischargedRequest(patient_in_hospital_id=self.stay_id)
        reply = await detail(info, GET_DRUG_ITEM_FOR_DISCHARGED, self.hospital_id, req)
        return None if reply is None else DischargeMedicines.from_reply(self.hospital_id, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, r: DischargeRecord) -> Discharge:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            stay_id=r.patient_in_hospital_id,
            admission_number=r.in_hospital_code,
            hospital_name=or_none(r.hospital_name),
            department=r.department,
            diagnosis=r.diagnose,
            age=r.age,
            admitted_at=instant(r.in_hospital_time),
            discharged_at=instant(r.out_hospital_time),
            prescription_type=r.prescription_type,
        )


@strawberry.type(description="The patient's discharges on record at one hospital (35.1.1).")
class DischargesAtHospital(HospitalEntry):
    discharges: list[Discharge] = strawberry.field(description="The discharges; empty when there are none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[DischargeRecord]) -> DischargesAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id), discharges=[Discharge.from_reply(hospital_id, r) for r in reply]
        )

    @classmethod
    def empty(cls, hospital_id: str) -> DischargesAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), discharges=[])


@strawberry.type(description="An admission application a doctor made for the patient (36.1.1, 入院申请).")
class AdmissionApplication:
    application_id: str | None = strawberry.field(description="The application's id (admissionCardId).")
    status: str | None = strawberry.field(description="Its state as the HIS words it (applyStatus), e.g. 已申请.")
    department_name: str = strawberry.field(description="The admitting department (deptName).")
    department_address: str | None = strawberry.field(description="Where the department is (deptAddress).")
    ward_name: str | None = strawberry.field(description="The ward (wardName, 病区).")
    admission_way: str = strawberry.field(description="How the patient is admitted (strMemo, 入院方式), e.g. 普通入院.")
    prepay_amount: Money = strawberry.field(description="The deposit asked at admission (prepayAmount).")
    admission_number: str | None = strawberry.field(description="The admission number, once given (住院号).")
    medical_card_number: str | None = strawberry.field(description="The patient's card.")
    id_card_number: str | None = strawberry.field(description="The patient's ID-card number.")
    phone: str | None = strawberry.field(description="The patient's phone.")
    age: str | None = strawberry.field(description="The patient's age.")
    sex: Sex | None = strawberry.field(description="Sex; null when the hospital does not say.")
    occupation: str | None = strawberry.field(description="The patient's occupation (professionName).")
    contact_name: str | None = strawberry.field(description="Another contact person (othersContacts).")
    contact_relationship: str | None = strawberry.field(
        description="The contact's relation, a code of the spec's 附五 (relationshipName)."
    )

    @classmethod
    def from_reply(cls, r: AdmissionApplicationReply) -> AdmissionApplication:
        return cls(
            application_id=or_none(r.admission_card_id),
            status=or_none(r.apply_status),
            department_name=r.dept_name,
            department_address=or_none(r.dept_address),
            ward_name=or_none(r.ward_name),
            admission_way=r.str_memo,
            prepay_amount=Money(r.prepay_amount),
            admission_number=or_none(r.admission_number),
            medical_card_number=or_none(r.medical_card_number),
            id_card_number=or_none(r.id_card),
            phone=or_none(r.phone),
            age=or_none(r.age),
            sex=sex(r.sex),
            occupation=or_none(r.profession_name),
            contact_name=or_none(r.others_contacts),
            contact_relationship=or_none(r.relationship_name),
        )


@strawberry.type(description="The patient's admission application at one hospital (36.1.1); null when none.")
class AdmissionApplicationAtHospital(HospitalEntry):
    application: AdmissionApplication | None = strawberry.field(description="The application; null when none.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: AdmissionApplicationReply) -> AdmissionApplicationAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), application=AdmissionApplication.from_reply(reply))

    @classmethod
    def none(cls, hospital_id: str) -> AdmissionApplicationAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), application=None)
