"""Queues a patient stands in: after triage (15.1.3), after registering today (20.1.9), at the imaging
rooms (26.1.1) and after signing in for an appointment (42.1.3). A place in a queue is ``waitingAhead``."""

from __future__ import annotations

from datetime import datetime

import strawberry

from his_clients.models.exam_appointments import ExamQueueEntry as ExamQueueEntryReply
from his_clients.models.registration_today import TodayQueue
from his_clients.models.triage import BookedVisitQueue, TriageQueue

from ..hospitals.entry import HospitalEntry
from ..schedules.common import count, read_instant


def ahead_of(place: str | None) -> int | None:
    """How many wait before a patient whose place (当前排队名次) the hospital wrote: place 1 has nobody ahead."""
    rank = count(place)
    return None if rank is None else max(0, rank - 1)


@strawberry.type(
    description=(
        "The patient's place in one queue at one hospital: a clinic room's after triage (排队信息, 15.1.3), after "
        "signing in for an appointment (42.1.3), or a same-day registration's (当日挂号排队, 20.1.9). queued is "
        "false when the hospital has no queue for the patient (10002)."
    )
)
class QueueAtHospital(HospitalEntry):
    queued: bool = strawberry.field(description="True when the patient is in the queue.")
    queue_number: str | None = strawberry.field(description="The patient's queue number (排队号, queueNumber).")
    waiting_ahead: int | None = strawberry.field(
        description=(
            "How many wait before the patient: 20.1.9's currentOrderNumber (前面等待人数) as sent; 15.1.3's and "
            "42.1.3's place (当前排队名次) less one, so place 1 has nobody ahead."
        )
    )
    room_name: str | None = strawberry.field(description="The clinic room, and where it is (诊室名称, roomName).")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: TriageQueue | BookedVisitQueue) -> QueueAtHospital:
        """A clinic room's queue (15.1.3, 42.1.3): the hospital writes the patient's place in it."""
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            queued=True,
            queue_number=reply.queue_number,
            waiting_ahead=ahead_of(reply.current_order_number),
            room_name=reply.room_name,
        )

    @classmethod
    def from_registration(cls, hospital_id: str, reply: TodayQueue) -> QueueAtHospital:
        """A same-day registration's queue (20.1.9): the hospital writes how many wait ahead."""
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            queued=True,
            queue_number=reply.queue_number,
            waiting_ahead=count(reply.current_order_number),
            room_name=reply.room_name,
        )

    @classmethod
    def not_queued(cls, hospital_id: str) -> QueueAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id), queued=False, queue_number=None, waiting_ahead=None, room_name=None
        )


@strawberry.type(description="The patient's place in one examination room's queue (PACS排队, 26.1.1).")
class ExamQueueEntry:
    queue_number: str = strawberry.field(description="The patient's queue number (排队号, queueNumber).")
    waiting_ahead: int | None = strawberry.field(
        description="How many wait before the patient (当前排队名次 less one: place 1 has nobody ahead)."
    )
    department_name: str = strawberry.field(description="The department, e.g. 影像科 (deptName).")
    room_name: str = strawberry.field(description="The examination room (诊室名称, roomName).")
    triaged_at: datetime | None = strawberry.field(
        description="When the patient was triaged (triageTime); null when the hospital wrote no time."
    )
    appointment_time: datetime | None = strawberry.field(
        description="The appointment (appointmentTime); null when the hospital wrote no time."
    )
    examinations: str = strawberry.field(description="What is examined, in short (项目名称, projectsShort).")

    @classmethod
    def from_reply(cls, entry: ExamQueueEntryReply) -> ExamQueueEntry:
        return cls(
            queue_number=entry.queue_number,
            waiting_ahead=ahead_of(entry.current_order_number),
            department_name=entry.dept_name,
            room_name=entry.room_name,
            triaged_at=read_instant(entry.triage_time),
            appointment_time=read_instant(entry.appointment_time),
            examinations=entry.projects_short,
        )


@strawberry.type(description="The patient's queues at the examination rooms of one hospital (26.1.1).")
class ExamQueuesAtHospital(HospitalEntry):
    entries: list[ExamQueueEntry] = strawberry.field(description="One entry per room the patient queues at.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[ExamQueueEntryReply]) -> ExamQueuesAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), entries=[ExamQueueEntry.from_reply(e) for e in reply])

    @classmethod
    def none(cls, hospital_id: str) -> ExamQueuesAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), entries=[])
