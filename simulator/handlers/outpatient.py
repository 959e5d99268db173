"""Outpatient history: costs (18.1.1), invoices (31.x), medical records (32.x), prescriptions (38.x)."""

from __future__ import annotations

from simulator.data.model import Patient, Visit
from simulator.envelope import NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money, stamp
from simulator.handlers.template import render


def _visits(ctx: CallContext) -> list[tuple[str, str, Patient, Visit]]:
    start, end = ctx.window()
    rows = [
        (hospital.hospital_id, hospital.name, patient, visit)
        for hospital, patient in ctx.patients_in_each()
        for visit in patient.visits
        if start <= visit.time <= end
    ]
    return sorted(rows, key=lambda row: row[3].time, reverse=True)


def _visit(ctx: CallContext, key: str) -> tuple[Patient, Visit]:
    found = ctx.hospital.visits_by_key.get(ctx.body.text(key))
    if found is None:
        raise Rejected(NOT_FOUND, f"记录不存在: {ctx.body.text(key)}")
    return found


@handles("hospital.interface.queryOutpatientCostDetail")
def outpatient_costs(ctx: CallContext) -> Reply:
    rows = [
        {
            "hospitalId": hospital_id,
            "invoiceId": visit.invoice_id,
            "time": stamp(visit.time),
            "total": money(visit.total),
            "preferentialAmount": "0.00",
            "medInsuranceAmount": "0.00",
            "insuranceFundAmount": "0.00",
            "insuranceBalanceAmount": "0.00",
            "getAmount": money(visit.total),
            "patientName": patient.name,
            "details": [
                {
                    "type": category,
                    "item": item,
                    "price": money(price),
                    "quantity": str(quantity),
                    "amount": money(price * quantity),
                }
                for category, item, price, quantity in visit.lines
            ],
        }
        for hospital_id, _name, patient, visit in _visits(ctx)
    ]
    return ok(rows, msg="")


@handles("hospital.interface.electronicInvoiceInformation")
def invoices(ctx: CallContext) -> Reply:
    rows = [
        {
            "invoiceAmount": money(visit.total),
            "invoiceCode": visit.invoice_id[-9:].rjust(9, "0"),
            "invoiceDate": stamp(visit.time),
            "invoiceId": visit.invoice_id,
            "hospitalId": hospital_id,
            "outPatName": patient.name,
            "patientType": "1",
        }
        for hospital_id, _name, patient, visit in _visits(ctx)
    ]
    return ok(rows)


@handles("hospital.interface.createElectronicInvoice")
def invoice(ctx: CallContext) -> Reply:
    _patient, visit = _visit(ctx, "invoiceId")
    return render(
        ctx,
        values={
            "invoiceId": visit.invoice_id,
            "invoiceCode": visit.invoice_id[-9:].rjust(9, "0"),
            "billPageUrl": f"https://einvoice.example.com/{ctx.hospital.hospital_id}/{visit.invoice_id}",
        },
    )


@handles("hospital.interface.electronicMedicalRecord")
def medical_records(ctx: CallContext) -> Reply:
    rows = [
        {
            "hospitalId": hospital_id,
            "hospitalName": name,
            "id": visit.visit_id,
            "patType": "1",
            "time": stamp(visit.time),
            "doctor": visit.doctor,
            "complaints": visit.complaint,
            "department": visit.dept,
        }
        for hospital_id, name, _patient, visit in _visits(ctx)
    ]
    return ok(rows)


@handles("hospital.interface.electronicMedicalRecordDetail")
def medical_record(ctx: CallContext) -> Reply:
    patient, visit = _visit(ctx, "id")
    return render(
        ctx,
        patient=patient,
        values={
            "registrationId": visit.visit_id,
            "visitTime": stamp(visit.time),
            "department": visit.dept,
            "complaints": visit.complaint,
            "diagnosis": visit.diagnosis,
            "doctorName": visit.doctor,
            "signatureDate": stamp(visit.time),
        },
    )


@handles("hospital.interface.getPrescriptionRecord")
def prescriptions(ctx: CallContext) -> Reply:
    rows = [
        {
            "hospitalId": hospital_id,
            "hospitalName": name,
            "prescriptionType": "西药处方",
            "createTime": stamp(visit.time),
            "prescriptionId": visit.prescription_id,
            "diagnose": visit.diagnosis,
        }
        for hospital_id, name, _patient, visit in _visits(ctx)
    ]
    return ok(rows)


@handles("hospital.interface.getPrescriptionDetail")
def prescription(ctx: CallContext) -> Reply:
    patient, visit = _visit(ctx, "prescriptionId")
    return render(
        ctx,
        patient=patient,
        values={
            "createTime": stamp(visit.time),
            "birthday": f"{patient.birthdate.isoformat()} 00:00:00",
            "department": visit.dept,
            "diagnose": visit.diagnosis,
            "doctorName": visit.doctor,
        },
    )
