"""Prescriptions: list -> detail -> each drug's leaflet (38.1.1-38.1.3).

The leaflet edge is shared with the drugs given at discharge (35.1.2), which carry the same drugId.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from his_clients.models.prescriptions import (
    GET_DRUG_EXPLANATORY_MEMORANDUM,
    GET_PRESCRIPTION_DETAIL,
    GetDrugExplanatoryMemorandumRequest,
    GetPrescriptionDetailRequest,
    PrescribedDrug,
    PrescriptionSummary,
)
from his_clients.models.prescriptions import Prescription as PrescriptionReply

from ..context import Info
from ..hospitals.entry import HospitalEntry
from ..values import Sex
from .common import day, detail, instant, or_none, sex


@strawberry.type(description="One section of a drug's package leaflet (药品说明书), e.g. 适应症 or 用法用量.")
class DrugLeafletSection:
    title: str = strawberry.field(description="The section's title (cpiTitle).")
    content: str = strawberry.field(description="The section's text (mpiContent); may hold simple HTML.")


async def drug_leaflet(info: Info, hospital_id: str, drug_id: str | None) -> list[DrugLeafletSection] | None:
    """The leaflet of a drug (38.1.3); null when the drug has no id or the hospital has no leaflet."""
    if not drug_id:
        return None
    req = GetDrugExplanatoryMemorandumRequest(drug_id=drug_id)
    reply = await detail(info, GET_DRUG_EXPLANATORY_MEMORANDUM, hospital_id, req)
    if reply is None:
        return None
    return [DrugLeafletSection(title=s.cpi_title, content=s.mpi_content) for s in reply]


@strawberry.type(description="One drug of a prescription (处方药品).")
class Drug(HospitalEntry):
    drug_id: str | None = strawberry.field(
        description="The drug's id at the hospital (drugId); null when the hospital offers no leaflets."
    )
    name: str = strawberry.field(description="The drug's name (drugName).")
    specification: str = strawberry.field(description="Its specification (spec, 规格).")
    quantity: str = strawberry.field(description="How much is given, with its unit, e.g. 2盒.")
    usage: str = strawberry.field(description="How to take it (用法), e.g. 口服.")
    dose: str = strawberry.field(description="How much per take, with its unit, e.g. 1g (useAmount).")
    frequency: str = strawberry.field(description="How often, abbreviated: qd, tid, q6h...")
    frequency_name: str = strawberry.field(description="How often, in words: 一日一次...")
    storage: str | None = strawberry.field(description="How to store it; null when not given.")
    notice: str | None = strawberry.field(description="What to mind (注意事项); null when not given.")

    @strawberry.field(description="The drug's leaflet (38.1.3), section by section; null when there is none.")
    async def leaflet(self, info: Info) -> list[DrugLeafletSection] | None:
        return await drug_leaflet(info, self.hospital_id, self.drug_id)

    @classmethod
    def from_reply(cls, hospital_id: str, d: PrescribedDrug) -> Drug:
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
            storage=or_none(d.storage),
            notice=or_none(d.notice),
        )


@strawberry.type(description="A prescription in full (38.1.2 getPrescriptionDetail, 处方详情).")
class Prescription(HospitalEntry):
    patient_name: str = strawberry.field(description="The patient's name.")
    sex: Sex | None = strawberry.field(description="Sex; null when the hospital writes 未知.")
    age: str = strawberry.field(description="Age with its unit, e.g. 32岁.")
    birth_date: dt.date | None = strawberry.field(description="Date of birth (birthday).")
    prescribed_at: dt.datetime | None = strawberry.field(description="When it was written (createTime).")
    department: str = strawberry.field(description="The prescribing department.")
    diagnosis: str = strawberry.field(description="Diagnosis (diagnose).")
    doctor_name: str = strawberry.field(description="The prescribing doctor.")
    use_within: str | None = strawberry.field(
        description="Within how long the drugs are to be used up, e.g. 1天 (limitingTime); null when not given."
    )
    next_visit: str | None = strawberry.field(
        description="Suggested next visit, as the hospital writes it, e.g. 2021年10月15日 (nextVisitTime)."
    )
    drugs: list[Drug] = strawberry.field(description="The drugs prescribed (drugList).")

    @classmethod
    def from_reply(cls, hospital_id: str, r: PrescriptionReply) -> Prescription:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            patient_name=r.patient_name,
            sex=sex(r.sex),
            age=r.age,
            birth_date=day(r.birthday),
            prescribed_at=instant(r.create_time),
            department=r.department,
            diagnosis=r.diagnose,
            doctor_name=r.doctor_name,
            use_within=or_none(r.limiting_time),
            next_visit=or_none(r.next_visit_time),
            drugs=[Drug.from_reply(hospital_id, d) for d in r.drug_list],
        )


@strawberry.type(description="One outpatient prescription, in brief (38.1.1 getPrescriptionRecord).")
class PrescriptionSummaryEntry(HospitalEntry):
    prescription_id: strawberry.ID = strawberry.field(description="The prescription's id (prescriptionId).")
    hospital_name: str = strawberry.field(description="The hospital's name as the HIS writes it.")
    type: str = strawberry.field(description="Prescription type (prescriptionType), e.g. 西药处方, 中药处方.")
    prescribed_at: dt.datetime | None = strawberry.field(description="When it was written (createTime).")
    diagnosis: str = strawberry.field(description="Diagnosis (diagnose).")

    @strawberry.field(description="The prescription in full (38.1.2); null when the hospital no longer finds it.")
    async def detail(self, info: Info) -> Prescription | None:
        req = GetPrescriptionDetailRequest(prescription_id=str(self.prescription_id))
        reply = await detail(info, GET_PRESCRIPTION_DETAIL, self.hospital_id, req)
        return None if reply is None else Prescription.from_reply(self.hospital_id, reply)

    @classmethod
    def from_reply(cls, hospital_id: str, r: PrescriptionSummary) -> PrescriptionSummaryEntry:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            prescription_id=strawberry.ID(r.prescription_id),
            hospital_name=r.hospital_name,
            type=r.prescription_type,
            prescribed_at=instant(r.create_time),
            diagnosis=r.diagnose,
        )


@strawberry.type(description="The patient's outpatient prescriptions at one hospital within the window asked (38.1.1).")
class PrescriptionsAtHospital(HospitalEntry):
    prescriptions: list[PrescriptionSummaryEntry] = strawberry.field(description="The prescriptions, in brief.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[PrescriptionSummary]) -> PrescriptionsAtHospital:
        entries = [PrescriptionSummaryEntry.from_reply(hospital_id, r) for r in reply]
        return cls(hospital_id=strawberry.ID(hospital_id), prescriptions=entries)

    @classmethod
    def empty(cls, hospital_id: str) -> PrescriptionsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), prescriptions=[])
