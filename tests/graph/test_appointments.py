"""The patient's appointments and queues over GraphQL, across hospitals."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import calls, inject, run_graphql

OPERATIONS = Path(__file__).parent / "operations"
ALL = "253,254,255,256,257"
CARD = "001000056254587"
LINE_INFO = "hospital.interface.queryLineInfo"
SCHEDULE_INFO = "hospital.interface.appointment.getScheduleInfo"
PACS_QUEUE = "hospital.interface.appointment.getPacsContentList"
BOOKED_VISITS = "hospital.interface.getAppointmentDoctors"
VISIT_QUEUE = "hospital.interface.appointmentQueryLineInfo"


async def test_the_sample_operation_answers_for_every_hospital(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(gateway, (OPERATIONS / "appointments.graphql").read_text(encoding="utf-8"))
    assert "errors" not in body, body.get("errors")
    patient, queues = body["data"]["patient"], body["data"]["queues"]
    for entries in (*patient.values(), *queues.values()):
        assert [e["hospitalId"] for e in entries] == ALL.split(",")


QUEUES = """
query ($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    triageQueue(hospitalId: $hospitals, doctorId: "2003", roomId: "1") {
      hospitalId queued queueNumber waitingAhead roomName
    }
    registrationQueue(
      hospitalId: $hospitals, todayRegisterId: "d6deb60352044472895a6d48172de9e4", departmentId: "228"
    ) {
      hospitalId queued queueNumber waitingAhead
    }
    examQueues(hospitalId: $hospitals) { hospitalId entries { queueNumber waitingAhead roomName triagedAt } }
  }
}
"""


async def test_queues_across_hospitals_with_one_failing(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="255", method=LINE_INFO, kind="code", code="20215", msg="就诊卡不存在")
    body = await run_graphql(gateway, QUEUES, card=CARD, hospitals=ALL)
    patient = body["data"]["patient"]
    triage = patient["triageQueue"]
    assert triage[2] is None
    assert [e["hospitalId"] for e in triage if e] == ["253", "254", "256", "257"]
    assert all(e["queued"] and e["waitingAhead"] is not None for e in triage if e)
    [error] = body["errors"]
    assert error["path"] == ["patient", "triageQueue", 2]
    assert error["extensions"] == {"hospitalId": "255", "code": "20215", "method": LINE_INFO}
    # The other queues of the same hospital still answer.
    assert patient["registrationQueue"][2] == {
        "hospitalId": "255",
        "queued": True,
        "queueNumber": "A12",
        "waitingAhead": patient["registrationQueue"][2]["waitingAhead"],
    }
    assert all(len(e["entries"]) >= 1 for e in patient["examQueues"])
    assert len(calls(sim_admin, method=LINE_INFO)) == 5


async def test_no_data_is_an_empty_entry_not_an_error(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    for method in (LINE_INFO, PACS_QUEUE):
        inject(sim_admin, hospitalId="254", method=method, kind="code", code="10002", msg="未查询到数据")
    body = await run_graphql(gateway, QUEUES, card=CARD, hospitals="253,254")
    assert "errors" not in body, body["errors"]
    patient = body["data"]["patient"]
    queued, not_queued = patient["triageQueue"]
    assert queued["queued"] is True
    assert not_queued == {
        "hospitalId": "254",
        "queued": False,
        "queueNumber": None,
        "waitingAhead": None,
        "roomName": None,
    }
    assert patient["examQueues"][1] == {"hospitalId": "254", "entries": []}


EXAMS = """
query ($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    examAppointments(hospitalId: $hospitals, from: "2020-06-06", to: "2060-06-08") {
      hospitalId
      appointments { id status statusCode examName date timeSlotName canChange canRegisterOnline }
    }
  }
}
"""


async def test_exam_appointments_across_hospitals(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="256", method=SCHEDULE_INFO, kind="code", code="10002", msg="未查询到数据")
    body = await run_graphql(gateway, EXAMS, card=CARD, hospitals="253,256,257")
    assert "errors" not in body, body.get("errors")
    first, empty, regional = body["data"]["patient"]["examAppointments"]
    assert empty == {"hospitalId": "256", "appointments": []}
    for entry in (first, regional):
        [appointment] = entry["appointments"]
        assert appointment["id"] == "7946"
        assert appointment["statusCode"] == "1"
        assert appointment["status"] == "CANCELLED"
        assert appointment["canChange"] is False
    [asked] = [c for c in calls(sim_admin, method=SCHEDULE_INFO) if c["hospitalId"] == "253"]
    assert asked["body"]["startDate"] == "2020-06-06"
    assert asked["body"]["medicalCardNumber"] == CARD


VISITS = """
query ($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    bookedVisits(hospitalId: $hospitals) {
      hospitalId
      visits { departmentId doctorId appointmentTime triaged triagedAt queue { queued queueNumber waitingAhead } }
    }
  }
}
"""


async def test_booked_visits_lead_to_their_queues(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    body = await run_graphql(gateway, VISITS, card=CARD, hospitals="253,257")
    assert "errors" not in body, body.get("errors")
    for entry in body["data"]["patient"]["bookedVisits"]:
        triaged = [v for v in entry["visits"] if v["triaged"]]
        waiting = [v for v in entry["visits"] if not v["triaged"]]
        assert triaged
        assert waiting  # the spec asks hospitals to keep triaged and untriaged visits apart
        assert all(v["triagedAt"] is None for v in waiting)
        assert all(v["triagedAt"].endswith("+08:00") for v in triaged)
        assert all(v["appointmentTime"].endswith("+08:00") for v in entry["visits"])
        assert all(v["queue"]["queued"] for v in triaged)
    # Both visits name the same department and doctor: the loader asks each hospital once for them.
    assert sorted(c["hospitalId"] for c in calls(sim_admin, method=VISIT_QUEUE)) == ["253", "257"]
    assert len(calls(sim_admin, method=BOOKED_VISITS)) == 2


async def test_a_place_in_a_queue_is_how_many_wait_ahead(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """15.1.3 writes the patient's place (当前排队名次); 20.1.9 writes how many wait ahead (前面等待人数): both
    read as waitingAhead, the place less one."""
    body = await run_graphql(gateway, QUEUES, card=CARD, hospitals="253")
    assert "errors" not in body, body.get("errors")
    patient = body["data"]["patient"]
    [triage] = patient["triageQueue"]
    assert triage["waitingAhead"] == 3  # the spec's example (15.1.3): place 4, so three wait ahead
    [registration] = patient["registrationQueue"]
    assert registration["waitingAhead"] >= 0  # 20.1.9 writes how many wait ahead: taken as sent


async def test_a_reversed_window_is_refused_before_any_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    reversed_window = EXAMS.replace('from: "2020-06-06", to: "2060-06-08"', 'from: "2020-06-08", to: "2020-06-06"')
    body = await run_graphql(gateway, reversed_window, card=CARD, hospitals="253")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "20004"
    assert not calls(sim_admin, method=SCHEDULE_INFO)
