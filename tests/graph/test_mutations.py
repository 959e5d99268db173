"""Writes that move no money: each is sent once, and every expected failure comes back as a typed result."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import calls, inject, run_graphql

CARD = "001000056254587"
ID_NUMBER = "370102197907025236"
CAREGIVER = {
    "name": "张三丰",
    "idCard": "513436201605126557",
    "phone": "15966667876",
    "sex": "MALE",
    "relationship": "父子",
    "validUntil": "2099-03-16 14:41:14",
}
SLOT = {
    "orderId": "4744",
    "orderName": "左肾静脉“胡桃夹”综合征检查",
    "roomId": "5",
    "date": "2019-06-19",
    "timeSlotId": "1130",
    "timeSlotName": "11:30-12:00",
    "extraParam": "74192",
}
ONE_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYAAAAAMAASsJTYQAAAAASUVORK5CYII="
FAILURES = """
... on HisRefusal { hospitalId code message method }
... on HospitalUnavailable { hospitalId code message method mayHaveBeenApplied }
... on InvalidInput { field code message }
"""


@dataclass(frozen=True)
class Write:
    field: str
    method: str
    input_type: str
    input: dict[str, Any]
    success: str
    """Fields of the success type to select."""

    def operation(self) -> str:
        return f"""
        mutation ($hospital: ID!, $input: {self.input_type}!) {{
          result: {self.field}(hospitalId: $hospital, input: $input) {{
            __typename
            ... on {self.field[0].upper() + self.field[1:]}Success {{ {self.success} }}
            {FAILURES}
          }}
        }}
        """


WRITES = [
    Write(
        "triageRegister",
        "hospital.interface.triage",
        "TriageRegisterInput",
        {"medicalCardNumber": CARD, "idCard": ID_NUMBER, "roomId": "1", "doctorId": "2003"},
        "hospitalId roomId doctorId",
    ),
    Write(
        "appointmentTriage",
        "hospital.interface.appointmentTriage",
        "AppointmentTriageInput",
        {"medicalCardNumber": CARD, "departmentId": "1", "doctorId": "2003"},
        "hospitalId departmentId doctorId",
    ),
    Write(
        "examAppointmentBook",
        "hospital.interface.appointment.regSchedule",
        "ExamAppointmentBookInput",
        {"medicalCardNumber": CARD, "idCard": ID_NUMBER, "slot": SLOT, "appointmentId": "383883"},
        "hospitalId registrationId appointmentId notice",
    ),
    Write(
        "examAppointmentCancel",
        "hospital.interface.appointment.cancelSchedule",
        "ExamAppointmentCancelInput",
        {"medicalCardNumber": CARD, "registrationId": "7946", "appointmentId": "383883", "reason": "时间不合适"},
        "hospitalId registrationId",
    ),
    Write(
        "examAppointmentChange",
        "hospital.interface.appointment.changeSchedule",
        "ExamAppointmentChangeInput",
        {"medicalCardNumber": CARD, "registrationId": "7946", "appointmentId": "383883", "slot": SLOT},
        "hospitalId registrationId notice",
    ),
    Write(
        "examAppointmentRegister",
        "hospital.interface.appointment.register",
        "ExamAppointmentRegisterInput",
        {
            "medicalCardNumber": CARD,
            "orders": [{"applicationId": "11", "orderId": "4744", "roomId": "5", "executingDepartmentId": "5"}],
        },
        "hospitalId registeredOrderIds unregisteredOrderIds",
    ),
    Write(
        "caregiverPassCreate",
        "hospital.interface.addCaregivers",
        "CaregiverPassCreateInput",
        {
            "patientName": "张三",
            "patientMedicalCardNumber": CARD,
            "patientIdCard": ID_NUMBER,
            "admissionNumber": "060508",
            "caregiver": CAREGIVER,
        },
        "hospitalId caregiverPassId",
    ),
    Write(
        "caregiverPassUpdate",
        "hospital.interface.updateCaregivers",
        "CaregiverPassUpdateInput",
        {"caregiverPassId": "000000001", "caregiver": {**CAREGIVER, "address": "家庭地址", "age": "45"}},
        "hospitalId caregiverPassId",
    ),
    Write(
        "caregiverPassDelete",
        "hospital.interface.deleteCaregivers",
        "CaregiverPassDeleteInput",
        {"caregiverPassId": "000000001", "caregiverIdCard": "513436201605126557"},
        "hospitalId caregiverPassId",
    ),
    Write(
        "educationSign",
        "hospital.interface.inhospitalEducation.sign",
        "EducationSignInput",
        {
            "educationId": "12",
            "signer": "FAMILY",
            "understanding": "MASTERED",
            "signatureImage": "data:image/png;base64," + ONE_PIXEL_PNG,
        },
        "hospitalId educationId",
    ),
    Write(
        "consultationRecordSync",
        "hospital.inerface.internetHospital.saveConsultInfo",
        "ConsultationRecordSyncInput",
        {
            "consultationNumber": "3477691",
            "medicalCardNumber": CARD,
            "patientName": "张三",
            "sex": "MALE",
            "phone": "19812341234",
            "birthday": "1979-07-02",
            "idCard": ID_NUMBER,
            "description": "外伤后颈部腰部疼痛2年",
            "paid": True,
            "outTradeNo": "ZX-924966814582567168",
            "consultedAt": "2021-12-22 17:17:20",
            "doctorName": "张三",
            "doctorCode": "402968515",
            "departmentCode": "10468",
            "departmentName": "输血科",
            "fee": "5.00",
        },
        "hospitalId consultationNumber",
    ),
]
BY_FIELD = {write.field: write for write in WRITES}


async def send(gateway: httpx.AsyncClient, write: Write, hospital: str = "253", **changes: Any) -> dict[str, Any]:
    body = await run_graphql(gateway, write.operation(), hospital=hospital, input={**write.input, **changes})
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]["result"]
    return result


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.field)
@pytest.mark.parametrize("hospital", ["253", "257"])
async def test_each_write_succeeds_with_exactly_one_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, write: Write, hospital: str
) -> None:
    result = await send(gateway, write, hospital)
    assert result["__typename"].endswith("Success"), result
    assert result["hospitalId"] == hospital
    [call] = calls(sim_admin, method=write.method)
    assert call["hospitalId"] == hospital
    assert call["body"]["hospitalId"] == hospital


async def test_success_carries_what_the_hospital_answered(gateway: httpx.AsyncClient) -> None:
    booked = await send(gateway, BY_FIELD["examAppointmentBook"])
    assert booked["registrationId"]
    assert booked["notice"]
    assert booked["appointmentId"] == "383883"
    registered = await send(gateway, BY_FIELD["examAppointmentRegister"])
    assert registered["registeredOrderIds"] == ["4744"]
    assert registered["unregisteredOrderIds"] == []
    created = await send(gateway, BY_FIELD["caregiverPassCreate"])
    assert created["caregiverPassId"]


async def test_a_booking_without_our_id_gets_a_new_one(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    write = BY_FIELD["examAppointmentBook"]
    result = await send(gateway, write, appointmentId=None)
    [call] = calls(sim_admin, method=write.method)
    assert result["appointmentId"] == call["body"]["appointmentId"]
    assert len(result["appointmentId"]) >= 8


@pytest.mark.parametrize("field", ["triageRegister", "appointmentTriage"])
async def test_a_business_refusal_is_a_typed_result_with_its_code(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, field: str
) -> None:
    write = BY_FIELD[field]
    inject(sim_admin, hospitalId="254", method=write.method, kind="code", code="60701", msg="已分诊，请到分诊台处理")
    result = await send(gateway, write, "254")
    assert result == {
        "__typename": "HisRefusal",
        "hospitalId": "254",
        "code": "60701",
        # The fixed message of 附四 for the code, never the hospital's own text (issue 10 item 13).
        "message": "已分诊，同一诊室/医生不能重复分诊，请到分诊台处理",
        "method": write.method,
    }
    assert len(calls(sim_admin, method=write.method)) == 1


async def test_a_hanging_hospital_is_a_typed_unavailable_result_within_the_deadline(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    write = BY_FIELD["examAppointmentBook"]
    inject(sim_admin, hospitalId="255", method=write.method, kind="hang")
    started = time.monotonic()
    result = await send(gateway, write, "255")
    # The gateway's deadline is 1.5 s in these tests; a generous margin, not a benchmark.
    assert time.monotonic() - started < 1.5 + 1.5
    assert result["__typename"] == "HospitalUnavailable"
    assert result["code"] == "HIS_TIMEOUT"
    assert result["mayHaveBeenApplied"] is True
    assert len(calls(sim_admin, method=write.method)) == 1  # a write is never retried


@pytest.mark.parametrize("kind", ["http500", "lost_reply"])
async def test_a_failed_write_is_not_retried(gateway: httpx.AsyncClient, sim_admin: httpx.Client, kind: str) -> None:
    write = BY_FIELD["caregiverPassCreate"]
    inject(sim_admin, hospitalId="253", method=write.method, kind=kind)
    result = await send(gateway, write)
    assert result["__typename"] == "HospitalUnavailable"
    assert result["mayHaveBeenApplied"] is True
    assert len(calls(sim_admin, method=write.method)) == 1


INVALID = [
    ("examAppointmentBook", {"slot": {**SLOT, "date": "2019-02-30"}}, "slot.date", "20003"),
    ("examAppointmentBook", {"slot": {**SLOT, "date": "19/06/2019"}}, "slot.date", "20003"),
    ("examAppointmentBook", {"slot": {**SLOT, "timeSlotId": None}}, "slot.startTime", "20001"),
    (
        "examAppointmentChange",
        {"slot": {**SLOT, "timeSlotId": None, "startTime": "8:00", "endTime": "25:00"}},
        "slot.endTime",
        "20003",
    ),
    ("triageRegister", {"idCard": "37010219790702523"}, "idCard", "20003"),
    ("triageRegister", {"idCard": "370102197913025236"}, "idCard", "20003"),
    ("triageRegister", {"medicalCardNumber": "  "}, "medicalCardNumber", "20001"),
    ("examAppointmentCancel", {"reason": ""}, "reason", "20001"),
    ("examAppointmentRegister", {"orders": []}, "orders", "20001"),
    (
        "caregiverPassCreate",
        {"caregiver": {**CAREGIVER, "validUntil": "2020-01-01 00:00:00"}},
        "caregiver.validUntil",
        "20004",
    ),
    (
        "caregiverPassCreate",
        {"caregiver": {**CAREGIVER, "idCard": "51343620160512655Y"}},
        "caregiver.idCard",
        "20003",
    ),
    ("caregiverPassUpdate", {"caregiver": {**CAREGIVER, "phone": "0531-8888888"}}, "caregiver.phone", "20003"),
    ("educationSign", {"signatureImage": "iVBORw0KGgo="}, "signatureImage", "20003"),
    ("consultationRecordSync", {"birthday": "1979-7-2x"}, "birthday", "20003"),
    ("consultationRecordSync", {"consultedAt": "2021-12-22"}, "consultedAt", "20003"),
    ("consultationRecordSync", {"fee": "-5.00"}, "fee", "20004"),
    ("consultationRecordSync", {"consultationNumber": "ZX3477691"}, "consultationNumber", "20003"),
]


@pytest.mark.parametrize(("field", "changes", "at", "code"), INVALID, ids=[f"{f}-{a}-{c}" for f, _, a, c in INVALID])
async def test_invalid_input_is_refused_without_calling_the_hospital(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, field: str, changes: dict[str, Any], at: str, code: str
) -> None:
    result = await send(gateway, BY_FIELD[field], **changes)
    assert result["__typename"] == "InvalidInput"
    assert (result["field"], result["code"]) == (at, code)
    assert result["message"]
    assert calls(sim_admin) == []


async def test_a_write_goes_to_exactly_one_known_hospital(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    write = BY_FIELD["triageRegister"]
    several = await send(gateway, write, "253,254")
    assert (several["__typename"], several["field"], several["code"]) == ("InvalidInput", "hospitalId", "20003")
    unknown = await send(gateway, write, "999")
    assert (unknown["__typename"], unknown["code"]) == ("HisRefusal", "60001")
    assert calls(sim_admin) == []
