"""22.1.1 / 22.1.2 satisfaction surveys: one invitation per outpatient visit and per discharge.

Every day we ask each hospital for the previous day's outpatients (22.1.1, questionnaireType 0) and
discharged inpatients (22.1.2, type 1), the window the spec's example shows (00:00:00 to the next day's
00:00:00), and queue each a ``sendSatisfactionSurveyMessage`` with 22.2.1's field names and a signed
link to the survey page (``surveyUrl``).

The message's key is the one the 22.2.1 push gives the same visit (``22.2.1:{hospital}:{registerId}|{type}``),
so a hospital that both pushes and is polled surveys a visit once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from his_clients.models.surveys import (
    SATISFACTION_SURVEY_AFTER_DIAGNOSIS_INPATIENT,
    SATISFACTION_SURVEY_AFTER_DIAGNOSIS_OUTPATIENT,
    SatisfactionSurveyAfterDiagnosisInpatientRequest,
    SatisfactionSurveyAfterDiagnosisOutpatientRequest,
)
from services.shims.ledger import NewMessage
from services.surveys.links import SurveyInvite

from .context import Task, TaskContext, ask, identity, present

SURVEY_KIND: Final = "sendSatisfactionSurveyMessage"


def survey_message_key(hospital_id: str, visit_key: str, questionnaire_type: str) -> str:
    """The outbox key of a visit's survey message, the same as the 22.2.1 push's."""
    return f"22.2.1:{hospital_id}:{identity(visit_key, questionnaire_type)}"


def _window(ctx: TaskContext) -> tuple[str, str]:
    return f"{ctx.day - timedelta(days=1)} 00:00:00", f"{ctx.day} 00:00:00"


def _wanted(ctx: TaskContext, row: Any) -> bool:
    return not ctx.config.surveys_only_paid or row.is_paid == "1"


def _message(ctx: TaskContext, invite: SurveyInvite, fields: dict[str, Any]) -> NewMessage:
    payload = present({**fields, "surveyUrl": ctx.survey_links.url(invite)})
    return NewMessage(
        kind=SURVEY_KIND,
        medical_card_number=fields.get("medicalCardNumber") or None,
        id_card_number=fields.get("idCard") or None,
        payload=payload,
        dedupe_key=survey_message_key(ctx.hospital_id, invite.visit_key, invite.questionnaire_type),
    )


async def outpatient_surveys(ctx: TaskContext) -> list[NewMessage]:
    begin, end = _window(ctx)
    request = SatisfactionSurveyAfterDiagnosisOutpatientRequest(begin_time=begin, end_time=end)
    rows = await ask(ctx, SATISFACTION_SURVEY_AFTER_DIAGNOSIS_OUTPATIENT, request)
    messages = []
    for row in rows:
        if not row.register_id or not _wanted(ctx, row):
            continue
        invite = SurveyInvite(
            hospital_id=ctx.hospital_id,
            questionnaire_type="0",
            visit_key=row.register_id,
            dept_code=row.dept_code,
            dept_name=row.dept_name,
            doctor_code=row.doc_code,
            doctor_name=row.doc_name,
            visited_time=row.register_time,
        )
        fields = {
            "medicalCardNumber": row.medical_card_number,
            "idCard": row.id_card,
            "userName": row.patient_name,
            "registerId": row.register_id,
            "questionnaireType": "0",
            "deptCode": row.dept_code,
            "deptName": row.dept_name,
            "docCode": row.doc_code,
            "docName": row.doc_name,
            "visitedTime": row.register_time,
        }
        messages.append(_message(ctx, invite, fields))
    return messages


async def discharge_surveys(ctx: TaskContext) -> list[NewMessage]:
    begin, end = _window(ctx)
    request = SatisfactionSurveyAfterDiagnosisInpatientRequest(begin_time=begin, end_time=end)
    rows = await ask(ctx, SATISFACTION_SURVEY_AFTER_DIAGNOSIS_INPATIENT, request)
    messages = []
    for row in rows:
        if not row.in_hospital_id or not _wanted(ctx, row):
            continue
        invite = SurveyInvite(
            hospital_id=ctx.hospital_id,
            questionnaire_type="1",
            visit_key=row.in_hospital_id,
            dept_code=row.dept_code,
            dept_name=row.dept_name,
            doctor_code=row.doc_code,
            doctor_name=row.doc_name,
            visited_time=row.out_hospital_time,
        )
        # 22.2.1 asks for the ID number on an inpatient survey; the discharge list has no card number.
        fields = {
            "idCard": row.id_card,
            "userName": row.patient_name,
            "registerId": row.in_hospital_id,
            "admissionNumber": row.admission_number,
            "questionnaireType": "1",
            "deptCode": row.dept_code,
            "deptName": row.dept_name,
            "docCode": row.doc_code,
            "docName": row.doc_name,
            "visitedTime": row.out_hospital_time,
        }
        messages.append(_message(ctx, invite, fields))
    return messages


OUTPATIENT_SURVEYS: Final = Task("22.1.1", SATISFACTION_SURVEY_AFTER_DIAGNOSIS_OUTPATIENT, outpatient_surveys)
DISCHARGE_SURVEYS: Final = Task("22.1.2", SATISFACTION_SURVEY_AFTER_DIAGNOSIS_INPATIENT, discharge_surveys)
