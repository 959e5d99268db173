"""The hospital graph over GraphQL: departments -> schedules -> doctors -> slots, and what else a hospital offers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from api.settings import Settings
from his_clients.registry import Registry
from tests.conftest import calls, inject, run_graphql, running_gateway

OPERATIONS = Path(__file__).parent / "operations"
DEPTS = "hospital.interface.todayRegisterGetDepts"
DOCTORS = "hospital.interface.todayRegisterGetDoctors"
REMAIN = "hospital.interface.todayRegisterGetRemain"
LAB_SCHEDULE = "hospital.interface.projectAppt.getProjectSchedule"
NUMBER_SOURCE = "hospital.interface.projectAppt.getNumberSource"


async def test_the_sample_operation_answers_without_errors(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    body = await run_graphql(gateway, (OPERATIONS / "schedules.graphql").read_text(encoding="utf-8"))
    assert "errors" not in body, body.get("errors")
    data = body["data"]
    assert [h["id"] for h in data["hospitals"]] == ["253", "256"]


SCHEDULES = """
query ($hospitals: String!, $department: ID!) {
  hospitals(hospitalId: $hospitals) {
    id
    todayDepartment(id: $department) {
      id
      name
      schedules {
        registersToDepartment
        displayName
        registrationFee
        clinicTypeId
        doctor { id name }
        slots { slotId from to remaining halfDay }
      }
    }
  }
}
"""


async def test_department_doctor_slot_graph_at_several_hospitals(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(gateway, SCHEDULES, hospitals="253,254,256", department="5262")
    assert "errors" not in body, body.get("errors")
    hospitals = body["data"]["hospitals"]
    assert [h["id"] for h in hospitals] == ["253", "254", "256"]
    for hospital in hospitals:
        department = hospital["todayDepartment"]
        assert department["name"] == "心内科"
        doctors = {s["doctor"]["id"] for s in department["schedules"] if s["doctor"]}
        assert {"326523", "2003"} <= doctors  # the spec's example doctors of 心内科
        for schedule in department["schedules"]:
            assert schedule["registersToDepartment"] is False
            assert schedule["displayName"] == schedule["doctor"]["name"]
            assert schedule["slots"], schedule
            assert all(slot["remaining"] > 0 for slot in schedule["slots"])
            for slot in schedule["slots"]:
                assert slot["from"].endswith("+08:00"), slot  # an instant today, Beijing time
                assert slot["slotId"].startswith("s1.")
    # One 20.1.1 and one 20.1.2 per hospital; one 20.1.3 per schedule, each naming its doctor.
    for hospital_id in ("253", "254", "256"):
        assert len(calls(sim_admin, method=DEPTS, hospitalId=hospital_id)) == 1
        assert len(calls(sim_admin, method=DOCTORS, hospitalId=hospital_id)) == 1
    remains = calls(sim_admin, method=REMAIN)
    assert len(remains) == sum(len(h["todayDepartment"]["schedules"]) for h in hospitals)
    assert all(c["body"].get("doctorId") for c in remains)


async def test_a_schedule_without_a_doctor_is_registration_to_the_department(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(gateway, SCHEDULES, hospitals="253,257", department="pfk")
    assert "errors" not in body, body.get("errors")
    for hospital in body["data"]["hospitals"]:
        schedules = hospital["todayDepartment"]["schedules"]
        [desk] = [s for s in schedules if s["registersToDepartment"]]
        assert desk["doctor"] is None
        assert desk["displayName"] == "皮肤科"  # the page shows the department where a doctor would be
        assert desk["registrationFee"] == "5.00"
        assert desk["slots"]
        assert any(s["doctor"] for s in schedules)  # the department's doctors are listed beside it
    desk_remains = [c for c in calls(sim_admin, method=REMAIN) if not c["body"].get("doctorId")]
    assert {c["body"]["departmentId"] for c in desk_remains} == {"pfk"}
    assert len(desk_remains) == 2  # one per hospital, asked without a doctor


DEPARTMENTS = "query ($hospitals: String!) { hospitals(hospitalId: $hospitals) { id name todayDepartments { id } } }"


async def test_a_failing_hospital_nulls_only_its_own_fields(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="254", method=DEPTS, kind="code", code="60101", msg="科室维护中")
    body = await run_graphql(gateway, DEPARTMENTS, hospitals="253,254,256")
    first, failing, regional = body["data"]["hospitals"]
    assert first["todayDepartments"]
    assert regional["todayDepartments"]
    assert failing == {"id": "254", "name": failing["name"], "todayDepartments": None}
    [error] = body["errors"]
    assert error["path"] == ["hospitals", 1, "todayDepartments"]
    assert error["extensions"] == {"hospitalId": "254", "code": "60101", "method": DEPTS}


async def test_no_data_is_an_empty_list(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=DEPTS, kind="code", code="10002", msg="未查询到数据")
    body = await run_graphql(gateway, DEPARTMENTS, hospitals="253,254")
    assert "errors" not in body
    nothing, some = body["data"]["hospitals"]
    assert nothing["todayDepartments"] == []
    assert some["todayDepartments"]


async def test_one_level_departments_are_their_own_department(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(
        gateway, '{ hospital(hospitalId: "253") { todayDepartments { id name departments { id name } } } }'
    )
    groups = {g["id"]: g for g in body["data"]["hospital"]["todayDepartments"]}
    assert [d["id"] for d in groups["nk"]["departments"]] == ["sjnk", "xnk", "xhnk", "hxnk"]
    assert all(g["departments"] for g in groups.values())


async def test_a_hundred_concurrent_department_queries_make_one_call_per_hospital(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> None:
    # A hundred requests at once on a loaded 2-core machine: the deadline is wide, since this proves how many
    # calls reach the hospitals, not how fast (a 1.5 s deadline once ran out in our own loop: GATEWAY_BUSY).
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", registry=region, request_deadline_s=60
    )
    async with running_gateway(settings) as gateway:
        await _hundred_department_queries(gateway, sim_admin)


async def _hundred_department_queries(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    hospitals = "253,254,255,256,257"
    bodies = await asyncio.gather(*(run_graphql(gateway, DEPARTMENTS, hospitals=hospitals) for _ in range(100)))
    for body in bodies:
        assert "errors" not in body
        assert all(h["todayDepartments"] for h in body["data"]["hospitals"])
    made = calls(sim_admin, method=DEPTS)
    assert sorted(c["hospitalId"] for c in made) == ["253", "254", "255", "256", "257"]
    # And the next rush is answered from the cache: the hospitals see nothing more.
    await run_graphql(gateway, DEPARTMENTS, hospitals=hospitals)
    assert len(calls(sim_admin, method=DEPTS)) == 5


APPOINTMENT_SESSION = """
{
  hospital(hospitalId: "253") {
    appointmentSession(departmentId: "3", doctorId: "2298", date: "2019-11-16", halfDay: MORNING) {
      date
      halfDay
      slots { slotId from capacity booked remaining }
      surcharge(medicalCardNumber: "001000056254587", patientName: "张三")
    }
  }
}
"""


async def test_appointment_session_slots_and_surcharge(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    body = await run_graphql(gateway, APPOINTMENT_SESSION)
    assert "errors" not in body, body.get("errors")
    session = body["data"]["hospital"]["appointmentSession"]
    assert session["date"] == "2019-11-16"
    assert session["slots"]
    for slot in session["slots"]:
        assert slot["remaining"] == slot["capacity"] - slot["booked"]
        assert slot["from"].startswith("2019-11-16T")
        assert slot["from"].endswith("+08:00")
    assert session["surcharge"] == "0.00"  # 21.2.5: "不需要附加返回0" for this doctor
    [remain] = calls(sim_admin, method="hospital.interface.remainApp")
    assert remain["body"]["scheduleDate"] == "20191116"
    assert remain["body"]["amPm"] == "AM"
    [asked] = calls(sim_admin, method="hospital.interface.querySurcharge")
    assert (asked["body"]["deptCode"], asked["body"]["docCode"], asked["body"]["amPm"]) == ("3", "2298", "AM")


SURCHARGED_SESSION = """
{
  hospital(hospitalId: "253") {
    appointmentSession(departmentId: "2312", doctorId: "3312", date: "2019-02-25", halfDay: MORNING) {
      surcharge(medicalCardNumber: "001000056254587", patientName: "张三")
    }
  }
}
"""


async def test_a_surcharge_the_hospital_names_is_shown(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """21.2.5's own example (deptCode 2312, docCode 3312): the simulated hospital answers its 5, read as 5.00."""
    body = await run_graphql(gateway, SURCHARGED_SESSION)
    assert "errors" not in body, body.get("errors")
    assert body["data"]["hospital"]["appointmentSession"]["surcharge"] == "5.00"
    [asked] = calls(sim_admin, method="hospital.interface.querySurcharge")
    assert (asked["body"]["scheduleDate"], asked["body"]["docCode"]) == ("20190225", "3312")


LAB = """
{ hospital(hospitalId: "253") { labProjects { id schedules { id unlimited numberSources { slotId remaining } } } } }
"""


async def test_unlimited_lab_schedules_are_not_asked_for_number_sources(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(gateway, LAB)
    assert "errors" not in body, body.get("errors")
    schedules: list[dict[str, Any]] = [s for p in body["data"]["hospital"]["labProjects"] for s in p["schedules"]]
    limited = [s for s in schedules if not s["unlimited"]]
    unlimited = [s for s in schedules if s["unlimited"]]
    assert limited
    assert unlimited
    assert all(s["numberSources"] == [] for s in unlimited)
    asked = {c["body"]["schedulingId"] for c in calls(sim_admin, method=NUMBER_SOURCE)}
    assert asked == {s["id"] for s in limited}


async def test_a_hanging_hospital_costs_only_its_own_fields(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="255", method=DEPTS, kind="hang")
    started = time.monotonic()
    body = await run_graphql(gateway, DEPARTMENTS, hospitals="253,255,257")
    # A hanging hospital is cut by its own 2 s timeout (the region's); a generous margin, not a benchmark.
    assert time.monotonic() - started < 2.0 + 2.0
    first, hanging, regional = body["data"]["hospitals"]
    assert first["todayDepartments"]
    assert regional["todayDepartments"]
    assert hanging["todayDepartments"] is None
    [error] = body["errors"]
    assert error["extensions"]["hospitalId"] == "255"
    assert error["extensions"]["code"] == "HIS_TIMEOUT"
