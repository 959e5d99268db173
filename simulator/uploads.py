"""The simulated hospitals publish their appointment schedules to a gateway, as real hospitals do (21.1.4).

Chapter 21 has each hospital upload every half-day it opens for booking, with its fee (``arAmt``); the
gateway prices an appointment from that upload alone. ``publish_schedules`` posts each simulated
hospital's schedules to the gateway's own shim (``POST /prefront/yyghService/insertSchedule``), over
HTTP, as the hospital: the gateway authenticates the call as it would a real one (``hisgraph demo``'s
hospitals call from this machine, ``auth = "none"`` with a loopback allowlist) and stores what it
accepts. The fees are the simulator's own (``Doctor.fee``), the ones its 21.2.4 charges.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from .data.model import Hospital
from .state import Simulator

SCHEDULE_PATH = "/prefront/yyghService/insertSchedule"
"""21.1.4 医生排班信息上传接口, on the gateway."""
HALF_DAYS = ("AM", "PM")
SLOTS_PER_HALF_DAY = 8
"""The simulator's booking slots per half-day (simulator/handlers/registration.py's ``_make_slots``)."""


@dataclass(frozen=True, slots=True)
class Published:
    """One hospital's upload: how many half-day schedules it sent, and the gateway's reply."""

    hospital_id: str
    sessions: int
    status_code: int
    reply: Any

    @property
    def accepted(self) -> bool:
        return self.status_code == 200 and isinstance(self.reply, dict) and self.reply.get("success") is True


def schedule_records(hospital: Hospital, *, hos_code: str, days: Iterable[date]) -> list[dict[str, str]]:
    """21.1.4 records for every doctor of ``hospital``, each day in ``days``, morning and afternoon."""
    records = []
    for day in days:
        for doctor in sorted(hospital.doctors.values(), key=lambda d: d.doctor_id):
            for am_pm in HALF_DAYS:
                records.append(
                    {
                        "hosCode": hos_code,
                        "hosName": hospital.name,
                        "deptCode": doctor.dept_id,
                        "deptName": doctor.dept_name,
                        "docCode": doctor.doctor_id,
                        "docName": doctor.name,
                        "scheduleDate": day.strftime("%Y%m%d"),
                        "amPm": am_pm,
                        "opType": "1" if "专家" in doctor.reg_class_name else "2",
                        "scheduleType": "1",
                        "arAmt": f"{doctor.fee:.2f}",
                        "upLimit": str(SLOTS_PER_HALF_DAY),
                        "appNum": "0",
                    }
                )
    return records


def publish_schedules(
    simulator: Simulator,
    gateway_url: str,
    *,
    hos_codes: Mapping[str, str],
    days: Iterable[date],
    headers: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
) -> list[Published]:
    """Each hospital of ``hos_codes`` (hospital id -> the hosCode the gateway knows it by) posts its schedules
    for ``days`` to the gateway at ``gateway_url``; one call per hospital."""
    wanted = list(days)
    published = []
    with httpx.Client(base_url=gateway_url.rstrip("/"), timeout=timeout_s) as client:
        for hospital_id, hos_code in hos_codes.items():
            hospital = simulator.hospitals.get(hospital_id)
            if hospital is None:
                continue
            records = schedule_records(hospital, hos_code=hos_code, days=wanted)
            # A caller answering for several hospitals (the demo's, all on loopback) names the one it acts for.
            sent = {"X-Hospital-Id": hospital_id, **(headers or {})}
            response = client.post(SCHEDULE_PATH, json=records, headers=sent)
            try:
                reply: Any = response.json()
            except ValueError:
                reply = response.text
            published.append(Published(hospital_id, len(records), response.status_code, reply))
    return published
