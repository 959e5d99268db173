"""Each job against the simulated region queues the messages the spec describes, and a re-run of the
same slot (a takeover, an operator's retry) queues nothing new."""

from __future__ import annotations

from datetime import time
from typing import Any

import httpx
from sqlalchemy import delete

from his_clients.client import HisClient
from his_clients.models.inpatient import (
    HOSPITALIZATION_DEPOSIT_IS_LOWER_THAN,
    INPATIENT_LIST,
    HospitalizationDepositIsLowerThanRequest,
    InpatientListRequest,
)
from services.jobs import JobScheduler, RunReport
from services.surveys.links import SurveyLinks
from store.db import Database
from store.jobs import JobRun, JobRunState
from tests.conftest import calls, inject

from .conftest import SchedulerFactory, messages_of, spec


async def run_twice(db: Database, scheduler: JobScheduler) -> tuple[RunReport, RunReport]:
    """Run the due slot, forget the run, and run the same slot again (the first job's reports)."""
    first = await scheduler.tick()
    async with db.session() as session:
        await session.execute(delete(JobRun))
    second = await scheduler.tick()
    assert [r.state for r in first + second] == [JobRunState.SUCCEEDED] * len(scheduler.config.jobs) * 2
    assert [r.scheduled_for for r in second] == [r.scheduled_for for r in first]
    assert sum(r.queued for r in second) == 0
    return first[0], second[0]


def body_of(sim_admin: httpx.Client, method: str, hospital_id: str = "253") -> dict[str, Any]:
    [call, *_] = calls(sim_admin, method=method, hospitalId=hospital_id)
    body: dict[str, Any] = call["body"]
    return body


async def test_deposit_reminders_queue_one_11_2_1_message_per_patient_below_the_threshold(
    db: Database, make_scheduler: SchedulerFactory, his: HisClient, sim_admin: httpx.Client
) -> None:
    first, second = await run_twice(db, make_scheduler(spec("11.1.1"), deposit_threshold="500"))
    assert body_of(sim_admin, HOSPITALIZATION_DEPOSIT_IS_LOWER_THAN.name)["prePay"] == "500.00"
    expected = await his.call(
        HOSPITALIZATION_DEPOSIT_IS_LOWER_THAN,
        "253",
        HospitalizationDepositIsLowerThanRequest(pre_pay="500"),
        deadline=None,
    )
    assert expected, "the simulated hospital has inpatients in arrears"

    messages = await messages_of(db)
    assert (first.queued, second.queued) == (len(expected), 0)
    assert len(messages) == len(expected)
    by_stay = {m.payload["patInHosCode"]: m for m in messages}
    for row in expected:
        message = by_stay[row.admission_number]
        assert message.kind == "sendInsufficientDepositMsg"
        assert message.hospital_id == "253"
        assert message.medical_card_number == row.medical_card_number
        assert message.id_card_number == row.id_card
        assert message.dedupe_key == f"job:11.1.1:253:2026-03-10:adm:{row.admission_number}"
        # The 11.2.1 push's field names, so delivery words both alike.
        assert message.payload == {
            "sendWay": "",
            "medicalCardNumber": row.medical_card_number,
            "idCard": row.id_card,
            "patName": row.user_name,
            "patInHosCode": row.admission_number,
            "department": row.dept_name,
            "bedNumber": row.bed_number,
            "hospitalizationTime": row.pat_in_time,
            "prepayLeft": f"{row.balance:.2f}",
            "prepayLimit": "500.00",
        }


async def test_daily_bills_queue_a_notice_per_inpatient_of_yesterdays_bill(
    db: Database, make_scheduler: SchedulerFactory, his: HisClient
) -> None:
    first, second = await run_twice(db, make_scheduler(spec("12.1.1", at=time(7, 30), hospitals=("253", "256"))))
    messages = await messages_of(db)
    assert (first.queued, second.queued) == (len(messages), 0)
    for hospital_id in ("253", "256"):
        inpatients = await his.call(INPATIENT_LIST, hospital_id, InpatientListRequest(), deadline=None)
        mine = {m.payload["admissionNumber"]: m for m in messages if m.hospital_id == hospital_id}
        assert set(mine) == {row.admission_number for row in inpatients}
        for row in inpatients:
            message = mine[row.admission_number]
            assert message.kind == "dailyInpatientBill"
            assert message.dedupe_key == f"job:12.1.1:{hospital_id}:2026-03-09:adm:{row.admission_number}"
            # What 12.1.2 dailycost needs to show the list when the patient opens the message.
            assert message.payload == {
                "medicalCardNumber": row.medical_card_number,
                "idCard": row.id_card,
                "userName": row.user_name,
                "deptName": row.dept_name,
                "admissionNumber": row.admission_number,
                "bedNumber": row.bed_number,
                "date": "2026-03-09",
            }


async def test_revisit_reminders_ask_for_tomorrows_revisits_and_queue_send_revisit_msg(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client
) -> None:
    scheduler = make_scheduler(spec("19.2.1"), spec("19.2.2"), revisit_days_ahead=2)
    await run_twice(db, scheduler)
    for method in ("hospital.interface.hisSubsequentVisitPatient", "hospital.interface.physicalSubsequentVisitPatient"):
        assert body_of(sim_admin, method) == {
            "startTime": "2026-03-12 00:00:00",
            "endTime": "2026-03-12 23:59:59",
            "hospitalId": "253",
        }
    messages = await messages_of(db)
    assert [(m.kind, m.payload["source"]) for m in messages] == [
        ("sendRevisitMsg", "19.2.1"),
        ("sendRevisitMsg", "19.2.2"),
    ]
    clinic = messages[0]
    assert clinic.medical_card_number == "001000005200195"
    assert clinic.dedupe_key == "job:19.2.1:253:001000005200195|2021-07-22 13:25:26"
    assert clinic.payload == {
        "medicalCardNumber": "001000005200195",
        "idCard": "150303195208079346",
        "patientName": "张之路",
        "departmentName": "检验科",
        "doctorName": "华佗",
        "docCode": "A001",
        "revisitTime": "2021-07-22",
        "backTreatmentTime": "2021-07-22 13:25:26",
        "source": "19.2.1",
    }
    assert "phoneNo" not in clinic.payload  # not needed to remind anyone: not kept


async def test_outpatient_surveys_queue_one_invitation_per_visit_with_its_link(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client, links: SurveyLinks
) -> None:
    first, second = await run_twice(db, make_scheduler(spec("22.1.1", hospitals=("253", "256"))))
    assert body_of(sim_admin, "hospital.interface.satisfactionSurveyAfterDiagnosis_outaptient") == {
        "beginTime": "2026-03-09 00:00:00",
        "endTime": "2026-03-10 00:00:00",
        "hospitalId": "253",
    }
    messages = await messages_of(db)
    assert (first.queued, second.queued) == (4, 0)
    assert sorted(m.dedupe_key for m in messages) == [
        "22.2.1:253:20001|0",
        "22.2.1:253:20002|0",
        "22.2.1:256:20001|0",
        "22.2.1:256:20002|0",
    ]
    message = next(m for m in messages if m.hospital_id == "253" and m.payload["registerId"] == "20001")
    assert message.kind == "sendSatisfactionSurveyMessage"
    url = message.payload.pop("surveyUrl")
    assert message.payload == {
        "medicalCardNumber": "001000056254587",
        "idCard": "370102197907025236",
        "userName": "张三",
        "registerId": "20001",
        "questionnaireType": "0",
        "deptCode": "a001",
        "deptName": "消化内科",
        "docCode": "doc01",
        "docName": "华佗",
        "visitedTime": "2019-09-18 10:44:36",
    }
    assert url.startswith("https://gateway.example/survey/")
    invite = links.read(url.rsplit("/", 1)[1])
    assert (invite.hospital_id, invite.questionnaire_type, invite.visit_key) == ("253", "0", "20001")
    assert (invite.dept_name, invite.doctor_name) == ("消化内科", "华佗")
    assert "370102197907025236" not in url
    assert "001000056254587" not in url


async def test_discharge_surveys_queue_type_1_invitations_and_can_skip_unpaid_stays(
    db: Database, make_scheduler: SchedulerFactory, links: SurveyLinks
) -> None:
    [report] = await make_scheduler(spec("22.1.2"), surveys_only_paid=True).tick()
    [message] = await messages_of(db)
    assert report.queued == 1
    assert message.dedupe_key == "22.2.1:253:20001|1"
    assert message.medical_card_number is None  # the discharge list has none: found by ID number
    assert message.id_card_number == "370102197907025216"
    assert message.payload["questionnaireType"] == "1"
    assert message.payload["admissionNumber"] == "060508"
    assert message.payload["visitedTime"] == "2019-09-18 10:44:36"  # the discharge
    invite = links.read(message.payload["surveyUrl"].rsplit("/", 1)[1])
    assert (invite.questionnaire_type, invite.visit_key) == ("1", "20001")


async def test_no_data_from_a_hospital_is_an_empty_run_not_a_failure(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="253", method=INPATIENT_LIST.name, kind="code", code="10002")
    [report] = await make_scheduler(spec("12.1.1")).tick()
    assert (report.state, report.queued, report.failures) == (JobRunState.SUCCEEDED, 0, [])
