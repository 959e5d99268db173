"""Generate the typed models of every HIS method from spec/interfaces.json.

Writes one module per domain under ``his_clients/models/`` and the catalog ``his_clients/catalog.py``.
The output is committed and reviewed like hand-written code; to change it, change this script (its
naming tables below) and rerun it::

    .venv/bin/python scripts/gen_his_models.py            # rewrite the files in place
    .venv/bin/python scripts/gen_his_models.py --root DIR # write the same tree under DIR (tests diff it)

How a model is shaped: the spec's tables are flat, so the nesting comes from the JSON examples and the
required flags and descriptions from the tables, matched by name after stripping whitespace, ignoring
case. A table row missing from the example goes into the object of the row before it (document order).
The output is deterministic and formatted with the project's ruff settings.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "spec" / "interfaces.json"

ENVELOPE_KEYS = frozenset({"success", "msg", "code", "data"})

# --- Modules ---------------------------------------------------------------------------------------

MODULE_DOCS: dict[str, str] = {
    "cards": "Electronic health cards and patient identity (chapters 1 and 2).",
    "outpatient": "Outpatient payment, guide sheets and fee history (chapters 3, 4 and 18.1.1).",
    "insurance": "Medical-insurance orders: create, settle, cancel, pay, query (chapter 5).",
    "insurance_zibo": "In-clinic medical insurance, Zibo edition (chapter 6, marked deprecated by the spec).",
    "card_balance": "Medical card balance, recharge and balance refunds (chapters 7 and 8).",
    "inpatient": "Inpatients and their deposits (chapters 10, 11, 12.1.1 and 39).",
    "inpatient_costs": "Hospitalization records and cost details (12.1.2, 18.1.2-18.1.5 and 27).",
    "inpatient_records": "Discharge, admission applications and caregiver passes (chapters 35, 36 and 37).",
    "refunds": "Whether an order may be refunded (chapter 13).",
    "reconciliation": "Transaction records for reconciliation (chapter 14).",
    "triage": "Triage, sign-in and queues (chapters 15, 42 and 43).",
    "reports_lab": "Laboratory (检验) reports and their PDFs (16.1.1, 16.1.2 and 16.1.5).",
    "reports_pacs": "Imaging (检查/PACS) reports, image series and DICOM files (16.1.1-16.1.4).",
    "reports_physical_exam": "Physical-examination and nucleic-acid test reports (chapters 17 and 34).",
    "reports_ecg": "Electrocardiogram (心电) reports (chapter 40).",
    "reports_pathology": "Pathology (病理) reports (chapter 41).",
    "revisits": "Revisit reminders (chapter 19).",
    "registration_today": "Same-day registration (chapter 20).",
    "registration_appointment": "Appointment registration (chapter 21).",
    "surveys": "Patients eligible for satisfaction surveys (chapter 22).",
    "education": "Inpatient health education and the admission guide (chapter 23).",
    "exam_appointments": "Examination appointments and their queues (chapters 24 and 26).",
    "internet_hospital": "Internet-hospital orders, catalogues and consultations (chapter 25).",
    "physical_exam": "Physical-examination packages and bookings (chapter 28).",
    "self_order": "Self-selected examination packages (chapter 29).",
    "statistics": "Transaction statistics (chapter 30).",
    "invoices": "Electronic invoices (chapter 31).",
    "medical_records": "Electronic medical records (chapter 32).",
    "lab_appointments": "Laboratory test appointments (chapter 33).",
    "prescriptions": "Outpatient prescriptions and drug leaflets (chapter 38).",
}

CHAPTER_MODULES: dict[str, str] = {
    "1": "cards",
    "2": "cards",
    "3": "outpatient",
    "4": "outpatient",
    "5": "insurance",
    "6": "insurance_zibo",
    "7": "card_balance",
    "8": "card_balance",
    "10": "inpatient",
    "11": "inpatient",
    "12": "inpatient",
    "13": "refunds",
    "14": "reconciliation",
    "15": "triage",
    "16": "reports_pacs",
    "19": "revisits",
    "20": "registration_today",
    "21": "registration_appointment",
    "22": "surveys",
    "23": "education",
    "24": "exam_appointments",
    "25": "internet_hospital",
    "26": "exam_appointments",
    "27": "inpatient_costs",
    "28": "physical_exam",
    "29": "self_order",
    "30": "statistics",
    "31": "invoices",
    "32": "medical_records",
    "33": "lab_appointments",
    "35": "inpatient_records",
    "36": "inpatient_records",
    "37": "inpatient_records",
    "38": "prescriptions",
    "39": "inpatient",
    "40": "reports_ecg",
    "41": "reports_pathology",
    "42": "triage",
    "43": "triage",
}

SECTION_MODULES: dict[str, str] = {
    "12.1.2": "inpatient_costs",
    "16.1.1/检验报告": "reports_lab",
    "16.1.2/检验报告": "reports_lab",
    "16.1.5": "reports_lab",
    "17.1.1": "reports_physical_exam",
    "17.1.2": "reports_physical_exam",
    "34.1.1": "reports_physical_exam",
    "18.1.1": "outpatient",
    "18.1.2": "inpatient_costs",
    "18.1.3": "inpatient_costs",
    "18.1.4": "inpatient_costs",
    "18.1.5": "inpatient_costs",
}

# --- Methods the spec names nowhere (the simulator answers to the same names) ----------------------

UNNAMED_METHODS: dict[str, str] = {
    "4.1.1": "hospital.interface.queryGuideSheet",
    "5.1.1": "hospital.interface.medicalInsurance.createOrder",
    "5.1.2": "hospital.interface.medicalInsurance.settle",
    "5.1.3": "hospital.interface.medicalInsurance.cancelOrder",
    "5.1.4": "hospital.interface.medicalInsurance.paySuccess",
    "5.1.5": "hospital.interface.medicalInsurance.queryUnfinishedOrders",
    "5.1.6": "hospital.interface.medicalInsurance.queryOrderState",
    "16.1.4": "hospital.interface.pacsReportDcmFile",
    "24.1.7": "hospital.interface.appointment.changeSchedule",
}

# Spelling mistakes in method names, fixed in our identifiers only (the wire name stays as written).
IDENTIFIER_FIXES: dict[str, str] = {
    "Blance": "Balance",
    "Cancle": "Cancel",
    "outaptient": "Outpatient",
    "inpateint": "Inpatient",
    "dailycost": "dailyCost",
}

# --- Reply names: section (or "section/variant") -> (model of data, {path of a nested object: name}) --
# A path is the dotted list of keys from the reply's root; "request." prefixes paths in the request.

NAMES: dict[str, tuple[str | None, dict[str, str]]] = {
    "1.2.1": (None, {}),
    "1.2.2": (None, {}),
    "1.2.3": (None, {}),
    "1.2.4": (None, {"request.address": "PatientAddress"}),
    "2.1.1": ("PatientInfo", {}),
    "2.1.2": ("CardBinding", {}),
    "2.1.3": ("HisCard", {}),
    "2.1.4": (None, {}),
    "3.1.1": ("PendingPayment", {"detail": "PendingPaymentItem"}),
    "3.1.2": ("ClinicPaymentReceipt", {"request.detailWithPresCode": "PaidPrescription"}),
    "4.1.1": ("GuideSheetRoom", {"itemList": "GuideSheetItem"}),
    "5.1.1": ("InsuranceOrder", {"medPayList": "InsuranceOrderPayment"}),
    "5.1.2": ("InsuranceSettlement", {"medPayList": "InsuranceSettlementPayment"}),
    "5.1.3": (None, {}),
    "5.1.4": (None, {}),
    "5.1.5": ("UnfinishedInsuranceOrder", {"medPayList": "UnfinishedOrderPayment"}),
    "5.1.6": (None, {}),
    "6.2.1": ("SelfPayOrder", {}),
    "6.2.2": (
        "SelfPayOrderDetail",
        {"detail": "SelfPayPrescription", "detail.items": "SelfPayPrescriptionItem"},
    ),
    "6.2.3": ("ReimbursementRecord", {}),
    "6.2.4": ("ReimbursementItem", {}),
    "6.2.5": (None, {}),
    "7.1.1": ("CardBalance", {}),
    "7.1.2": ("CardRecharge", {}),
    "8.1.1": ("RefundableBalance", {"order": "RefundableRecharge"}),
    "8.1.2": ("CardRefund", {}),
    "8.1.3": ("CardRefundStatus", {}),
    "10.1.1": ("InpatientInfo", {}),
    "10.1.2": ("DepositPayment", {}),
    "11.1.1": ("InpatientInArrears", {}),
    "12.1.1": ("CurrentInpatient", {}),
    "12.1.2": ("DailyCostSheet", {"details": "DailyCostItem"}),
    "13.1.1": (None, {}),
    "14.2.1": ("TradeRecord", {}),
    "14.2.2": ("TradeOrder", {}),
    "14.2.3": ("TradeRefundRecord", {}),
    "15.1.1": ("TriageDoctor", {}),
    "15.1.2": (None, {}),
    "15.1.3": ("TriageQueue", {}),
    "16.1.1/检验报告": ("LabReportList", {"report": "LabReportSummary"}),
    "16.1.1/检查报告": ("PacsReportList", {"report": "PacsReportSummary"}),
    "16.1.2/检验报告": ("LabReportDetail", {"details": "LabResult"}),
    "16.1.2/检查报告": ("PacsReportDetail", {}),
    "16.1.3": ("PacsImageSeries", {}),
    "16.1.4": (None, {}),
    "16.1.5": ("LabReportPdf", {}),
    "17.1.1": ("PhysicalExamReportList", {"report": "PhysicalExamReportSummary"}),
    "17.1.2": (
        "PhysicalExamReport",
        {
            "attachment": "PhysicalExamAttachment",
            "exam": "PhysicalExamSection",
            "exam.detail": "PhysicalExamResult",
        },
    ),
    "18.1.1": ("OutpatientCostRecord", {"details": "OutpatientCostItem"}),
    "18.1.2": ("HospitalizationRecord", {}),
    "18.1.3": ("HospitalizationCostSheet", {"details": "HospitalizationCostItem"}),
    "18.1.4": (
        "HospitalizationCostSummary",
        {
            "groupByDate": "CostByDate",
            "groupByCharge": "CostByCharge",
            "groupByChargeClass": "CostByChargeClass",
        },
    ),
    "18.1.5": ("HospitalizationDayCostItem", {}),
    "19.2.1": ("RevisitPatient", {}),
    "19.2.2": ("PhysicalExamRevisitPatient", {}),
    "20.1.1": ("TodayDepartmentGroup", {"dept": "TodayDepartment"}),
    "20.1.2": ("TodayDoctorSchedule", {}),
    "20.1.3": ("TodaySlot", {}),
    "20.1.4": (None, {}),
    "20.1.5": (None, {}),
    "20.1.6": (None, {}),
    "20.1.7": ("TodayRegistration", {}),
    "20.1.8": ("TodayRegistrationCancellation", {}),
    "20.1.9": ("TodayQueue", {}),
    "21.2.1": ("AppointmentSlot", {}),
    "21.2.2": ("AppointmentConfirmation", {}),
    "21.2.3": ("AppointmentCancellation", {}),
    "21.2.4": ("AppointmentPaymentReceipt", {}),
    "21.2.5": ("AppointmentSurcharge", {}),
    "22.1.1": ("SurveyOutpatient", {}),
    "22.1.2": ("SurveyDischargedPatient", {}),
    "23.1.1": ("EducationSummary", {}),
    "23.1.2": ("EducationDetail", {}),
    "23.1.3": (None, {}),
    "23.1.4": ("AdmissionGuide", {}),
    "24.1.1": ("BookableExam", {}),
    "24.1.2": ("ExamDayRooms", {"rooms": "ExamRoomAvailability"}),
    "24.1.3": ("ExamRoomTimetable", {"items": "ExamTimeSlot"}),
    "24.1.4": ("ExamBooking", {}),
    "24.1.5": ("BookedExam", {}),
    "24.1.6": (None, {}),
    "24.1.7": ("ExamRebooking", {}),
    "24.1.8": ("ExamRegistration", {"request.orderList": "ExamRegistrationOrder"}),
    "25.1.1": (None, {"request.charges": "InternetOrderCharge"}),
    "25.1.2": ("VisitedDoctor", {}),
    "25.1.3": ("DrugCatalogEntry", {}),
    "25.1.4": ("LabCatalogEntry", {}),
    "25.1.5": ("PacsCatalogEntry", {}),
    "25.1.6": (None, {}),
    "25.1.7": (None, {}),
    "26.1.1": ("ExamQueueEntry", {}),
    "27.1.1": ("PastHospitalization", {}),
    "27.1.2": (None, {}),
    "28.1.1": ("ExamPackage", {}),
    "28.1.2": ("ExamPackageItem", {}),
    "28.1.3": ("ExamDayQuota", {}),
    "28.1.4": (None, {}),
    "28.1.5": (None, {}),
    "28.1.6": (
        "PhysicalExamBooking",
        {"request.packageIds": "SelectedPackage", "request.itemIds": "SelectedExamItem"},
    ),
    "28.1.7": (None, {}),
    "28.1.8": (None, {}),
    "28.1.9": (None, {}),
    "28.1.10": ("EmployerBooking", {}),
    "28.1.11": ("EmployerGroup", {"groupCombs": "EmployerGroupItem"}),
    "28.1.12": ("EmployerGroupCombination", {}),
    "28.1.13": ("PhysicalExamItemPage", {"itemList": "PhysicalExamItem"}),
    "29.1.1": ("SelfOrderDepartment", {"group": "SelfOrderGroup", "group.item": "SelfOrderItem"}),
    "29.1.2": ("SelfOrderDate", {"request.group": "SelectedGroup", "request.group.item": "SelectedItem"}),
    "29.1.3": ("SelfOrderReceipt", {"request.group": "SelectedGroup", "request.group.item": "SelectedItem"}),
    "29.1.4": ("SelfOrderCancellation", {}),
    "30.1.1": ("TransactionStatistics", {}),
    "30.1.2": ("HospitalTransactionStatistics", {}),
    "31.1.1": ("InvoiceSummary", {}),
    "31.1.2": ("Invoice", {}),
    "32.1.1": ("MedicalRecordSummary", {}),
    "32.1.2": ("MedicalRecord", {"physicalExamination": "VitalSigns", "exam": "MedicalRecordExam"}),
    "33.1.1": ("LabProject", {"scheduleList": "LabProjectSchedule"}),
    "33.1.2": ("LabNumberSource", {}),
    "33.1.3": ("LabSlotLock", {}),
    "33.1.4": ("LabAppointmentPayment", {}),
    "33.1.5": ("LabAppointmentCancellation", {}),
    "34.1.1": ("NucleicAcidTestResult", {"details": "NucleicAcidTestItem"}),
    "35.1.1": ("DischargeRecord", {}),
    "35.1.2": ("DischargeMedication", {"drugList": "DischargeDrug"}),
    "36.1.1": ("AdmissionApplication", {}),
    "36.1.2": ("SavedAdmissionApplication", {}),
    "36.1.3": ("AdmissionApplicationCancellation", {}),
    "37.1.1": ("Caregiver", {}),
    "37.1.2": (None, {}),
    "37.1.3": ("NewCaregiver", {}),
    "37.1.4": (None, {}),
    "38.1.1": ("PrescriptionSummary", {}),
    "38.1.2": ("Prescription", {"drugList": "PrescribedDrug"}),
    "38.1.3": ("DrugLeafletSection", {}),
    "39.1.1": ("DepositRecord", {}),
    "40.1.1": ("EcgReportSummary", {}),
    "40.1.2": ("EcgReport", {}),
    "40.1.3": ("EcgImage", {}),
    "41.1.1": ("PathologyReportSummary", {}),
    "41.1.2": ("PathologyReport", {}),
    "41.1.3": ("PathologyReportFile", {}),
    "42.1.1": ("BookedVisit", {}),
    "42.1.2": (None, {}),
    "42.1.3": ("BookedVisitQueue", {}),
    "43.1.1": ("FeverClinicQueue", {}),
}

# --- Behaviour -------------------------------------------------------------------------------------
# Every per-method fact lives here, never in a runtime patch of a generated HisMethod.

# Read or write: every ``direction: his`` section is in exactly one of READS and WRITES, or generation
# fails (check_tables). A write is never retried after a broken connection or a 5xx; a read may be
# (his_clients/client.py), so a method nobody classified must not silently become a retried read.
READS = frozenset(
    [
        "2.1.1",
        "2.1.3",
        "3.1.1",
        "4.1.1",
        "5.1.5",
        "5.1.6",
        "6.2.1",
        "6.2.2",
        "6.2.3",
        "6.2.4",
        "7.1.1",
        "8.1.1",
        "8.1.3",
        "10.1.1",
        "11.1.1",
        "12.1.1",
        "12.1.2",
        "13.1.1",
        "14.2.1",
        "14.2.2",
        "14.2.3",
        "15.1.1",
        "15.1.3",
        "16.1.1",
        "16.1.2",
        "16.1.3",
        "16.1.4",
        "16.1.5",
        "17.1.1",
        "17.1.2",
        "18.1.1",
        "18.1.2",
        "18.1.3",
        "18.1.4",
        "18.1.5",
        "19.2.1",
        "19.2.2",
        "20.1.1",
        "20.1.2",
        "20.1.3",
        "20.1.4",
        "20.1.5",
        "20.1.6",
        "20.1.9",
        "21.2.1",
        "21.2.5",
        "22.1.1",
        "22.1.2",
        "23.1.1",
        "23.1.2",
        "23.1.4",
        "24.1.1",
        "24.1.2",
        "24.1.3",
        "24.1.5",
        "25.1.2",
        "25.1.3",
        "25.1.4",
        "25.1.5",
        "25.1.6",
        "26.1.1",
        "27.1.1",
        "28.1.1",
        "28.1.2",
        "28.1.3",
        "28.1.4",
        "28.1.5",
        "28.1.8",
        "28.1.9",
        "28.1.10",
        "28.1.11",
        "28.1.12",
        "28.1.13",
        "29.1.1",
        "29.1.2",
        "30.1.1",
        "30.1.2",
        "31.1.1",
        "31.1.2",
        "32.1.1",
        "32.1.2",
        "33.1.1",
        "33.1.2",
        "34.1.1",
        "35.1.1",
        "35.1.2",
        "36.1.1",
        "37.1.1",
        "38.1.1",
        "38.1.2",
        "38.1.3",
        "39.1.1",
        "40.1.1",
        "40.1.2",
        "40.1.3",
        "41.1.1",
        "41.1.2",
        "41.1.3",
        "42.1.1",
        "42.1.3",
        "43.1.1",
    ]
)

WRITES = frozenset(
    [
        "1.2.1",
        "1.2.2",
        "1.2.3",
        "1.2.4",
        "2.1.2",
        "2.1.4",
        "3.1.2",
        "5.1.1",
        "5.1.2",
        "5.1.3",
        "5.1.4",
        "6.2.5",
        "7.1.2",
        "8.1.2",
        "10.1.2",
        "15.1.2",
        "20.1.7",
        "20.1.8",
        "21.2.2",
        "21.2.3",
        "21.2.4",
        "23.1.3",
        "24.1.4",
        "24.1.6",
        "24.1.7",
        "24.1.8",
        "25.1.1",
        "25.1.7",
        "27.1.2",
        "28.1.6",
        "28.1.7",
        "29.1.3",
        "29.1.4",
        "33.1.3",
        "33.1.4",
        "33.1.5",
        "36.1.2",
        "36.1.3",
        "37.1.2",
        "37.1.3",
        "37.1.4",
        "42.1.2",
    ]
)

# The reply type where the spec's example is not the whole story: {section: (type, why)}. ``List[X]``
# (his_clients/models/base.py) reads a single object, a list, null or "" as a list.
REPLY_OVERRIDES: dict[str, tuple[str, str]] = {
    "19.2.1": ("List[RevisitPatient]", "the example shows one patient; a hospital sends each patient due back"),
    "19.2.2": ("List[PhysicalExamRevisitPatient]", "the example shows one patient; a hospital sends each one due"),
}

MULTI_HOSPITAL = frozenset(["11.1.1", "12.1.1", "16.1.1", "18.1.1", "18.1.2", "32.1.1", "38.1.1", "40.1.1", "41.1.1"])
TOP_LEVEL = frozenset({"21.2.3", "30.1.1"})

# data given as a bare price (25.1.6 单价, 20.1.6 优惠后的价格): a Decimal, not text.
DECIMAL_DATA = frozenset({"20.1.6", "25.1.6"})

# Response examples that are not valid JSON: the smallest fix that lets us learn their shape.
RESPONSE_REPAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "2.1.1": (('"address": 山东', '"address": "山东'),),  # opening quote missing
    "20.1.3": (('"10:15,', '"10:15",'), ('"10:30,', '"10:30",')),  # closing quotes missing
    "21.2.2": (('"sn":001', '"sn":"001"'),),  # a serial with leading zeros is text
    "33.1.3": (("timePoint:", '"timePoint":'),),  # unquoted key
}

# Where table and example disagree on a name: {(section, side): {example's name: table's name}}.
# Requests write the table's name; both spellings are accepted when reading.
RENAMES: dict[tuple[str, str], dict[str, str]] = {
    ("2.1.3", "request"): {"idCardNo": "idCard"},
    ("5.1.3", "request"): {"hisTradeIds": "hisTradeId"},
    ("17.1.2", "request"): {"idCard": "idcard"},
    ("33.1.5", "request"): {"hosRecordId": "outOrderId"},
    ("36.1.3", "reply"): {"refundNo": "refoundNo"},
    # Not in the README's list: one element of these examples spells it combCodes.
    ("28.1.11", "reply"): {"combCodes": "combCode"},
    ("28.1.12", "reply"): {"combCodes": "combCode"},
}

# Reply fields the spec gives a value for when a hospital leaves them out ("若无此字段，默认…"):
# {wire name: (value, the words of the description that say so)}. A field gets its default only
# where its description carries those words, so a sibling without them stays as the table says.
SPEC_DEFAULTS: dict[str, tuple[str, str]] = {
    "reportStatus": ("2", "若无此字段，默认reportStatus的值为2"),  # 16.1.2, 40.1.2, 41.1.2
    "isPositive": ("0", "院内不返回时默认为普通报告"),  # 16.1.x, 17.1.x, 40.1.x, 41.1.x
    "isFinished": ("1", "缺失此字段时，默认报告已经总检完成"),  # 17.1.2
    "itemType": ("0", "默认0"),  # 4.1.1
}

# Request parameters sent under both names where table and example disagree and hospitals built to
# either: {section: {table's name: example's name}} (becomes the request model's ``also_sent_as``).
SENT_UNDER_BOTH_NAMES: dict[str, dict[str, str]] = {
    "2.1.3": {"idCard": "idCardNo"},  # table: idCard; example: idCardNo
    "33.1.5": {"outOrderId": "hosRecordId"},  # table: outOrderId; example: hosRecordId
}

# Rows of a request table that are really response fields.
NOT_PARAMETERS: dict[str, frozenset[str]] = {"41.1.1": frozenset({"reportStatus", "isPositive"})}

# Amounts of money in yuan (judged by each description: 金额/余额/单价/价格/费用/押金/元).
MONEY = frozenset(
    [
        "amount",
        "discountAmount",
        "itemAmount",
        "price",
        "preferentialAmount",
        "balancePayment",
        "unifiedPayAmount",
        "itemPrice",
        "tradeAmount",
        "payAmount",
        "preMedAmount",
        "medAmount",
        "reimburseAmount",
        "totalAmount",
        "blPayment",
        "balance",
        "refunAmount",
        "totalCost",
        "totalPrepay",
        "prepayLeft",
        "medicalInsurance",
        "minimumPayment",
        "maximumPayment",
        "prePay",
        "total",
        "medInsuranceAmount",
        "insuranceFundAmount",
        "insuranceBalanceAmount",
        "getAmount",
        "cost",
        "registrationFee",
        "unifiedAmount",
        "arAmt",
        "balancePay",
        "surcharge",
        "consultFee",
        "mailingFee",
        "printFee",
        "stPrice",
        "acPrice",
        "outpatientTotalAmount",
        "inpatientTotalAmount",
        "invoiceAmount",
        "projectPrice",
        "inspectingPrice",
        "prepayAmount",
    ]
)
NOT_MONEY: frozenset[tuple[str, str]] = frozenset({("24.1.2", "total")})  # 总共可预约数量: a count

# Counts the examples give as JSON numbers.
COUNTS = frozenset({"poolNumber", "count", "sourceNumber", "currentNumber", "remainNum"})

# Python names where the wire name is pinyin, misspelt or unclear.
PYTHON_NAMES: dict[str, str] = {
    "gyzz": "approval_number",
    "ggmc": "specification",
    "bzdw": "package_unit",
    "jldw": "measure_unit",
    "zhxs": "conversion_factor",
    "changshang": "manufacturer",
    "habbit": "habit",
    "refunAmount": "refund_amount",
    "refoundNo": "refund_no",
    "mediaclRecordApplyId": "medical_record_apply_id",
    "idcard": "id_card",
    "idcardNo": "id_card_no",
    "motherIdcard": "mother_id_card",
    "reportkey": "report_key",
    "general": "gender",
}

# Request text formats, by the example's value (or the description where the example has none).
FORMATS: tuple[tuple[str, str, str], ...] = (
    ("DateTime", r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "yyyy-MM-dd HH:mm:ss"),
    ("Date", r"\d{4}-\d{2}-\d{2}", "yyyy-MM-dd"),
    ("CompactDate", r"\d{8}", "yyyyMMdd"),
    ("HourMinute", r"\d{2}:\d{2}", "HH:mm"),
)
DATE_WORDS = ("time", "date", "birthday")

# Request values limited to one of the spec's dictionaries, by the words of the description that name it.
DICTIONARY_TYPES: tuple[tuple[str, str], ...] = (
    ("附录一", "NationCode"),
    ("附一", "NationCode"),
    ("附录五", "RelationCode"),
    ("附五", "RelationCode"),
)

# --- Shapes ----------------------------------------------------------------------------------------


@dataclass
class Slot:
    """One key of an example object, with the values it takes across a list's elements."""

    path: str
    key: str
    values: list[Any]
    row: dict[str, Any] | None = None


@dataclass
class FieldSpec:
    wire: str
    python: str
    annotation: str
    description: str | None
    required: bool
    default: str | None = None
    accepts: tuple[str, ...] = ()
    comment: str | None = None
    position: float = 0.0


@dataclass
class ModelSpec:
    name: str
    base: str
    doc: str
    fields: list[FieldSpec] = field(default_factory=list)
    also_sent_as: dict[str, str] = field(default_factory=dict)


@dataclass
class Entry:
    spec: dict[str, Any]
    key: str
    module: str
    constant: str
    method: str
    request: str
    reply_type: str
    envelope: str | None
    models: list[ModelSpec]
    comment: str | None


def camel_words(name: str) -> list[str]:
    for wrong, right in IDENTIFIER_FIXES.items():
        name = name.replace(wrong, right)
    return [w for w in re.split(r"[._]|(?<=[a-z0-9])(?=[A-Z])", name) if w]


def snake(name: str) -> str:
    if name in PYTHON_NAMES:
        return PYTHON_NAMES[name]
    python = "_".join(w.lower() for w in re.split(r"(?<=[a-z0-9])(?=[A-Z])", name))
    return python + "_" if python in {"from", "class", "global", "import", "in", "is", "lambda"} else python


def method_words(method: str) -> list[str]:
    return camel_words(re.sub(r"^hospital\.in(?:t)?erface\.", "", method))


def merge(objects: Iterable[dict[str, Any]], renames: dict[str, str]) -> dict[str, list[Any]]:
    """Keys stripped (and the example's misspellings put right), with every value each one takes."""
    merged: dict[str, list[Any]] = {}
    for obj in objects:
        for raw, value in obj.items():
            merged.setdefault(renames.get(raw.strip(), raw.strip()), []).append(value)
    return merged


def children(values: list[Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for value in values:
        if isinstance(value, dict):
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, dict)]
    return found


def flatten(objects: list[dict[str, Any]], path: str, out: list[Slot], renames: dict[str, str]) -> None:
    for key, values in merge(objects, renames).items():
        out.append(Slot(path, key, values))
        nested = children(values)
        if nested:
            flatten(nested, f"{path}.{key}" if path else key, out, renames)


def kind(values: list[Any]) -> str:
    if any(isinstance(v, dict) for v in values):
        return "object"
    lists = [v for v in values if isinstance(v, list)]
    if lists:
        return "objects" if any(isinstance(x, dict) for v in lists for x in v) else "scalars"
    return "scalar"


def sample(values: list[Any]) -> Any:
    return next((v for v in values if v is not None), None)


# --- Field types -----------------------------------------------------------------------------------


def is_money(section: str, key: str) -> bool:
    return key in MONEY and (section, key) not in NOT_MONEY


def request_format(key: str, value: Any, description: str) -> str | None:
    """The format the example's value shows, or else the one the description names."""
    if not any(word in key.lower() for word in DATE_WORDS) or value == "":
        return None  # a blank example value means blank is allowed
    for name, pattern, text in FORMATS:
        if isinstance(value, str):
            if re.fullmatch(pattern, value):
                return name
        elif text in description and not any(
            text in longer and longer in description for _, _, longer in FORMATS if longer != text
        ):
            return name
    return None


def leaf_type(section: str, key: str, values: list[Any], description: str, side: str) -> str:
    value = sample(values)
    if is_money(section, key):
        return "Money"
    if isinstance(value, bool):
        return "bool"
    if side == "request":
        if isinstance(value, int) and key != "hospitalId":
            return "int"
        dictionary = next((name for words, name in DICTIONARY_TYPES if words in description), None)
        return request_format(key, value, description) or dictionary or "str"
    if isinstance(value, int) and key in COUNTS:
        return "Int"
    return "Str"


# --- Building models -------------------------------------------------------------------------------


def entry_key(spec: dict[str, Any]) -> str:
    return f"{spec['section']}/{spec['variant']}" if spec["variant"] else spec["section"]


def response_example(spec: dict[str, Any]) -> Any:
    if spec["response_example"] is not None or spec["section"] not in RESPONSE_REPAIRS:
        return spec["response_example"]
    text = spec["response_example_raw"]
    for wrong, right in RESPONSE_REPAIRS[spec["section"]]:
        assert wrong in text, (spec["section"], wrong)
        text = text.replace(wrong, right)
    return json.loads(text)


def build_models(
    spec: dict[str, Any],
    side: str,
    objects: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    root: str,
    root_doc: str,
    nested_names: dict[str, str],
) -> list[ModelSpec]:
    """Models for one side, nested ones first; the root model is last."""
    section = spec["section"]
    renames = RENAMES.get((section, side), {})
    slots: list[Slot] = []
    flatten(objects, "", slots, renames)

    placed: list[tuple[dict[str, Any], str, float, Slot | None]] = []
    cursor = -1
    previous_path, previous_position = "", -1.0
    for row in rows:
        name = row["name"]
        matches = [i for i, slot in enumerate(slots) if slot.row is None and slot.key.lower() == name.lower()]
        if matches:
            index = next((i for i in matches if i > cursor), matches[0])
            cursor = index
            slot = slots[index]
            slot.row = row
            placed.append((row, slot.path, float(index), slot))
            if kind(slot.values) in {"object", "objects"}:
                previous_path = f"{slot.path}.{slot.key}" if slot.path else slot.key
            else:
                previous_path = slot.path
            previous_position = float(index)
        else:
            previous_position += 0.01
            placed.append((row, previous_path, previous_position, None))
    for index, slot in enumerate(slots):
        if slot.row is None:
            placed.append(({}, slot.path, float(index), slot))

    fields_by_path: dict[str, list[FieldSpec]] = {}
    paths = {""} | {f"{s.path}.{s.key}" if s.path else s.key for s in slots if kind(s.values) != "scalar"}
    paths = {p for p in paths if p == "" or any(s.path == p for s in slots)} | {""}
    lists = {f"{s.path}.{s.key}" if s.path else s.key for s in slots if kind(s.values) == "objects"}

    def class_name(path: str) -> str:
        if path == "":
            return root
        label = f"request.{path}" if side == "request" else path
        if label in nested_names:
            return nested_names[label]
        last = path.split(".")[-1]
        return root.removesuffix("Request") + last[0].upper() + last[1:].removesuffix("s")

    for row, path, position, example_slot in placed:
        key = row.get("name") or (example_slot.key if example_slot else "")
        values = example_slot.values if example_slot else []
        description = row.get("description") or ""
        wire = key
        accepts: tuple[str, ...] = ()
        misspelt = tuple(sorted(example for example, table in renames.items() if table == key))
        if example_slot and misspelt:
            accepts = (key, *misspelt)
        elif example_slot:
            wire = example_slot.key  # the example's spelling (the table's may differ in case)
        if side == "request" and section in NOT_PARAMETERS and key in NOT_PARAMETERS[section]:
            continue
        child_path = f"{path}.{key}" if path else key
        shape = kind(values) if example_slot else "scalar"
        if shape == "object" and child_path in paths:
            annotation = class_name(child_path)
        elif shape == "objects" and child_path in paths:
            container = "list" if side == "request" else "List"
            annotation = f"{container}[{class_name(child_path)}]"
        elif shape in {"scalars", "objects"}:
            container = "list" if side == "request" else "List"
            item = "int" if all(isinstance(x, int) for v in values for x in v) and any(values) else "str"
            annotation = f"{container}[{item if side == 'request' else item.capitalize()}]"
        else:
            annotation = leaf_type(section, example_slot.key if example_slot else key, values, description, side)

        in_table = bool(row)
        in_example = example_slot is not None
        table_required = row.get("required") is True
        comment = None
        if side == "request" and key == "hospitalId" and not path:
            # HisClient writes the id of the hospital it calls, so no caller has to.
            required = False
        elif table_required and not in_example:
            required = False
            comment = "The table marks it required, but the spec's own example leaves it out."
        elif table_required and side == "request" and all(v is None for v in values):
            required = False
            comment = "The table marks it required, but the spec's own example sends null."
        else:
            required = table_required
        if in_example and not in_table:
            comment = "Not in the spec's table; its example has it."
        spec_field = FieldSpec(
            wire=wire,
            python=snake(key),
            annotation=annotation,
            description=description.strip() or None,
            required=required,
            accepts=accepts,
            comment=comment,
            position=position,
        )
        spec_default = SPEC_DEFAULTS.get(key.strip()) if side == "reply" else None
        if spec_default and spec_default[1] in description:
            spec_field.required = False
            spec_field.default = json.dumps(spec_default[0], ensure_ascii=False)
            spec_field.comment = f"The spec says: {spec_default[1]}."
        elif not required:
            if annotation.startswith(("list[", "List[")):
                spec_field.default = "list"
            else:
                spec_field.annotation = f"{annotation} | None"
                spec_field.default = "None"
        fields_by_path.setdefault(path, []).append(spec_field)

    base = "HisRequest" if side == "request" else "HisReply"
    descriptions = {(f"{s.path}.{s.key}" if s.path else s.key): (s.row or {}).get("description", "") for s in slots}
    models: list[ModelSpec] = []
    for path in sorted(paths, key=lambda p: (-(p.count(".") + 1 if p else 0), p)):
        specs = sorted(fields_by_path.get(path, []), key=lambda f: f.position)
        seen: set[str] = set()
        for f in specs:
            if f.python in seen:
                raise SystemExit(f"{section} {side}: two fields named {f.python} in {path or 'the root'}")
            seen.add(f.python)
        if path == "":
            doc = root_doc
        else:
            meaning = re.split(r"[\n，,。；;（(]", descriptions.get(path) or "")[0].strip()
            meaning = meaning if width(meaning) <= 40 else ""
            name = f"One entry of ``{path.split('.')[-1]}``" if path in lists else f"The ``{path}`` object"
            doc = name + (f" ({meaning})." if meaning else ".")
        models.append(ModelSpec(class_name(path), base, doc, specs))
    # Deepest first, so every nested class is defined before the class that uses it.
    return models


def build_entry(spec: dict[str, Any]) -> Entry:
    key = entry_key(spec)
    section = spec["section"]
    chapter = section.split(".")[0]
    module = SECTION_MODULES.get(key) or CHAPTER_MODULES[chapter]
    method = spec["method"] or UNNAMED_METHODS[section]
    words = method_words(method)
    constant = "_".join(w.upper() for w in words)
    request = "".join(w[0].upper() + w[1:] for w in words) + "Request"
    title = spec["title"]
    reply_name, nested = NAMES[key]
    label = f"{section} {title}"
    comment = None if spec["method"] else f"The spec names no method for {section}; the simulator uses this name."

    models: list[ModelSpec] = []
    if section == "16.1.4":
        request_model = ModelSpec(request, "HisRequest", f"Parameters of ``{method}`` ({label}).")
        request_model.fields = [
            FieldSpec("dcmId", "dcm_id", "str", "影像大图的索引值", required=True),
            FieldSpec("hospitalId", "hospital_id", "str | None", "医院编码", required=False, default="None"),
        ]
        models.append(request_model)
        return Entry(spec, key, module, constant, method, request, "bytes", "FILE", models, comment)

    request_example = spec["request_example"] or {}
    models += build_models(
        spec,
        "request",
        [request_example],
        spec["params"],
        request,
        f"Parameters of ``{method}`` ({label}).",
        nested,
    )
    models[-1].also_sent_as = SENT_UNDER_BOTH_NAMES.get(section, {})

    example = response_example(spec) or {}
    rows = [r for r in spec["response_fields"] if r["name"] not in ENVELOPE_KEYS]
    envelope: str | None = None
    if section in TOP_LEVEL:
        envelope = "TOP_LEVEL"
        objects = [{k: v for k, v in example.items() if k.strip() not in ENVELOPE_KEYS}]
        reply_type = reply_name or ""
    else:
        data = example.get("data")
        if data is None:
            envelope, reply_type, objects = "BARE", "type(None)", []
        elif isinstance(data, dict):
            reply_type, objects = reply_name or "", [data]
        elif isinstance(data, list) and all(isinstance(d, dict) for d in data):
            reply_type, objects = f"list[{reply_name}]", data
        elif isinstance(data, list):
            reply_type, objects = "list[str]", []
        elif section in DECIMAL_DATA:
            reply_type, objects = "Decimal", []
        else:
            reply_type, objects = type(data).__name__, []
    if section in REPLY_OVERRIDES:
        reply_type, why = REPLY_OVERRIDES[section]
        comment = "; ".join(c for c in (comment, f"Reply {reply_type}: {why}.") if c)
    if objects:
        assert reply_name, key
        shape = "One element of what" if reply_type.startswith("list[") else "What"
        doc = f"{shape} ``{method}`` returns ({label})."
        models += build_models(spec, "reply", objects, rows, reply_name, doc, nested)
    else:
        assert reply_name is None, key
    return Entry(spec, key, module, constant, method, request, reply_type, envelope, models, comment)


# --- Rendering -------------------------------------------------------------------------------------


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pieces(text: str, limit: int = 72) -> list[str]:
    """Lines of at most ``limit`` columns (a CJK character takes two), never cutting an ASCII word."""
    out: list[str] = []
    for line in text.splitlines(keepends=True):
        while width(line) > limit:
            cut = 0
            for end in range(1, len(line)):
                if width(line[:end]) > limit:
                    break
                if not (line[end - 1].isascii() and line[end - 1].isalnum() and line[end].isalnum()):
                    cut = end
            cut = cut or len(line)
            out.append(line[:cut])
            line = line[cut:]
        if line:
            out.append(line)
    return out or [""]


def literal(text: str) -> str:
    parts = [json.dumps(p, ensure_ascii=False) for p in pieces(text)]
    return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"


def render_field(f: FieldSpec) -> list[str]:
    args: list[str] = []
    if f.default == "None":
        args.append("default=None")
    elif f.default == "list":
        args.append("default_factory=list")
    elif f.default is not None:
        args.append(f"default={f.default}")
    if f.wire != f.python:
        args.append(f"alias={json.dumps(f.wire)}")
    if f.accepts:
        args.append("validation_alias=AliasChoices(" + ", ".join(json.dumps(a) for a in f.accepts) + ")")
    if f.description:
        args.append(f"description={literal(f.description)}")
    lines = [f"    # {f.comment}"] if f.comment else []
    value = f" = Field({', '.join(args)})" if args else ""
    if args == ["default=None"]:
        value = " = None"
    lines.append(f"    {f.python}: {f.annotation}{value}")
    return lines


def render_docstring(doc: str, indent: str) -> list[str]:
    if width(indent + doc) + 6 <= 110:
        return [f'{indent}"""{doc}"""']
    head, _, rest = doc.partition(" (")
    return [f'{indent}"""{head}.', "", f"{indent}{rest.removesuffix(').')}.", f'{indent}"""']


def render_model(model: ModelSpec) -> list[str]:
    lines = [f"class {model.name}({model.base}):", *render_docstring(model.doc, "    ")]
    if model.also_sent_as:
        pairs = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in model.also_sent_as.items())
        lines += ["", f"    also_sent_as: ClassVar[dict[str, str]] = {{{pairs}}}"]
    if model.fields:
        lines.append("")
        for f in model.fields:
            lines += render_field(f)
    return lines


def access_of(section: str) -> str:
    """READ or WRITE, from the tables (check_tables made sure the section is in exactly one)."""
    if section in WRITES:
        return "WRITE"
    if section in READS:
        return "READ"
    raise SystemExit(f"{section} is in neither READS nor WRITES: say which in scripts/gen_his_models.py")


def check_tables(specs: Iterable[dict[str, Any]]) -> None:
    """Fail generation when a ``direction: his`` section is in neither READS nor WRITES (or in both),
    or a table names a section the spec does not have."""
    sections = {spec["section"] for spec in specs if spec["direction"] == "his"}
    problems = [f"{s}: in neither READS nor WRITES" for s in sorted(sections - READS - WRITES)]
    problems += [f"{s}: in both READS and WRITES" for s in sorted(READS & WRITES)]
    tables = {"READS": READS, "WRITES": WRITES, "REPLY_OVERRIDES": set(REPLY_OVERRIDES)}
    problems += [
        f"{s}: in {name} but not a his method of the spec" for name, t in tables.items() for s in sorted(t - sections)
    ]
    if problems:
        raise SystemExit("scripts/gen_his_models.py's tables:\n  " + "\n  ".join(problems))


def render_constant(entry: Entry) -> list[str]:
    spec = entry.spec
    args = [
        f'section="{spec["section"]}"',
        f"name={json.dumps(entry.method)}",
        f"title={json.dumps(spec['title'], ensure_ascii=False)}",
        f"request={entry.request}",
        f"reply={entry.reply_type}",
        f"access=Access.{access_of(spec['section'])}",
    ]
    if entry.envelope:
        args.append(f"envelope=Envelope.{entry.envelope}")
    if spec["section"] in MULTI_HOSPITAL:
        args.append("multi_hospital=True")
    if (spec["http_verb"] or "POST") != "POST":
        args.append(f'http_verb="{spec["http_verb"]}"')
    if spec["chapter"].startswith("6 "):
        args.append("deprecated=True")
    lines = [f"# {entry.comment}"] if entry.comment else []
    lines.append(f"{entry.constant}: Final = HisMethod({', '.join(args)})")
    return lines


def render_module(module: str, entries: list[Entry]) -> str:
    body: list[str] = []
    emitted: dict[str, list[str]] = {}
    for entry in entries:
        for model in entry.models:
            code = render_model(model)
            if model.name in emitted:
                if emitted[model.name] != code:
                    raise SystemExit(f"{module}: two different classes named {model.name}")
                continue
            emitted[model.name] = code
            body += ["", "", *code]
        body += ["", "", *render_constant(entry)]
    text = "\n".join(body)

    base_names = ["AliasChoices"] if "AliasChoices(" in text else []
    pydantic = ", ".join([*base_names, "Field"]) if "Field(" in text else ", ".join(base_names)
    used = [
        name
        for name in (
            "CompactDate",
            "Date",
            "DateTime",
            "HisReply",
            "HisRequest",
            "HourMinute",
            "Int",
            "List",
            "NationCode",
            "RelationCode",
        )
        if re.search(rf"\b{name}\b", text)
    ]
    used += [name for name in ("Money", "Str") if re.search(rf"\b{name}\b", text)]
    used.sort()
    envelope = ", Envelope" if "Envelope." in text else ""
    imports = ["from __future__ import annotations", ""]
    if "Decimal" in text:
        imports.append("from decimal import Decimal")
    imports += ["from typing import ClassVar, Final" if "ClassVar[" in text else "from typing import Final", ""]
    if pydantic:
        imports += [f"from pydantic import {pydantic}", ""]
    imports.append(f"from his_clients.method import Access{envelope}, HisMethod")
    imports.append(f"from his_clients.models.base import {', '.join(used)}")
    header = [
        f'"""{MODULE_DOCS[module]}',
        "",
        "Models and method descriptions for every HIS method of these chapters. Generated by",
        "scripts/gen_his_models.py from spec/interfaces.json: change the generator and rerun it.",
        '"""',
        "",
    ]
    return "\n".join(header + imports + body) + "\n"


def render_catalog(entries: list[Entry]) -> str:
    modules = sorted({e.module for e in entries})
    lines = [
        '"""Every HIS method of the spec in document order, for code and tests that walk the whole catalog.',
        "",
        "Generated by scripts/gen_his_models.py from spec/interfaces.json.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from types import MappingProxyType",
        "from typing import Any, Final",
        "",
        "from his_clients.method import HisMethod",
        f"from his_clients.models import {', '.join(modules)}",
        "",
        "BY_ENTRY: Final[Mapping[tuple[str, str | None], HisMethod[Any, Any]]] = MappingProxyType(",
        "    {",
    ]
    for e in entries:
        variant = json.dumps(e.spec["variant"], ensure_ascii=False) if e.spec["variant"] else "None"
        lines.append(f'        ("{e.spec["section"]}", {variant}): {e.module}.{e.constant},')
    lines += [
        "    }",
        ")",
        '"""Each ``direction: his`` entry of spec/interfaces.json, keyed by (section, variant)."""',
        "",
        "ALL_METHODS: Final[tuple[HisMethod[Any, Any], ...]] = tuple(BY_ENTRY.values())",
        '"""In document order."""',
        "",
        "BY_NAME: Final[Mapping[str, HisMethod[Any, Any]]] = MappingProxyType({m.name: m for m in ALL_METHODS})",
        '"""By wire name, as the spec writes it (``hospital.inerface.`` typos included)."""',
        "",
        "",
        "def by_section(section: str, variant: str | None = None) -> HisMethod[Any, Any]:",
        '    """The method of a section such as ``"3.1.1"``; 16.1.1 and 16.1.2 also need the variant',
        '    (``"检验报告"`` or ``"检查报告"``). Raises KeyError for an unknown section."""',
        "    return BY_ENTRY[(section, variant)]",
        "",
    ]
    return "\n".join(lines)


def ruff_format(text: str, relative: str) -> str:
    command = [sys.executable, "-m", "ruff", "format", "--stdin-filename", relative, "-"]
    result = subprocess.run(command, input=text, capture_output=True, text=True, cwd=REPO, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"ruff format failed on {relative}:\n{result.stderr}")
    # A description that ruff joined onto one line keeps parentheses it no longer needs.
    unwrapped = re.sub(r'=\(("[^"\n]*")\)', r"=\1", result.stdout)
    if unwrapped == result.stdout:
        return unwrapped
    return ruff_format(unwrapped, relative)


def generate() -> dict[str, str]:
    """Relative path -> formatted text of every file the generator owns."""
    catalog = json.loads(SPEC.read_text(encoding="utf-8"))
    check_tables(catalog)
    entries = [build_entry(spec) for spec in catalog if spec["direction"] == "his"]
    by_module: dict[str, list[Entry]] = {}
    for entry in entries:
        by_module.setdefault(entry.module, []).append(entry)
    files = {f"his_clients/models/{m}.py": render_module(m, es) for m, es in sorted(by_module.items())}
    files["his_clients/catalog.py"] = render_catalog(entries)
    return {path: ruff_format(text, path) for path, text in files.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="write the tree under this directory")
    args = parser.parse_args()
    for relative, text in generate().items():
        target = args.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
