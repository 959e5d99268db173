"""19.2.1 / 19.2.2 revisit reminders, polled (复诊提醒（定时任务模式）).

Every day we ask each hospital for the patients due back ``revisit_days_ahead`` days after the slot's
day (19.2.1 hisSubsequentVisitPatient for clinics, 19.2.2 physicalSubsequentVisitPatient for check-ups)
and queue each a ``sendRevisitMsg``, the kind of the 19.1.8 push, with the push's field names. A
revisit is reminded once whatever the window: its key is the card and the revisit's time.

19.1.8 (院内主动调用模式) needs nothing here: the hospital calls our push when it chooses, and the
message is queued at once (api/shims/messages.py). Its "在指定日期内推送" is the hospital choosing the
day it calls; the spec gives no send-at field.

The spec's reply example is a single object; a hospital returning a list (the natural reading of
"患者信息") is read as well: the generator types both methods' replies as ``List[...]``
(scripts/gen_his_models.py's REPLY_OVERRIDES), which reads one object or several.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from his_clients.models.revisits import (
    HIS_SUBSEQUENT_VISIT_PATIENT,
    PHYSICAL_SUBSEQUENT_VISIT_PATIENT,
    HisSubsequentVisitPatientRequest,
    PhysicalSubsequentVisitPatientRequest,
)
from services.shims.ledger import NewMessage

from .context import Task, TaskContext, ask, identity, present

REVISIT_KIND: Final = "sendRevisitMsg"


def _window(ctx: TaskContext) -> tuple[str, str]:
    day = (ctx.day + timedelta(days=ctx.config.revisit_days_ahead)).isoformat()
    return f"{day} 00:00:00", f"{day} 23:59:59"


def _messages(ctx: TaskContext, section: str, rows: list[Any]) -> list[NewMessage]:
    messages = []
    for row in rows:
        if not row.out_card_no or not row.back_treatment_time:
            continue
        payload = present(
            {
                "medicalCardNumber": row.out_card_no,
                "idCard": row.id_card,
                "patientName": row.pat_name,
                "departmentName": row.dept_name,
                "doctorName": row.doc_name,
                "docCode": row.doc_code,
                "revisitTime": row.back_treatment_time[:10],
                "backTreatmentTime": row.back_treatment_time,
                "source": section,
            }
        )
        messages.append(
            NewMessage(
                kind=REVISIT_KIND,
                medical_card_number=row.out_card_no,
                id_card_number=row.id_card or None,
                payload=payload,
                dedupe_key=f"job:{section}:{ctx.hospital_id}:{identity(row.out_card_no, row.back_treatment_time)}",
            )
        )
    return messages


async def clinic_revisits(ctx: TaskContext) -> list[NewMessage]:
    start, end = _window(ctx)
    rows = await ask(
        ctx, HIS_SUBSEQUENT_VISIT_PATIENT, HisSubsequentVisitPatientRequest(start_time=start, end_time=end)
    )
    return _messages(ctx, "19.2.1", rows)


async def checkup_revisits(ctx: TaskContext) -> list[NewMessage]:
    start, end = _window(ctx)
    rows = await ask(
        ctx, PHYSICAL_SUBSEQUENT_VISIT_PATIENT, PhysicalSubsequentVisitPatientRequest(start_time=start, end_time=end)
    )
    return _messages(ctx, "19.2.2", rows)


CLINIC_REVISIT_REMINDERS: Final = Task("19.2.1", HIS_SUBSEQUENT_VISIT_PATIENT, clinic_revisits)
CHECKUP_REVISIT_REMINDERS: Final = Task("19.2.2", PHYSICAL_SUBSEQUENT_VISIT_PATIENT, checkup_revisits)
