"""The slotIds the payment tests book with: made by the app's own SlotIds, as its slots would answer them.

A mutation text names ``$todaySlot`` (hospital 253's doctor 511, clinic type 1082-286968, slot 2 this morning) or
``$appointmentSlot`` (253's doctor 256654 of department 0256 on 2025-12-03 at 08:15, the session
tests/payments/conftest.py's upload_schedule uploads; ``$unuploadedSlot`` is the day after, never uploaded),
``$physicalExamSlot`` (package 801 on 2025-12-03 at 08:00), ``$labSlot`` (project 12, schedule 26, source 123) or
``$selfOrderSlot`` (groups 26 (item 36) and 65 on 2020-10-16);
``slot_variables`` gives their values and ``slot_declarations`` their declarations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from resolvers.schedules.slot_ids import SlotKind, SlotRef
from services.payments.clock import CHINA_TIME

_APPOINTMENT = {
    "hos_code": "0531_253",
    "department_id": "0256",
    "doctor_id": "256654",
    "date": "2025-12-03",
    "half_day": "AM",
    "start_time": "08:15",
}


def _refs() -> dict[str, SlotRef]:
    today = {
        "date": datetime.now(CHINA_TIME).date().isoformat(),
        "department_id": "228",
        "doctor_id": "511",
        "clinic_type_id": "1082-286968",
        "serial_number": "2",
        "half_day": "AM",
    }
    return {
        "todaySlot": SlotRef(kind=SlotKind.TODAY_REGISTRATION, hospital_id="253", fields=today),
        "appointmentSlot": SlotRef(kind=SlotKind.APPOINTMENT, hospital_id="253", fields=_APPOINTMENT),
        "unuploadedSlot": SlotRef(
            kind=SlotKind.APPOINTMENT, hospital_id="253", fields={**_APPOINTMENT, "date": "2025-12-04"}
        ),
        "physicalExamSlot": SlotRef(
            kind=SlotKind.PHYSICAL_EXAM,
            hospital_id="253",
            fields={"date": "2025-12-03", "time": "08:00", "package_id": "801"},
        ),
        "labSlot": SlotRef(
            kind=SlotKind.LAB, hospital_id="253", fields={"project_id": "12", "scheduling_id": "26", "source_id": "123"}
        ),
        "selfOrderSlot": SlotRef(
            kind=SlotKind.SELF_ORDER,
            hospital_id="253",
            fields={"date": "2020-10-16", "groups": {"26": ["36"], "65": []}},
        ),
    }


def slot_variables(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    """The slotIds ``text`` names, encoded by the app behind ``client``."""
    slot_ids = client._transport.app.state.services.slot_ids  # type: ignore[attr-defined]
    return {name: slot_ids.encode(ref) for name, ref in _refs().items() if f"${name}" in text}


def slot_declarations(text: str) -> str:
    """``$todaySlot: ID!, `` ... for the slots ``text`` names (to put before an operation's other variables)."""
    return "".join(f"${name}: ID!, " for name in _refs() if f"${name}" in text)
