"""Patients' records: invoices, medical records, prescriptions, education, online doctors."""

from __future__ import annotations

from datetime import datetime

from simulator.envelope import Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, stamp


@handles("hospital.inerface.internetHospital.queryVisitedDoctorData")
def visited_doctors(ctx: CallContext) -> Reply:
    """The doctors of the patient's visits between beginTime and endTime, each with the latest visit."""
    start, end = ctx.window()
    patient = ctx.patient()
    codes = {doctor.name: doctor.doctor_id for doctor in ctx.hospital.doctors.values()}
    latest: dict[tuple[str, str], datetime] = {}
    for visit in patient.visits:
        if start <= visit.time <= end:
            key = (visit.doctor, visit.dept)
            latest[key] = max(latest.get(key, visit.time), visit.time)
    rows = [
        {
            "hospitalId": ctx.hospital.hospital_id,
            "doctorName": doctor,
            # Doctors of generated visits are not all on a schedule: their code is derived from the name.
            "doctorCode": codes.get(doctor) or f"D{sum(map(ord, doctor)) % 10000:04d}",
            "dept": dept,
            "post": "主治医师",
            "lastClinicTime": stamp(at),
        }
        for (doctor, dept), at in sorted(latest.items(), key=lambda item: item[1], reverse=True)
    ]
    return ok(rows)
