"""Writes that move no money: each is sent once, and every expected failure comes back as the one Refusal."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from his_clients.errors import HisCircuitOpen, HisTimeout
from resolvers.results import refusal_by_hospital
from resolvers.schedules.slot_ids import SlotIds, SlotKind, SlotRef
from services.refusals import RefusalCode
from tests.conftest import calls, inject, run_graphql

CARD = "001000056254587"
ID_NUMBER = "370102197907025236"
CAREGIVER = {
    "name": "张三丰",
    "idCardNumber": "513436201605126557",
    "phone": "15966667876",
    "sex": "MALE",
    "relationship": "父子",
    "validUntil": "2099-03-16T14:41:14+08:00",
}
EXAM_SLOT = {
    "exam_id": "4744",
    "exam_name": "左肾静脉“胡桃夹”综合征检查",
    "room_id": "5",
    "date": "2019-06-19",
    "time_slot_id": "1130",
    "time_slot_name": "11:30-12:00",
    "extra_param": "74192",
}
"""What an examination period's slotId carries (24.1.3), as ExamTimeSlot.slotId writes it."""
SLOT = "<the hospital's exam slot>"
"""Stands for the slotId of EXAM_SLOT at the hospital written to: ``send`` makes it with the app's own key."""
ONE_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYAAAAAMAASsJTYQAAAAASUVORK5CYII="
FAILURES = """
... on Refusal { code message field outcomeUnknown }
"""


@dataclass(frozen=True)
class Write:
    field: str
    method: str
    input_type: str
    input: dict[str, Any]
    success: str
    """Fields of the success type to select ."""

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
        "checkInAtTriage",
        "hospital.interface.triage",
        "CheckInAtTriageInput",
        {"medicalCardNumber": CARD, "idCardNumber": ID_NUMBER, "roomId": "1", "doctorId": "2003"},
        "hospitalId roomId doctorId",
    ),
    Write(
        "triageAppointment",
        "hospital.interface.appointmentTriage",
        "TriageAppointmentInput",
        {"medicalCardNumber": CARD, "departmentId": "1", "doctorId": "2003"},
        "hospitalId departmentId doctorId",
    ),
    Write(
        "bookExamAppointment",
        "hospital.interface.appointment.regSchedule",
        "BookExamAppointmentInput",
        {"medicalCardNumber": CARD, "idCardNumber": ID_NUMBER, "slotId": SLOT, "appointmentId": "383883"},
        "hospitalId registrationId appointmentId notice",
    ),
    Write(
        "cancelExamAppointment",
        "hospital.interface.appointment.cancelSchedule",
        "CancelExamAppointmentInput",
        {"medicalCardNumber": CARD, "registrationId": "7946", "appointmentId": "383883", "reason": "时间不合适"},
        "hospitalId registrationId",
    ),
    Write(
        "changeExamAppointment",
        "hospital.interface.appointment.changeSchedule",
        "ChangeExamAppointmentInput",
        {"medicalCardNumber": CARD, "registrationId": "7946", "appointmentId": "383883", "slotId": SLOT},
        "hospitalId registrationId notice",
    ),
    Write(
        "checkInExamAppointment",
        "hospital.interface.appointment.register",
        "CheckInExamAppointmentInput",
        {
            "medicalCardNumber": CARD,
            "orders": [{"applicationId": "11", "orderId": "4744", "roomId": "5", "executingDepartmentId": "5"}],
        },
        "hospitalId checkedInOrderIds notCheckedInOrderIds",
    ),
    Write(
        "createCaregiverPass",
        "hospital.interface.addCaregivers",
        "CreateCaregiverPassInput",
        {
            "patientName": "张三",
            "medicalCardNumber": CARD,
            "idCardNumber": ID_NUMBER,
            "admissionNumber": "060508",
            "caregiver": CAREGIVER,
        },
        "hospitalId caregiverPassId",
    ),
    Write(
        "updateCaregiverPass",
        "hospital.interface.updateCaregivers",
        "UpdateCaregiverPassInput",
        {"caregiverPassId": "000000001", "caregiver": {**CAREGIVER, "address": "家庭地址", "age": 45}},
        "hospitalId caregiverPassId",
    ),
    Write(
        "deleteCaregiverPass",
        "hospital.interface.deleteCaregivers",
        "DeleteCaregiverPassInput",
        {"caregiverPassId": "000000001", "caregiverIdCardNumber": "513436201605126557"},
        "hospitalId caregiverPassId",
    ),
    Write(
        "signEducation",
        "hospital.interface.inhospitalEducation.sign",
        "SignEducationInput",
        {
            "educationId": "12",
            "signer": "FAMILY",
            "understanding": "MASTERED",
            "signatureImage": "data:image/png;base64," + ONE_PIXEL_PNG,
        },
        "hospitalId educationId",
    ),
    Write(
        "syncConsultationRecord",
        "hospital.inerface.internetHospital.saveConsultInfo",
        "SyncConsultationRecordInput",
        {
            "consultationNumber": "3477691",
            "medicalCardNumber": CARD,
            "patientName": "张三",
            "sex": "MALE",
            "phone": "19812341234",
            "birthDate": "1979-07-02",
            "idCardNumber": ID_NUMBER,
            "description": "外伤后颈部腰部疼痛2年",
            "paid": True,
            "outTradeNo": "ZX-924966814582567168",
            "consultedAt": "2021-12-22T17:17:20+08:00",
            "doctorName": "张三",
            "doctorId": "402968515",
            "departmentId": "10468",
            "departmentName": "输血科",
            "fee": "5.00",
        },
        "hospitalId consultationNumber",
    ),
]
BY_FIELD = {write.field: write for write in WRITES}


def exam_slot_id(gateway: httpx.AsyncClient, hospital: str, kind: SlotKind = SlotKind.EXAM, **fields: Any) -> str:
    """The slotId the gateway's own key gives a period of EXAM_SLOT (what ExamTimeSlot.slotId answers)."""
    ids: SlotIds = gateway._transport.app.state.services.slot_ids  # type: ignore[attr-defined]  # the app's own
    return str(ids.encode(SlotRef(kind, hospital, {**EXAM_SLOT, **fields})))


async def send(gateway: httpx.AsyncClient, write: Write, hospital: str = "253", **changes: Any) -> dict[str, Any]:
    given = {**write.input, **changes}
    if given.get("slotId") == SLOT:
        given["slotId"] = exam_slot_id(gateway, hospital.split(",")[0])
    body = await run_graphql(gateway, write.operation(), hospital=hospital, input=given)
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
    booked = await send(gateway, BY_FIELD["bookExamAppointment"])
    assert booked["registrationId"]
    assert booked["notice"]
    assert booked["appointmentId"] == "383883"
    checked_in = await send(gateway, BY_FIELD["checkInExamAppointment"])
    assert checked_in["checkedInOrderIds"] == ["4744"]
    assert checked_in["notCheckedInOrderIds"] == []
    created = await send(gateway, BY_FIELD["createCaregiverPass"])
    assert created["caregiverPassId"]


async def test_a_booking_without_our_id_gets_a_new_one(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    write = BY_FIELD["bookExamAppointment"]
    result = await send(gateway, write, appointmentId=None)
    [call] = calls(sim_admin, method=write.method)
    assert result["appointmentId"] == call["body"]["appointmentId"]
    assert len(result["appointmentId"]) >= 8


PERIODS = """
query ($card: String!) { hospital(hospitalId: "253") {
  bookableExams(medicalCardNumber: $card) {
    id name days(from: "2020-06-06", to: "2020-06-06") { date rooms { id timeSlots { slotId name } } }
  }
} }"""


async def test_a_booking_takes_the_slot_id_the_period_answered(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 8: the client hands back the slotId a period answered (24.1.3); the gateway sends 24.1.4
    the exam, room, day and period that slot showed, and rebooking (24.1.7) takes a slotId alike."""
    body = await run_graphql(gateway, PERIODS, card=CARD)
    assert "errors" not in body, body["errors"]
    exam = body["data"]["hospital"]["bookableExams"][0]
    day = exam["days"][0]
    room = day["rooms"][0]
    period = room["timeSlots"][0]
    sim_admin.delete("/admin/calls")
    book = BY_FIELD["bookExamAppointment"]
    booked = await send(gateway, book, slotId=period["slotId"])
    assert booked["__typename"] == "BookExamAppointmentSuccess", booked
    [booking] = calls(sim_admin, method=book.method)
    sent = booking["body"]
    assert (sent["orderId"], sent["orderName"], sent["roomId"], sent["selectedDate"], sent["planTimeName"]) == (
        exam["id"],
        exam["name"],
        room["id"],
        day["date"],
        period["name"],
    )
    change = BY_FIELD["changeExamAppointment"]
    moved = await send(gateway, change, slotId=period["slotId"], registrationId=booked["registrationId"])
    assert moved["__typename"] == "ChangeExamAppointmentSuccess", moved
    [rebooking] = calls(sim_admin, method=change.method)
    assert (rebooking["body"]["roomId"], rebooking["body"]["selectedDate"]) == (room["id"], day["date"])


@pytest.mark.parametrize(
    "slot",
    [
        pytest.param(lambda gateway: "s1.e30.AAAAAAAAAAAAAAAAAAAAAA", id="made up"),
        pytest.param(lambda gateway: exam_slot_id(gateway, "253")[:-2] + "xx", id="edited"),
        pytest.param(lambda gateway: exam_slot_id(gateway, "254"), id="another hospital's"),
        pytest.param(lambda gateway: exam_slot_id(gateway, "253", SlotKind.LAB), id="a lab-test slot"),
    ],
)
async def test_a_slot_id_that_is_not_this_hospitals_exam_period_is_refused_without_a_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, slot: Any
) -> None:
    for field in ("bookExamAppointment", "changeExamAppointment"):
        result = await send(gateway, BY_FIELD[field], "253", slotId=slot(gateway))
        assert (result["__typename"], result["code"], result["field"]) == ("Refusal", "PARAMETER_FORMAT", "slotId")
        assert any("\u4e00" <= char <= "\u9fff" for char in result["message"])
    assert calls(sim_admin) == []


async def test_days_times_and_sexes_reach_the_hospital_as_the_spec_writes_them(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 8: a DateTime goes out as Beijing's yyyy-MM-dd HH:mm:ss whatever offset the client wrote, a
    Date as yyyy-MM-dd, and Sex as the spec's 男/女."""
    create = BY_FIELD["createCaregiverPass"]
    caregiver = {**CAREGIVER, "validUntil": "2099-03-16T06:41:14Z", "sex": "FEMALE"}
    assert (await send(gateway, create, caregiver=caregiver))["__typename"] == "CreateCaregiverPassSuccess"
    [issued] = calls(sim_admin, method=create.method)
    assert (issued["body"]["termOfValidity"], issued["body"]["sex"]) == ("2099-03-16 14:41:14", "女")
    sync = BY_FIELD["syncConsultationRecord"]
    assert (await send(gateway, sync, consultedAt="2021-12-22T09:17:20Z"))["__typename"].endswith("Success")
    [synced] = calls(sim_admin, method=sync.method)
    assert (synced["body"]["consultTime"], synced["body"]["birthday"], synced["body"]["general"]) == (
        "2021-12-22 17:17:20",
        "1979-07-02",
        "男",
    )


async def test_each_refusal_path_answers_the_one_refusal_shape(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 3: refused input, a hospital's 附四 refusal and a hospital that did not answer all come back
    as `... on Refusal { code message field outcomeUnknown }`, with the code's enum name and fixed
    Chinese words (never the hospital's own text)."""
    write = BY_FIELD["checkInAtTriage"]
    refused_input = await send(gateway, write, idCardNumber="37010219790702523")
    assert refused_input == {
        "__typename": "Refusal",
        "code": "PARAMETER_FORMAT",
        "message": "身份证号格式不正确（应为18位，或15位数字）。",
        "field": "idCardNumber",
        "outcomeUnknown": False,
    }
    inject(sim_admin, hospitalId="254", method=write.method, kind="code", code="60701", msg="ORA-00942 已分诊")
    refused_by_hospital = await send(gateway, write, "254")
    assert refused_by_hospital == {
        "__typename": "Refusal",
        "code": "ALREADY_TRIAGED",
        "message": "已分诊，同一诊室/医生不能重复分诊，请到分诊台处理",
        "field": None,
        "outcomeUnknown": False,
    }
    inject(sim_admin, hospitalId="255", method=write.method, kind="hang")
    timed_out = await send(gateway, write, "255")
    assert timed_out == {
        "__typename": "Refusal",
        "code": "HIS_TIMEOUT",
        "message": "医院系统响应超时，请稍后再试。",
        "field": None,
        "outcomeUnknown": True,
    }
    assert [call["hospitalId"] for call in calls(sim_admin, method=write.method)] == ["254", "255"]


@pytest.mark.parametrize("field", ["checkInAtTriage", "triageAppointment"])
async def test_a_business_refusal_is_a_refusal_with_its_code(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, field: str
) -> None:
    write = BY_FIELD[field]
    inject(sim_admin, hospitalId="254", method=write.method, kind="code", code="60701", msg="已分诊，请到分诊台处理")
    result = await send(gateway, write, "254")
    assert result == {
        "__typename": "Refusal",
        "code": "ALREADY_TRIAGED",
        # The fixed message of 附四 for the code, never the hospital's own text (issue 10 item 13).
        "message": "已分诊，同一诊室/医生不能重复分诊，请到分诊台处理",
        "field": None,
        "outcomeUnknown": False,
    }
    assert len(calls(sim_admin, method=write.method)) == 1


async def test_a_hanging_hospital_is_a_refusal_with_unknown_outcome_within_the_deadline(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    write = BY_FIELD["bookExamAppointment"]
    inject(sim_admin, hospitalId="255", method=write.method, kind="hang")
    started = time.monotonic()
    result = await send(gateway, write, "255")
    # A hanging hospital is cut by its own 2 s timeout (the region's); a generous margin, not a benchmark.
    assert time.monotonic() - started < 2.0 + 2.0
    assert (result["__typename"], result["code"]) == ("Refusal", "HIS_TIMEOUT")
    assert result["outcomeUnknown"] is True
    assert len(calls(sim_admin, method=write.method)) == 1  # a write is never retried


@pytest.mark.parametrize("kind", ["http500", "lost_reply", "invalid_json"])
async def test_a_failed_write_is_not_retried(gateway: httpx.AsyncClient, sim_admin: httpx.Client, kind: str) -> None:
    write = BY_FIELD["createCaregiverPass"]
    inject(sim_admin, hospitalId="253", method=write.method, kind=kind)
    result = await send(gateway, write)
    assert result["__typename"] == "Refusal"
    assert result["code"] in {"HIS_HTTP_ERROR", "HIS_CONNECT_ERROR", "HIS_PROTOCOL_ERROR", "HIS_UNAVAILABLE"}
    assert result["outcomeUnknown"] is True
    assert result["message"].startswith("医院系统") or result["message"].startswith("暂时无法连接医院系统")
    assert len(calls(sim_admin, method=write.method)) == 1


def test_an_open_circuit_is_certainly_not_applied() -> None:
    """HIS_CIRCUIT_OPEN: the hospital was not called, so the write was certainly not applied; every other
    no-usable-answer code leaves the outcome unknown."""
    circuit = refusal_by_hospital(HisCircuitOpen("open", hospital_id="253", method="hospital.interface.triage"))
    assert (circuit.code, circuit.outcome_unknown) == (RefusalCode.HIS_CIRCUIT_OPEN, False)  # it names no hospital
    timeout = refusal_by_hospital(HisTimeout("slow", hospital_id="253", method="hospital.interface.triage"))
    assert (timeout.code, timeout.outcome_unknown) == (RefusalCode.HIS_TIMEOUT, True)


INVALID = [
    ("checkInAtTriage", {"idCardNumber": "37010219790702523"}, "idCardNumber", "PARAMETER_FORMAT"),
    ("checkInAtTriage", {"idCardNumber": "370102197913025236"}, "idCardNumber", "PARAMETER_FORMAT"),
    ("checkInAtTriage", {"medicalCardNumber": "  "}, "medicalCardNumber", "MISSING_PARAMETER"),
    ("cancelExamAppointment", {"reason": ""}, "reason", "MISSING_PARAMETER"),
    ("checkInExamAppointment", {"orders": []}, "orders", "MISSING_PARAMETER"),
    (
        "createCaregiverPass",
        {"caregiver": {**CAREGIVER, "validUntil": "2020-01-01T00:00:00+08:00"}},
        "caregiver.validUntil",
        "PARAMETER_RANGE",
    ),
    (
        "createCaregiverPass",
        {"caregiver": {**CAREGIVER, "idCardNumber": "51343620160512655Y"}},
        "caregiver.idCardNumber",
        "PARAMETER_FORMAT",
    ),
    ("updateCaregiverPass", {"caregiver": {**CAREGIVER, "age": 151}}, "caregiver.age", "PARAMETER_RANGE"),
    (
        "updateCaregiverPass",
        {"caregiver": {**CAREGIVER, "phone": "0531-8888888"}},
        "caregiver.phone",
        "PARAMETER_FORMAT",
    ),
    ("signEducation", {"signatureImage": "iVBORw0KGgo="}, "signatureImage", "PARAMETER_FORMAT"),
    ("syncConsultationRecord", {"fee": "-5.00"}, "fee", "PARAMETER_RANGE"),
    ("syncConsultationRecord", {"consultationNumber": "ZX3477691"}, "consultationNumber", "PARAMETER_FORMAT"),
]


@pytest.mark.parametrize(("field", "changes", "at", "code"), INVALID, ids=[f"{f}-{a}-{c}" for f, _, a, c in INVALID])
async def test_invalid_input_is_refused_without_calling_the_hospital(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, field: str, changes: dict[str, Any], at: str, code: str
) -> None:
    result = await send(gateway, BY_FIELD[field], **changes)
    assert result["__typename"] == "Refusal"
    assert (result["field"], result["code"], result["outcomeUnknown"]) == (at, code, False)
    assert any("\u4e00" <= char <= "\u9fff" for char in result["message"]), result["message"]  # Chinese words
    assert calls(sim_admin) == []


NOT_VALUES = [
    ("createCaregiverPass", {"caregiver": {**CAREGIVER, "validUntil": "2099-03-16 25:00:00"}}),
    ("createCaregiverPass", {"caregiver": {**CAREGIVER, "sex": "1"}}),
    ("syncConsultationRecord", {"birthDate": "1979-7-2x"}),
    ("syncConsultationRecord", {"consultedAt": "22/12/2021 17:17"}),
]


@pytest.mark.parametrize(("field", "changes"), NOT_VALUES, ids=[f for f, _ in NOT_VALUES])
async def test_a_value_that_is_not_a_date_time_or_sex_is_refused_by_graphql_before_any_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, field: str, changes: dict[str, Any]
) -> None:
    """issue 12 item 8: days are Date, instants DateTime, sexes Sex: a free string is no longer accepted, and
    GraphQL refuses it as a variable error before anything is sent."""
    write = BY_FIELD[field]
    body = await run_graphql(gateway, write.operation(), hospital="253", input={**write.input, **changes})
    assert body.get("data") is None, body
    assert body["errors"]
    assert calls(sim_admin) == []


async def test_a_write_goes_to_exactly_one_known_hospital(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    write = BY_FIELD["checkInAtTriage"]
    several = await send(gateway, write, "253,254")
    assert (several["__typename"], several["field"], several["code"]) == ("Refusal", "hospitalId", "PARAMETER_FORMAT")
    unknown = await send(gateway, write, "999")
    assert (unknown["__typename"], unknown["code"]) == ("Refusal", "HOSPITAL_NOT_FOUND")
    assert calls(sim_admin) == []
