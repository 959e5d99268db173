"""11.1.1 low-deposit reminders and 12.1.1 one-day bill notices: the jobs over current inpatients.

11 住院押金不足提醒: every day we ask each hospital (11.1.1 hospitalizationDepositIsLowerThan) for the
inpatients whose deposit is below ``deposit_threshold`` and queue each a reminder shaped like the
11.2.1 push's (kind ``sendInsufficientDepositMsg``), so delivery words both the same way.
12 住院一日清单: every morning we ask (12.1.1 inpatientList) for everyone in hospital and queue each a
notice of the previous day's bill (kind ``dailyInpatientBill``); the payload holds what 12.1.2
dailycost needs to show the list when the patient opens it (card, ID number, admission number, date).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.models.base import render_money
from his_clients.models.inpatient import (
    HOSPITALIZATION_DEPOSIT_IS_LOWER_THAN,
    INPATIENT_LIST,
    HospitalizationDepositIsLowerThanRequest,
    InpatientListRequest,
)
from services.shims.ledger import NewMessage

from .context import Task, TaskContext, ask, person_key, present

DEPOSIT_KIND: Final = "sendInsufficientDepositMsg"
DAILY_BILL_KIND: Final = "dailyInpatientBill"


async def deposit_reminders(ctx: TaskContext) -> list[NewMessage]:
    """One reminder per inpatient below the threshold, once per day and stay."""
    threshold = ctx.config.deposit_threshold
    rows = await ask(
        ctx, HOSPITALIZATION_DEPOSIT_IS_LOWER_THAN, HospitalizationDepositIsLowerThanRequest(pre_pay=threshold)
    )
    messages = []
    for row in rows:
        who = person_key(admission_number=row.admission_number, card=row.medical_card_number, id_card=row.id_card)
        if who is None:
            continue
        payload = {
            "sendWay": "",
            **present(
                {
                    "medicalCardNumber": row.medical_card_number,
                    "idCard": row.id_card,
                    "patName": row.user_name,
                    "patInHosCode": row.admission_number,
                    "department": row.dept_name,
                    "bedNumber": row.bed_number,
                    "hospitalizationTime": row.pat_in_time,
                    "prepayLeft": render_money(row.balance),
                    "prepayLimit": render_money(threshold),
                }
            ),
        }
        messages.append(
            NewMessage(
                kind=DEPOSIT_KIND,
                medical_card_number=row.medical_card_number or None,
                id_card_number=row.id_card or None,
                payload=payload,
                dedupe_key=f"job:11.1.1:{ctx.hospital_id}:{ctx.day.isoformat()}:{who}",
            )
        )
    return messages


async def daily_bills(ctx: TaskContext) -> list[NewMessage]:
    """One notice per current inpatient of the bill of the day before the slot's day."""
    bill_day = (ctx.day - timedelta(days=1)).isoformat()
    rows = await ask(ctx, INPATIENT_LIST, InpatientListRequest())
    messages = []
    for row in rows:
        who = person_key(admission_number=row.admission_number, card=row.medical_card_number, id_card=row.id_card)
        if who is None:
            continue
        payload = present(
            {
                "medicalCardNumber": row.medical_card_number,
                "idCard": row.id_card,
                "userName": row.user_name,
                "deptName": row.dept_name,
                "admissionNumber": row.admission_number,
                "bedNumber": row.bed_number,
                "date": bill_day,
            }
        )
        messages.append(
            NewMessage(
                kind=DAILY_BILL_KIND,
                medical_card_number=row.medical_card_number or None,
                id_card_number=row.id_card or None,
                payload=payload,
                dedupe_key=f"job:12.1.1:{ctx.hospital_id}:{bill_day}:{who}",
            )
        )
    return messages


DEPOSIT_REMINDERS: Final = Task("11.1.1", HOSPITALIZATION_DEPOSIT_IS_LOWER_THAN, deposit_reminders)
DAILY_BILLS: Final = Task("12.1.1", INPATIENT_LIST, daily_bills)
