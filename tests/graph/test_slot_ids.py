"""Opaque slot ids (issue 12 item 8): every bookable slot answers a slotId carrying what its booking needs,
which this deployment alone can make, and which reads back to exactly what the slot showed."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from resolvers.schedules.slot_ids import SlotIds, SlotKind, SlotRef
from services.refusals import RefusalCode, Refused
from tests.conftest import calls, run_graphql


def slot_ids_of(gateway: httpx.AsyncClient) -> SlotIds:
    ids: SlotIds = gateway._transport.app.state.services.slot_ids  # type: ignore[attr-defined]
    return ids


def test_an_id_reads_back_to_what_it_was_made_of() -> None:
    ids = SlotIds(b"a deployment secret")
    ref = SlotRef(SlotKind.APPOINTMENT, "253", {"date": "2019-11-16", "half_day": "AM", "his_time_id": "7"})
    slot_id = ids.encode(ref)
    assert ids.decode(slot_id) == ref
    assert ids.encode(ref) == slot_id  # the same slot always gets the same id
    assert ids.decode(slot_id).half_day is not None
    assert ids.decode(slot_id).day is not None


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda good: good[:-2] + ("AA" if not good.endswith("AA") else "BB"), id="mac edited"),
        pytest.param(lambda good: "s1.e30.AAAAAAAAAAAAAAAAAAAAAA", id="made up"),
        pytest.param(lambda good: "", id="empty"),
        pytest.param(lambda good: "s2" + good[2:], id="other version"),
        pytest.param(lambda good: good + "." + "x" * 3000, id="too long"),
        pytest.param(lambda good: SlotIds(b"another deployment").encode(_REF), id="foreign"),
    ],
)
def test_an_id_this_deployment_did_not_make_is_refused(forge: Any) -> None:
    ids = SlotIds(b"a deployment secret")
    with pytest.raises(Refused) as refused:
        ids.decode(forge(ids.encode(_REF)))
    assert refused.value.code is RefusalCode.PARAMETER_FORMAT
    assert refused.value.field == "slotId"


def test_an_edited_body_is_refused_even_with_a_readable_payload() -> None:
    ids = SlotIds(b"a deployment secret")
    version, body, mac = ids.encode(_REF).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["h"] = "254"  # another hospital, same everything else
    edited = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    with pytest.raises(Refused):
        ids.decode(f"{version}.{edited}.{mac}")


_REF: SlotRef = SlotRef(SlotKind.LAB, "253", {"scheduling_id": "1", "source_id": "2"})

TODAY = """
{ hospital(hospitalId: "253") { todayDepartment(id: "5262") { schedules {
    clinicTypeId slotId doctor { id } slots { slotId from halfDay serialNumber }
} } } }
"""


async def test_a_today_slot_names_its_schedule_slot_and_day(gateway: httpx.AsyncClient, sim_admin: Any) -> None:
    body = await run_graphql(gateway, TODAY)
    assert "errors" not in body, body.get("errors")
    ids = slot_ids_of(gateway)
    schedule = body["data"]["hospital"]["todayDepartment"]["schedules"][0]
    own = ids.decode(schedule["slotId"])
    assert own.kind is SlotKind.TODAY_REGISTRATION
    assert own.hospital_id == "253"
    assert own.fields["department_id"] == "5262"
    assert own.fields["doctor_id"] == schedule["doctor"]["id"]
    assert own.fields["clinic_type_id"] == schedule["clinicTypeId"]
    assert "sequence" not in own.fields
    slot = schedule["slots"][0]
    ref = ids.decode(slot["slotId"])
    assert {k: v for k, v in ref.fields.items() if k in own.fields} == own.fields
    assert ref.day is not None
    assert slot["from"].startswith(ref.day.isoformat())
    assert ref.half_day is not None
    assert ref.half_day.name == slot["halfDay"]
    assert ref.fields["sequence"]  # 20.1.3's slot code, which 20.1.7 sends back
    assert calls(sim_admin, method="hospital.interface.todayRegisterGetRemain")


APPOINTMENT = """
{ hospital(hospitalId: "253") {
    appointmentSession(departmentId: "3", doctorId: "2298", date: "2019-11-16", halfDay: MORNING) {
      slots { slotId from serialNumber }
    }
} }
"""


async def test_an_appointment_slot_names_hospital_code_day_half_day_and_slot(gateway: httpx.AsyncClient) -> None:
    body = await run_graphql(gateway, APPOINTMENT)
    assert "errors" not in body, body.get("errors")
    ids = slot_ids_of(gateway)
    slots = body["data"]["hospital"]["appointmentSession"]["slots"]
    assert slots
    refs = [ids.decode(s["slotId"]) for s in slots]
    assert len({s["slotId"] for s in slots}) == len(slots)  # one id per slot
    for slot, ref in zip(slots, refs, strict=True):
        assert ref.kind is SlotKind.APPOINTMENT
        assert (ref.hospital_id, ref.fields["department_id"], ref.fields["doctor_id"]) == ("253", "3", "2298")
        assert ref.fields["date"] == "2019-11-16"
        assert ref.fields["half_day"] == "AM"
        assert ref.fields["hos_code"]
        hour, minute = (int(part) for part in ref.fields["start_time"].split(":"))
        assert slot["from"] == f"2019-11-16T{hour:02d}:{minute:02d}:00+08:00"
        assert ref.text("serial_number") == slot["serialNumber"]


OTHERS = """
{ hospital(hospitalId: "253") {
    bookableExams(medicalCardNumber: "001000056254587") {
      id days(from: "2020-06-06", to: "2020-06-06") { date rooms { id timeSlots { slotId name } } }
    }
    labProjects { id schedules { id slotId unlimited numberSources { slotId } } }
    physicalExamTimes(medicalCardNumber: "001000056254587", idCardNumber: "370102197907025236", date: "2020-04-07") {
      slotId at
    }
    selfOrderDates(medicalCardNumber: "001000056254587", selection: [{groupId: "26", itemIds: ["36", "37"]}]) {
      slotId date
    }
} }
"""


async def test_every_other_bookable_slot_answers_its_own_kind_of_id(gateway: httpx.AsyncClient) -> None:
    body = await run_graphql(gateway, OTHERS)
    assert "errors" not in body, body.get("errors")
    ids = slot_ids_of(gateway)
    hospital = body["data"]["hospital"]
    exam = hospital["bookableExams"][0]
    room = exam["days"][0]["rooms"][0]
    period = ids.decode(room["timeSlots"][0]["slotId"])
    assert period.kind is SlotKind.EXAM
    assert (period.fields["exam_id"], period.fields["room_id"], period.fields["date"]) == (
        exam["id"],
        room["id"],
        exam["days"][0]["date"],  # the day the hospital answered (the simulator's example days)
    )
    assert period.fields["time_slot_name"] == room["timeSlots"][0]["name"]
    schedules = [s for p in hospital["labProjects"] for s in p["schedules"]]
    limited = next(s for s in schedules if not s["unlimited"])
    source = ids.decode(limited["numberSources"][0]["slotId"])
    assert source.kind is SlotKind.LAB
    assert (source.fields["scheduling_id"], bool(source.fields["source_id"])) == (limited["id"], True)
    whole = ids.decode(next(s for s in schedules if s["unlimited"])["slotId"])
    assert "source_id" not in whole.fields
    time = hospital["physicalExamTimes"][0]
    booked_at = ids.decode(time["slotId"])
    assert booked_at.kind is SlotKind.PHYSICAL_EXAM
    assert time["at"].startswith(f"{booked_at.fields['date']}T{booked_at.fields['time']}")
    day = hospital["selfOrderDates"][0]
    picked = ids.decode(day["slotId"])
    assert picked.kind is SlotKind.SELF_ORDER
    assert picked.fields == {"date": day["date"], "groups": {"26": ["36", "37"]}}
