"""Appointment-registration uploads (21.1.1-21.1.6): the shims, what they store, and the graph that shows it.

For every path: the spec's own request example (its hosCode mapped to our demo hospital 253) gets the
entry's reply, each required field removed gets 20001, another hospital's hosCode gets 50001. What is
uploaded shows in Hospital.uploaded (visit results for operators only), a deletion removes it, a repeat
changes nothing, and a schedule upload drops the hospital's cached schedules.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.shims.registration_uploads import UPLOADS
from api.shims.validation import platform_entry, rules_for
from api.webservice import PATH as WEBSERVICE_PATH
from store.db import Database
from store.inbound import InboundCall
from store.uploads import HospitalUpload
from tests.conftest import calls, run_graphql, sign_in_operator

OUR_HOSPITAL = "253"
OUR_HOS_CODE = "0531_253"
OTHER_HOS_CODE = "0531_254"
"""The demo region gives hospital N the hosCode 0531_N (api/demo.py)."""
SECTIONS = [u.section for u in UPLOADS]
SUCCESS = {"success": True, "message": "", "status": 1}


def path_of(section: str) -> str:
    http_path = platform_entry(section)["http_path"]
    assert isinstance(http_path, str)
    return "/" + http_path


def example(section: str, hos_code: str = OUR_HOS_CODE) -> Any:
    """The spec's request example with its hosCode(s) replaced by ``hos_code`` (21.1.6 names none)."""
    body = copy.deepcopy(platform_entry(section)["request_example"])
    for record in body if isinstance(body, list) else [body]:
        if "hosCode" in record:
            record["hosCode"] = hos_code
    return body


def db_of(client: httpx.AsyncClient) -> Database:
    db: Database = client._transport.app.state.services.db  # type: ignore[attr-defined]
    return db


async def count(client: httpx.AsyncClient, model: type[Any], **where: Any) -> int:
    async with db_of(client).session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


async def rows(client: httpx.AsyncClient) -> list[tuple[str, str, str, bool, Any, Any]]:
    async with db_of(client).session() as session:
        found = (await session.execute(select(HospitalUpload).order_by(HospitalUpload.id))).scalars()
        return [(r.hospital_id, r.kind, r.natural_key, r.deleted, r.payload, r.updated_at) for r in found]


@pytest.fixture
async def hospital(gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    """Hospital 253's HIS calling from loopback (auth none), narrowed to 253 by X-Hospital-Id."""
    gateway.headers.pop("Authorization", None)
    gateway.headers["X-Hospital-Id"] = OUR_HOSPITAL
    return gateway


async def post(client: httpx.AsyncClient, section: str, body: Any) -> dict[str, Any]:
    response = await client.post(path_of(section), json=body)
    assert response.status_code == 200
    reply: dict[str, Any] = response.json()
    return reply


def test_the_paths_are_the_catalogs() -> None:
    assert [u.section for u in UPLOADS] == ["21.1.1", "21.1.2", "21.1.3", "21.1.4", "21.1.5", "21.1.6"]
    for upload in UPLOADS:
        assert platform_entry(upload.section)["http_path"].strip() == upload.path


@pytest.mark.parametrize("section", SECTIONS)
async def test_the_spec_example_gets_the_entry_reply(hospital: httpx.AsyncClient, section: str) -> None:
    reply = await post(hospital, section, example(section))
    assert reply == SUCCESS
    assert set(reply) == set(platform_entry(section)["response_example"])
    async with db_of(hospital).session() as session:
        call = (await session.execute(select(InboundCall))).scalar_one()
    assert (call.section, call.path, call.hospital_id, call.reply_code) == (section, path_of(section), "253", "10001")


def required_fields(section: str) -> list[tuple[str | None, str]]:
    """(parent, name) of every required field: top-level (parent None) and members of a list."""
    rules = rules_for(section)
    found: list[tuple[str | None, str]] = [(None, r.name) for r in rules.fields if r.required]
    for parent, members in rules.items.items():
        found += [(parent, r.name) for r in members if r.required]
    return found


REQUIRED = [(section, parent, name) for section in SECTIONS for parent, name in required_fields(section)]


@pytest.mark.parametrize(("section", "parent", "name"), REQUIRED)
async def test_each_required_field_missing_is_20001(
    hospital: httpx.AsyncClient, section: str, parent: str | None, name: str
) -> None:
    body = example(section)
    record = body[0] if isinstance(body, list) else body
    holder = record[parent][0] if parent is not None else record
    holder.pop(name)
    reply = await post(hospital, section, body)
    assert reply["success"] is False
    assert reply["code"] == "20001", reply
    assert reply["status"] == -1
    assert name in reply["message"]
    assert set(reply) == {"success", "message", "status", "code"}
    assert await rows(hospital) == []


def test_every_entry_has_required_fields_and_21_1_6_needs_both() -> None:
    assert {name for _, name in required_fields("21.1.6")} == {"recordId", "state"}
    assert (None, "noTime") in required_fields("21.1.1")
    assert ("doctors", "birthDate") in required_fields("21.1.2")
    assert ("doctors", "docCode") in required_fields("21.1.3")
    assert (None, "arAmt") not in required_fields("21.1.4")  # 是/否: only when a fee is charged


@pytest.mark.parametrize("section", [s for s in SECTIONS if s != "21.1.6"])
@pytest.mark.parametrize("hos_code", [OTHER_HOS_CODE, "0531_nowhere"])
async def test_another_hospitals_hos_code_is_refused(hospital: httpx.AsyncClient, section: str, hos_code: str) -> None:
    reply = await post(hospital, section, example(section, hos_code))
    assert reply["success"] is False
    assert reply["code"] == "50001"
    assert set(reply) == {"success", "message", "status", "code"}
    assert await rows(hospital) == []
    async with db_of(hospital).session() as session:
        call = (await session.execute(select(InboundCall))).scalar_one()
    assert call.reply_code == "50001"


async def test_visit_results_are_the_callers_and_a_named_other_hospital_is_refused(
    hospital: httpx.AsyncClient,
) -> None:
    body = example("21.1.6")
    body[0]["hosCode"] = OTHER_HOS_CODE
    assert (await post(hospital, "21.1.6", body))["code"] == "50001"
    # A caller that may act for several hospitals (loopback, no X-Hospital-Id) must say which.
    hospital.headers.pop("X-Hospital-Id")
    reply = await post(hospital, "21.1.6", example("21.1.6"))
    assert reply["code"] == "20001"
    assert "hosCode" in reply["message"]
    body = example("21.1.6")
    for record in body:
        record["hosCode"] = OUR_HOS_CODE
    assert await post(hospital, "21.1.6", body) == SUCCESS
    assert {(r[0], r[1], r[2]) for r in await rows(hospital)} == {
        ("253", "visit_result", "a9fef3f259104f9bb21bfb5a063ef6a1"),
        ("253", "visit_result", "29fef3f259104f9bb21bfb5a063ef6a1"),
    }


async def test_visit_results_need_only_the_specs_body_from_a_caller_of_one_hospital(
    hospital: httpx.AsyncClient,
) -> None:
    """issue 11 item 11: 21.1.6 with the spec's own example body, nothing added, from a caller acting for one
    hospital (here narrowed by X-Hospital-Id, as the README tells a regional caller to do)."""
    assert await post(hospital, "21.1.6", example("21.1.6")) == SUCCESS
    assert {(r[0], r[1]) for r in await rows(hospital)} == {("253", "visit_result")}


async def test_an_unauthenticated_caller_gets_the_entrys_shape(gateway: httpx.AsyncClient) -> None:
    gateway.headers.pop("Authorization", None)
    gateway.headers["X-Hospital-Id"] = "999"
    reply = await post(gateway, "21.1.4", example("21.1.4"))
    assert reply == {"success": False, "message": "无权访问该接口", "status": -1, "code": "50001"}


def _set(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    holder = body
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("section", "path", "value", "code"),
    [
        ("21.1.1", ("noTime",), "25:00", "20003"),
        ("21.1.1", ("lat",), "116.8799641", "20003"),
        ("21.1.1", ("cantCode",), "3701", "20003"),
        ("21.1.1", ("level",), "4", "20004"),
        ("21.1.1", ("hosType",), "22", "20004"),
        ("21.1.1", ("isOpenAppoint",), "2", "20004"),
        ("21.1.1", ("appCycle",), "a week", "20003"),
        ("21.1.1", ("hosName",), {"name": "x"}, "20002"),
        ("21.1.2", (0, "doctors", 0, "sex"), "3", "20004"),
        ("21.1.2", (0, "doctors", 0, "birthDate"), "1950-02-02", "20003"),
        ("21.1.2", (0, "doctors", 0, "technicalTitle"), "6", "20004"),
        ("21.1.2", (0, "sn"), "first", "20003"),
        ("21.1.2", (0, "doctors"), "5265", "20002"),
        ("21.1.3", ("doctors", 0, "docCode"), "B|ZH", "20003"),
        ("21.1.4", (0, "amPm"), "XM", "20004"),
        ("21.1.4", (0, "scheduleDate"), "2019-01-16", "20003"),
        ("21.1.4", (0, "opType"), "4", "20004"),
        ("21.1.4", (0, "upLimit"), "-1", "20004"),
        ("21.1.4", (0, "arAmt"), "12.345", "20003"),
        ("21.1.4", (0, "deptCode"), "x" * 65, "20004"),
        ("21.1.5", (1, "scheduleDate"), "20191131", "20003"),
        ("21.1.6", (0, "state"), "6", "20004"),
    ],
)
async def test_formats_and_ranges_the_tables_state(
    hospital: httpx.AsyncClient, section: str, path: tuple[Any, ...], value: Any, code: str
) -> None:
    reply = await post(hospital, section, _set(example(section), path, value))
    assert reply["code"] == code, reply
    assert str(path[-1]) in reply["message"]
    assert await rows(hospital) == []


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "20001"), (b"not json", "20003"), (b"[]", "20001"), (b"[1, 2]", "20002"), (b'"text"', "20002")],
)
async def test_bodies_that_are_no_upload(hospital: httpx.AsyncClient, content: bytes, code: str) -> None:
    response = await hospital.post(path_of("21.1.4"), content=content)
    assert response.json()["code"] == code


async def test_one_call_uploads_for_one_hospital(hospital: httpx.AsyncClient) -> None:
    body = example("21.1.4") + example("21.1.4", OTHER_HOS_CODE)
    reply = await post(hospital, "21.1.4", body)
    assert reply["code"] == "20003"
    assert "hosCode" in reply["message"]


async def test_lenient_spellings_are_taken(hospital: httpx.AsyncClient) -> None:
    """A record sent bare instead of in a list, numbers as JSON numbers, amPm in lower case."""
    record = example("21.1.4")[0]
    record.update({"amPm": "pm", "upLimit": 14, "appNum": 3, " DeptCode ": record.pop("deptCode")})
    assert await post(hospital, "21.1.4", record) == SUCCESS
    [(_, kind, key, _, payload, _)] = await rows(hospital)
    assert (kind, key) == ("schedule", "20190116|PM|268|中医科门诊")
    assert (payload["amPm"], payload["upLimit"], payload["appNum"]) == ("PM", "14", "3")


UPLOADED = """
query ($id: ID!, $date: Date) {
  hospital(hospitalId: $id) {
    uploaded {
      institution { hosCode name level grade hospitalType phone appointmentsOpen bookingDaysAhead releaseTime }
      departments { id name typeName address sortOrder doctors { id name title hisTitle sortOrder } }
      schedules(date: $date) {
        departmentId doctorId doctorName date halfDay clinicKind scheduleType registrationFee
        capacity booked remaining status
        stop { status substituteDepartmentId substituteDoctorId reason }
      }
      stops { departmentId doctorId date halfDay status }
    }
  }
}
"""


async def uploaded(client: httpx.AsyncClient, hospital_id: str = OUR_HOSPITAL, **variables: Any) -> dict[str, Any]:
    body = await run_graphql(client, UPLOADED, id=hospital_id, **variables)
    assert "errors" not in body, body.get("errors")
    found: dict[str, Any] = body["data"]["hospital"]["uploaded"]
    return found


async def test_uploads_show_in_the_hospital_graph(hospital: httpx.AsyncClient) -> None:
    for section in ("21.1.1", "21.1.2", "21.1.4", "21.1.5"):
        assert await post(hospital, section, example(section)) == SUCCESS
    # Substitute the uploaded schedule's own session too (the spec's stop example names other sessions).
    substitution = {
        "hosCode": OUR_HOS_CODE,
        "deptCode": "268",
        "docCode": "中医科门诊",
        "amPm": "AM",
        "scheduleDate": "20190116",
        "altDocCode": "0002",
        "reason": "外出会诊",
    }
    assert await post(hospital, "21.1.5", [substitution]) == SUCCESS

    seen = await uploaded(hospital)
    assert seen["institution"] == {
        "hosCode": OUR_HOS_CODE,
        "name": "山东测试医院",
        "level": "3",
        "grade": "FIRST",
        "hospitalType": "05",
        "phone": "0531-8888888",
        "appointmentsOpen": True,
        "bookingDaysAhead": 7,
        "releaseTime": "00:00",
    }
    assert seen["departments"] == [
        {
            "id": "2562",
            "name": "消化内科",
            "typeName": "内科",
            "address": "门诊楼3楼",
            "sortOrder": 1,
            "doctors": [
                {"id": "5265", "name": "华佗", "title": "CHIEF", "hisTitle": "医生职称（院内）", "sortOrder": 6}
            ],
        }
    ]
    [schedule] = seen["schedules"]
    assert schedule == {
        "departmentId": "268",
        "doctorId": "中医科门诊",
        "doctorName": "华佗",
        "date": "2019-01-16",
        "halfDay": "MORNING",
        "clinicKind": "EXPERT",
        "scheduleType": "TIME_POINT",
        "registrationFee": "12.00",
        "capacity": 14,
        "booked": 12,
        "remaining": 2,
        "status": "SUBSTITUTED",
        "stop": {
            "status": "SUBSTITUTED",
            "substituteDepartmentId": None,
            "substituteDoctorId": "0002",
            "reason": "外出会诊",
        },
    }
    assert seen["stops"] == [
        {
            "departmentId": "268",
            "doctorId": "中医科门诊",
            "date": "2019-01-16",
            "halfDay": "MORNING",
            "status": "SUBSTITUTED",
        },
        {
            "departmentId": "0001",
            "doctorId": "0001",
            "date": "2019-11-16",
            "halfDay": "MORNING",
            "status": "SUBSTITUTED",
        },
        {
            "departmentId": "0003",
            "doctorId": "0003",
            "date": "2019-11-16",
            "halfDay": "AFTERNOON",
            "status": "STOPPED",
        },
    ]
    # A day filter reads that day only; another hospital has uploaded nothing.
    assert (await uploaded(hospital, date="2019-11-16"))["schedules"] == []
    assert [s["date"] for s in (await uploaded(hospital, date="2019-01-16"))["schedules"]] == ["2019-01-16"]
    assert await uploaded(hospital, "254") == {"institution": None, "departments": [], "schedules": [], "stops": []}


async def test_a_malformed_day_is_refused_in_the_graph(hospital: httpx.AsyncClient) -> None:
    body = await run_graphql(hospital, UPLOADED, id=OUR_HOSPITAL, date="2019-02-30")
    assert body["data"] is None  # not a Date: refused before any resolver runs
    [error] = body["errors"]
    assert "Date" in error["message"]


SESSION = """
query ($id: ID!) {
  hospital(hospitalId: $id) {
    uploaded { schedules { doctorId halfDay session { date halfDay slots { slotId from } } } }
  }
}
"""


async def test_an_uploaded_schedule_leads_to_its_bookable_session(
    hospital: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """The client books from what the hospital uploaded without copying a field: each schedule's session asks
    21.2.1 for its slots (each with the slotId booking takes) with the schedule's own department, doctor, day and
    half-day."""
    assert await post(hospital, "21.1.4", example("21.1.4")) == SUCCESS
    body = await run_graphql(hospital, SESSION, id=OUR_HOSPITAL)
    [schedule] = body["data"]["hospital"]["uploaded"]["schedules"]
    session = schedule["session"]
    assert (session["date"], session["halfDay"]) == ("2019-01-16", schedule["halfDay"])
    [asked] = calls(sim_admin, method="hospital.interface.remainApp")
    wire = asked["body"]
    assert (wire["deptCode"], wire["docCode"], wire["scheduleDate"]) == ("268", schedule["doctorId"], "20190116")
    assert wire["amPm"] == "AM"


async def test_the_graph_shows_no_doctors_birth_date_nor_visit_results(hospital: httpx.AsyncClient) -> None:
    body = await run_graphql(hospital, '{ __type(name: "UploadedDoctor") { fields { name } } }')
    names = {f["name"] for f in body["data"]["__type"]["fields"]}
    assert not names & {"birthDate", "sex", "gender"}
    body = await run_graphql(hospital, '{ __type(name: "HospitalUploadedData") { fields { name } } }')
    assert "visitResults" not in {f["name"] for f in body["data"]["__type"]["fields"]}


async def test_a_deleted_doctor_is_gone(hospital: httpx.AsyncClient) -> None:
    await post(hospital, "21.1.2", example("21.1.2"))
    deletion = {"hosCode": OUR_HOS_CODE, "deptCode": "2562", "doctors": [{"docCode": "5265"}]}
    assert await post(hospital, "21.1.3", deletion) == SUCCESS
    [department] = (await uploaded(hospital))["departments"]
    assert (department["id"], department["doctors"]) == ("2562", [])
    before = await rows(hospital)
    assert [(r[1], r[3]) for r in before] == [("department", False), ("doctor", True)]
    assert before[1][4]["docName"] == "华佗"  # kept, marked deleted, for operators
    # Deleting again, or deleting a doctor never uploaded, answers the same and changes nothing.
    assert await post(hospital, "21.1.3", deletion) == SUCCESS
    assert await post(hospital, "21.1.3", {**deletion, "doctors": [{"docCode": "nobody"}]}) == SUCCESS
    assert await rows(hospital) == before
    # Uploading the doctor again brings them back.
    await post(hospital, "21.1.2", example("21.1.2"))
    [department] = (await uploaded(hospital))["departments"]
    assert [d["id"] for d in department["doctors"]] == ["5265"]


async def test_a_repeat_changes_nothing_and_a_b_a_ends_on_a(hospital: httpx.AsyncClient) -> None:
    for section in SECTIONS:
        await post(hospital, section, example(section))
    first = await rows(hospital)
    first_graph = await uploaded(hospital)
    for section in SECTIONS:
        assert await post(hospital, section, example(section)) == SUCCESS
    assert await rows(hospital) == first  # not even updated_at moved
    assert await uploaded(hospital) == first_graph
    assert await count(hospital, InboundCall) == 2 * len(SECTIONS)  # the ledger still records each call

    changed = example("21.1.4")
    changed[0]["appNum"] = "13"
    await post(hospital, "21.1.4", changed)
    assert (await uploaded(hospital))["schedules"][0]["booked"] == 13
    await post(hospital, "21.1.4", example("21.1.4"))
    assert (await uploaded(hospital))["schedules"][0]["booked"] == 12


async def test_the_ledger_ties_each_row_to_its_call(hospital: httpx.AsyncClient) -> None:
    await post(hospital, "21.1.1", example("21.1.1"))
    async with db_of(hospital).session() as session:
        call = (await session.execute(select(InboundCall))).scalar_one()
        row = (await session.execute(select(HospitalUpload))).scalar_one()
    assert row.inbound_call_id == call.id
    assert call.reply == SUCCESS
    assert call.body["tel"] != "0531-8888888"  # the ledger masks phone numbers


SESSIONS = """
query ($department: String!) {
  hospital(hospitalId: "253") { todaySchedules(departmentId: $department) { doctor { id } } }
}
"""
DOCTORS = "hospital.interface.todayRegisterGetDoctors"


async def test_a_schedule_upload_drops_the_cached_schedules(
    hospital: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    async def read() -> None:
        body = await run_graphql(hospital, SESSIONS, department="5262")
        assert "errors" not in body, body.get("errors")
        assert body["data"]["hospital"]["todaySchedules"]

    await read()
    await read()
    assert len(calls(sim_admin, method=DOCTORS, hospitalId=OUR_HOSPITAL)) == 1  # the second read was cached
    await post(hospital, "21.1.4", example("21.1.4"))
    await read()
    assert len(calls(sim_admin, method=DOCTORS, hospitalId=OUR_HOSPITAL)) == 2  # asked the hospital again
    # A repeat that changes nothing, and a visit result, leave the cache alone.
    await post(hospital, "21.1.4", example("21.1.4"))
    await post(hospital, "21.1.6", example("21.1.6"))
    await read()
    assert len(calls(sim_admin, method=DOCTORS, hospitalId=OUR_HOSPITAL)) == 2
    # A stop drops it again.
    await post(hospital, "21.1.5", example("21.1.5"))
    await read()
    assert len(calls(sim_admin, method=DOCTORS, hospitalId=OUR_HOSPITAL)) == 3


VISIT_RESULTS = """
query ($hospitals: String!, $record: String) {
  operator { visitResults(hospitalId: $hospitals, recordId: $record) { hospitalId recordId state rawState } }
}
"""


async def test_visit_results_are_for_operators_only(hospital: httpx.AsyncClient) -> None:
    assert await post(hospital, "21.1.6", example("21.1.6")) == SUCCESS
    hospital.headers.pop("X-Hospital-Id")

    body = await run_graphql(hospital, VISIT_RESULTS, hospitals="253")
    assert body["data"] == {"operator": None}  # nobody signed in: that field alone (issue 15 item 13)
    assert body["errors"]

    sign_in_operator(hospital, role="region")
    body = await run_graphql(hospital, VISIT_RESULTS, hospitals="253,254")
    assert sorted(
        (r["hospitalId"], r["recordId"], r["state"], r["rawState"]) for r in body["data"]["operator"]["visitResults"]
    ) == [
        ("253", "29fef3f259104f9bb21bfb5a063ef6a1", "NO_SHOW", "3"),
        ("253", "a9fef3f259104f9bb21bfb5a063ef6a1", "CANCELLED", "4"),
    ]
    body = await run_graphql(hospital, VISIT_RESULTS, hospitals="253", record="29fef3f259104f9bb21bfb5a063ef6a1")
    assert [r["state"] for r in body["data"]["operator"]["visitResults"]] == ["NO_SHOW"]

    sign_in_operator(hospital, role="hospital", hospital_id="253")
    body = await run_graphql(hospital, VISIT_RESULTS, hospitals="253")
    assert len(body["data"]["operator"]["visitResults"]) == 2

    sign_in_operator(hospital, role="hospital", hospital_id="254")
    body = await run_graphql(hospital, VISIT_RESULTS, hospitals="253")
    assert body["data"] == {"operator": {"visitResults": None}}  # that field alone (issue 15 item 13)
    assert body["errors"][0]["extensions"]["code"] == "50001"


async def test_the_webservice_operation_answers_as_the_json_path(hospital: httpx.AsyncClient) -> None:
    inner = json.dumps(example("21.1.4"), ensure_ascii=False)
    envelope = (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:p="http://prefront.hisgraph/"><soapenv:Body>'
        f"<p:insertSchedule><param>{inner}</param></p:insertSchedule></soapenv:Body></soapenv:Envelope>"
    )
    response = await hospital.post(WEBSERVICE_PATH, content=envelope.encode(), headers={"Content-Type": "text/xml"})
    assert response.status_code == 200, response.text
    assert '{"success":true,"message":"","status":1}' in response.text
    assert [(r[1], r[2]) for r in await rows(hospital)] == [("schedule", "20190116|AM|268|中医科门诊")]
