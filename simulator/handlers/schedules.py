"""What hospitals offer: schedules, bookable projects, packages and catalogues.

(15.1.1, 21.2.x, 24.1.1-3, 25.1.3-6, 28.x, 29.1.1-2, 33.1.1-2, 43.1.1)
"""

from __future__ import annotations

from datetime import date, timedelta

from simulator.envelope import Reply
from simulator.handlers import handles
from simulator.handlers.context import CallContext
from simulator.handlers.template import render


@handles("hospital.interface.projectAppt.getProjectSchedule")
def lab_projects(ctx: CallContext) -> Reply:
    """33.1.1 from the spec's example, plus a walk-in day (scheduleType 4, 不限号) after each project's last
    day: the platform must not ask 33.1.2 for the number sources of such a day."""
    reply = render(ctx)
    for project in reply.get("data") or []:
        schedules = project.get("scheduleList") or []
        last = max((s["workDate"] for s in schedules), default=ctx.now.date().isoformat())
        day = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
        schedules.append(
            {
                "schedulingId": f"{project['projectId']}-walkin",
                "workDate": day,
                "sourceNumber": 0,
                "currentNumber": 0,
                "shiftName": "全天",
                "shiftCode": "ALL",
                "scheduleType": 4,
            }
        )
        project["scheduleList"] = schedules
    return reply


@handles("hospital.interface.physical.getOrgGroup")
def employer_groups(ctx: CallContext) -> Reply:
    """28.1.11 as the spec's example, except that its last group lists no groupCombs: hospitals differ, and
    such a group's items are then asked of 28.1.12."""
    reply = render(ctx)
    groups = reply.get("data")
    if isinstance(groups, list) and len(groups) > 1 and isinstance(groups[-1], dict):
        groups[-1] = {key: value for key, value in groups[-1].items() if key.strip() != "groupCombs"}
    return reply
