"""Reports of every kind: lab/PACS (16.x), physical exam (17.x), ECG (40.x), pathology (41.x)."""

from __future__ import annotations

import base64
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from simulator.data import vocab
from simulator.data.build import stable_int
from simulator.data.model import Hospital, Patient, Report
from simulator.dicom import ecg_png_bytes, report_pdf_bytes
from simulator.envelope import NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, stamp
from simulator.handlers.template import render

# Real HIS replies are messy: the spec's examples write this key with a trailing space.
POSITIVE_KEY = "isPositive "
# reportStatus: 1 unaudited or recalled, 2 audited, 3 audited but sensitive by policy (41.1.1 only).
_STATUS_CODE = {"reviewed": "2", "registered": "1", "restricted": "2"}
_PATHOLOGY_STATUS_CODE = {**_STATUS_CODE, "restricted": "3"}

PUBLIC_BASE_URL: ContextVar[str] = ContextVar("PUBLIC_BASE_URL", default="http://127.0.0.1:9100")
"""Where the caller reached this simulator (set per request by the app): report URLs point at its file server
(``simulator.dicom.FILE_ROUTE``) under that address."""

EXAMPLE_CARD = "001000056254587"
# Reports the spec's example patient (张三) has at every hospital, so the rules that withhold
# reports can be shown: (kind, id, status, isPositive).
SPECIAL_REPORTS = (
    ("lab", "S-LAB-POSITIVE", "reviewed", True),
    ("lab", "S-LAB-RECALLED", "registered", False),
    ("pacs", "S-PACS-POSITIVE", "reviewed", True),
    ("ecg", "S-ECG-UNAUDITED", "registered", False),
    ("pathology", "S-PATH-UNAUDITED", "registered", False),
    ("pathology", "S-PATH-RESTRICTED", "restricted", False),
    ("exam", "S-EXAM-UNFINISHED", "registered", False),
)


def _ensure_special_reports(ctx: CallContext) -> None:
    """Add ``SPECIAL_REPORTS`` to 张三 at the hospitals asked, once per build of their data."""
    for hospital in ctx.hospitals:
        patient = hospital.by_card.get(EXAMPLE_CARD)
        if patient is None or ("lab", SPECIAL_REPORTS[0][1]) in hospital.reports_by_key:
            continue
        at = ctx.now.replace(hour=9, minute=0, second=0) - timedelta(days=2)
        for kind, report_id, status, positive in SPECIAL_REPORTS:
            item = {"lab": vocab.LAB_ITEMS[0][0], "pacs": vocab.PACS_ITEMS[0][0]}.get(kind, f"{kind} report")
            dcm_ids = (f"{report_id}-1",) if kind == "pacs" else ()
            report = Report(kind, report_id, item, at, "王春霞", "消化内科", status, positive, dcm_ids)
            patient.reports.append(report)
            hospital.reports_by_key[(kind, report_id)] = (patient, report)
            for dcm_id in dcm_ids:
                hospital.dcm_files[dcm_id] = report_id


def _pdf_url(hospital: Hospital, report: Report) -> str:
    return f"{PUBLIC_BASE_URL.get()}/files/{hospital.hospital_id}/{report.kind}/{report.report_id}.pdf"


def _pdf_base64(hospital: Hospital, report: Report) -> str:
    title = f"Hospital {hospital.hospital_id} {report.kind} report {report.report_id}"
    return base64.b64encode(report_pdf_bytes(title=title)).decode()


def _in_window(ctx: CallContext, kind: str) -> list[tuple[Hospital, Patient, Report]]:
    _ensure_special_reports(ctx)
    start, end = ctx.window()
    found: list[tuple[Hospital, Patient, Report]] = []
    for hospital, patient in ctx.patients_in_each():
        found.extend((hospital, patient, r) for r in patient.reports if r.kind == kind and start <= r.time <= end)
    return sorted(found, key=lambda row: row[2].time, reverse=True)


def _lookup(ctx: CallContext, kind: str, key: str = "id") -> tuple[Patient, Report]:
    _ensure_special_reports(ctx)
    report_id = ctx.body.text(key)
    found = ctx.hospital.reports_by_key.get((kind, report_id))
    if found is None:
        raise Rejected(NOT_FOUND, f"报告不存在: {report_id}")
    owner = ctx.find_patient() if ctx.card_number else None
    if ctx.card_number and owner is not found[0]:
        raise Rejected(NOT_FOUND, f"报告不存在: {report_id}")
    return found


def _later(report: Report, minutes: int) -> str:
    return stamp(report.time + timedelta(minutes=minutes))


@handles("hospital.interface.laboratoryReport", "hospital.interface.pacsReport")
def report_list(ctx: CallContext) -> Reply:
    kind = "lab" if ctx.entry.method.endswith("laboratoryReport") else "pacs"
    rows = [
        {
            "hospitalId": hospital.hospital_id,
            "id": report.report_id,
            "type": "0" if kind == "lab" else "1",
            "time": stamp(report.time),
            "doctor": report.doctor,
            "item": report.item,
            "specialTypes": "",
            "status": report.status,
            POSITIVE_KEY: "1" if report.positive else "0",
            "pdfUrl": _pdf_url(hospital, report),
        }
        for hospital, _patient, report in _in_window(ctx, kind)
    ]
    return ok({"patientName": ctx.patient(ctx.hospital).name if ctx.find_patient() else "", "report": rows})


def _lab_details(report: Report) -> list[dict[str, Any]]:
    analytes = next((rows for item, _specimen, rows in vocab.LAB_ITEMS if item == report.item), vocab.LAB_ITEMS[0][2])
    details = []
    for name, result, lower, upper, unit in analytes:
        normal = 0 if float(lower) <= float(result) <= float(upper) else (1 if float(result) > float(upper) else 2)
        details.append(
            {
                "item": name,
                "result": result,
                "referValueLower": lower,
                "referValueUpper": upper,
                "multiRowValue": f"{lower}-{upper}",
                "unit": unit,
                "normal": normal,
            }
        )
    return details


@handles("hospital.interface.laboratoryReportDetail")
def lab_detail(ctx: CallContext) -> Reply:
    patient, report = _lookup(ctx, "lab")
    specimen = next((s for item, s, _ in vocab.LAB_ITEMS if item == report.item), "血液")
    return render(
        ctx,
        patient=patient,
        values={
            "reportStatus": _STATUS_CODE[report.status],
            "dept": report.dept,
            "specimenCategory": specimen,
            "specimenNumber": str(stable_int(report.report_id) % 10**11),
            "doctor": report.doctor,
            "time": stamp(report.time),
            "executor": vocab.DOCTOR_NAMES[stable_int(report.report_id, "e") % 12],
            "auditor": vocab.DOCTOR_NAMES[stable_int(report.report_id, "a") % 12],
            "pdfUrl": _pdf_url(ctx.hospital, report),
            "details": _lab_details(report),
            "isPositive": "1" if report.positive else "0",
        },
    )


@handles("hospital.interface.pacsReportDetail")
def pacs_detail(ctx: CallContext) -> Reply:
    patient, report = _lookup(ctx, "pacs")
    _item, parts, finding, conclusion = next(
        (row for row in vocab.PACS_ITEMS if row[0] == report.item), vocab.PACS_ITEMS[0]
    )
    return render(
        ctx,
        patient=patient,
        values={
            "dept": report.dept,
            "parts": parts,
            "result": finding,
            "conclusion": conclusion,
            "time": stamp(report.time),
            "reportStatus": _STATUS_CODE[report.status],
            "pdfUrl": _pdf_url(ctx.hospital, report),
            "isPositive": "1" if report.positive else "0",
        },
    )


@handles("hospital.interface.pacsReportDcm")
def pacs_images(ctx: CallContext) -> Reply:
    _patient, report = _lookup(ctx, "pacs")
    _item, parts, *_ = next((row for row in vocab.PACS_ITEMS if row[0] == report.item), vocab.PACS_ITEMS[0])
    base = f"{PUBLIC_BASE_URL.get()}/files/{ctx.hospital.hospital_id}/pacs"
    thumbnail = f"{base}/{report.report_id}-thumbnail.png"
    series = [
        {"series": "1", "describe": parts, "thumbnailUrl": thumbnail, "dcms": list(report.dcm_ids), "type": "dcmId"}
    ]
    if report.dcm_ids:
        # The spec's other form: images by URL, fetched without 16.1.4 (here from the file server).
        urls = [f"{base}/{dcm_id}.dcm" for dcm_id in report.dcm_ids]
        series.append({"series": "2", "describe": parts, "thumbnailUrl": thumbnail, "dcms": urls, "type": "url"})
    return ok(series)


@handles("hospital.interface.lisReportPdf")
def lab_pdf(ctx: CallContext) -> Reply:
    _patient, report = _lookup(ctx, "lab")
    # 16.1.5 allows reportUrl or reportPdfCode; this hospital sends the file itself.
    return ok({"reportPdfCode": _pdf_base64(ctx.hospital, report)})


@handles("hospital.interface.physicalExaminationReportList")
def exam_list(ctx: CallContext) -> Reply:
    rows = [
        {
            "hospitalId": hospital.hospital_id,
            "healthExamNo": report.report_id,
            "startTime": stamp(report.time),
            "doctor": report.doctor,
            "endTime": stamp(report.time),
            "summaryTime": _later(report, 60 * 24 * 3),
            "hospitalName": hospital.name,
            "isFinished": "0" if report.status == "registered" else "1",
            "qualifiedFlag": "1",
            "bnsTypeCode": "4",
            POSITIVE_KEY: "1" if report.positive else "0",
            "pdfUrl": _pdf_url(hospital, report),
        }
        for hospital, _patient, report in _in_window(ctx, "exam")
    ]
    patient = ctx.find_patient()
    return ok({"patientName": patient.name if patient else "", "report": rows})


@handles("hospital.interface.physicalExaminationReportDetail")
def exam_detail(ctx: CallContext) -> Reply:
    patient, report = _lookup(ctx, "exam", "healthExamNo")
    return render(
        ctx,
        patient=patient,
        values={
            "healthExamNo": report.report_id,
            "isFinished": "0" if report.status == "registered" else "1",
            "startTime": report.time.date().isoformat(),
            "endTime": report.time.date().isoformat(),
            "doctor": report.doctor,
            "pdfUrl": _pdf_url(ctx.hospital, report),
            "isPositive": "1" if report.positive else "0",
        },
    )


@handles("hospital.interface.ecgReportRecord")
def ecg_list(ctx: CallContext) -> Reply:
    rows = [
        {
            "hospitalId": hospital.hospital_id,
            "hospitalName": hospital.name,
            "id": report.report_id,
            "acquisitionTime": stamp(report.time),
            "diagnoseTime": _later(report, 61),
            "auditTime": _later(report, 60 * 16),
            "item": report.item,
            "reportStatus": _STATUS_CODE[report.status],
            POSITIVE_KEY: "1" if report.positive else "0",
            "patType": "1",
            "pdfUrl": _pdf_url(hospital, report),
        }
        for hospital, _patient, report in _in_window(ctx, "ecg")
    ]
    return ok(rows)


@handles("hospital.interface.ecgReportDetail")
def ecg_detail(ctx: CallContext) -> Reply:
    patient, report = _lookup(ctx, "ecg")
    return render(
        ctx,
        patient=patient,
        values={
            "id": report.report_id,
            "doctor": report.doctor,
            "acquisitionTime": stamp(report.time),
            "diagnoseTime": _later(report, 61),
            "auditTime": _later(report, 60 * 16),
            "reportStatus": _STATUS_CODE[report.status],
            "pdfUrl": _pdf_url(ctx.hospital, report),
            "isPositive": "1" if report.positive else "0",
        },
    )


@handles("hospital.interface.ecgReportImage")
def ecg_image(ctx: CallContext) -> Reply:
    _patient, report = _lookup(ctx, "ecg")
    png = base64.b64encode(ecg_png_bytes(seed=f"{ctx.hospital.hospital_id}/{report.report_id}")).decode()
    return ok({"img": f"data:image/png;base64,{png}"})


@handles("hospital.interface.pathologyReportFile")
def pathology_file(ctx: CallContext) -> Reply:
    _patient, report = _lookup(ctx, "pathology")
    # 41.1.3: reportUrl, else reportFileCode with its fileType; this hospital links its file server.
    return ok({"reportUrl": _pdf_url(ctx.hospital, report), "fileType": "pdf"})


@handles("hospital.interface.pathologyReportRecord")
def pathology_list(ctx: CallContext) -> Reply:
    rows = [
        {
            "hospitalId": hospital.hospital_id,
            "hospitalName": hospital.name,
            "id": report.report_id,
            "regTime": stamp(report.time),
            "auditTime": _later(report, 60 * 48),
            "item": report.item,
            "patType": "1",
            "auditDoctor": report.doctor,
            "reportStatus": _PATHOLOGY_STATUS_CODE[report.status],
            POSITIVE_KEY: "1" if report.positive else "0",
            "pdfUrl": _pdf_url(hospital, report),
        }
        for hospital, _patient, report in _in_window(ctx, "pathology")
    ]
    return ok(rows)


@handles("hospital.interface.pathologyReportDetail")
def pathology_detail(ctx: CallContext) -> Reply:
    patient, report = _lookup(ctx, "pathology")
    return render(
        ctx,
        patient=patient,
        values={
            "id": report.report_id,
            "auditTime": _later(report, 60 * 48),
            "address": patient.address,
            "phone": patient.phone,
            "reportDoctor": report.doctor,
            "reportStatus": _STATUS_CODE[report.status],
            "pdfUrl": _pdf_url(ctx.hospital, report),
            "isPositive": "1" if report.positive else "0",
        },
    )
