"""Queues a patient stands in: after triage (15.1.3), after registering today (20.1.9), at the imaging
rooms (26.1.1) and after signing in for an appointment (42.1.3)."""

from __future__ import annotations

import strawberry

from his_clients.models.exam_appointments import ExamQueueEntry as ExamQueueEntryReply
from his_clients.models.registration_today import TodayQueue
from his_clients.models.triage import BookedVisitQueue, TriageQueue

from ..schedules.common import count


@strawberry.type(
    description=(
        "The patient's place in a clinic room's queue after triage (排队信息, 15.1.3) or after signing in for "
        "an appointment (42.1.3). queued is false when the hospital has no queue for the patient (10002)."
    )
)
class QueuePosition:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this queue.")
    queued: bool = strawberry.field(description="True when the patient is in the queue.")
    queue_number: str | None = strawberry.field(description="The patient's queue number (排队号, queueNumber).")
    position: int | None = strawberry.field(
        description="The patient's current place in the queue (当前排队名次, currentOrderNumber)."
    )
    room_name: str | None = strawberry.field(description="The clinic room (诊室名称, roomName).")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: TriageQueue | BookedVisitQueue) -> QueuePosition:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            queued=True,
            queue_number=reply.queue_number,
            position=count(reply.current_order_number),
            room_name=reply.room_name,
        )

    @classmethod
    def not_queued(cls, hospital_id: str) -> QueuePosition:
        return cls(
            hospital_id=strawberry.ID(hospital_id), queued=False, queue_number=None, position=None, room_name=None
        )


@strawberry.type(
    description=(
        "The patient's place in the queue of a same-day registration (当日挂号排队, 20.1.9). queued is false "
        "when the hospital has no queue for the registration (10002)."
    )
)
class RegistrationQueue:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this queue.")
    queued: bool = strawberry.field(description="True when the patient is in the queue.")
    queue_number: str | None = strawberry.field(description="The patient's queue number (排队序列号, queueNumber).")
    waiting_ahead: int | None = strawberry.field(
        description="How many wait before the patient (当前用户前面等待人数, currentOrderNumber)."
    )
    room_name: str | None = strawberry.field(description="The clinic room and where it is (诊室名称, roomName).")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: TodayQueue) -> RegistrationQueue:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            queued=True,
            queue_number=reply.queue_number,
            waiting_ahead=count(reply.current_order_number),
            room_name=reply.room_name,
        )

    @classmethod
    def not_queued(cls, hospital_id: str) -> RegistrationQueue:
        return cls(
            hospital_id=strawberry.ID(hospital_id), queued=False, queue_number=None, waiting_ahead=None, room_name=None
        )


@strawberry.type(description="The patient's place in one examination room's queue (PACS排队, 26.1.1).")
class ExamQueueEntry:
    queue_number: str = strawberry.field(description="The patient's queue number (排队号, queueNumber).")
    position: int | None = strawberry.field(
        description="Current place in the queue (当前排队名次, currentOrderNumber)."
    )
    department_name: str = strawberry.field(description="The department, e.g. 影像科 (deptName).")
    room_name: str = strawberry.field(description="The examination room (诊室名称, roomName).")
    triaged_at: str = strawberry.field(description="When the patient was triaged, yyyy-MM-dd HH:mm:ss (triageTime).")
    appointment_time: str = strawberry.field(description="The appointment, yyyy-MM-dd HH:mm:ss (appointmentTime).")
    examinations: str = strawberry.field(description="What is examined, in short (项目名称, projectsShort).")

    @classmethod
    def from_reply(cls, entry: ExamQueueEntryReply) -> ExamQueueEntry:
        return cls(
            queue_number=entry.queue_number,
            position=count(entry.current_order_number),
            department_name=entry.dept_name,
            room_name=entry.room_name,
            triaged_at=entry.triage_time,
            appointment_time=entry.appointment_time,
            examinations=entry.projects_short,
        )


@strawberry.type(description="The patient's queues at the examination rooms of one hospital (26.1.1).")
class ExamQueues:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of these queues.")
    entries: list[ExamQueueEntry] = strawberry.field(description="One entry per room the patient queues at.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[ExamQueueEntryReply]) -> ExamQueues:
        return cls(hospital_id=strawberry.ID(hospital_id), entries=[ExamQueueEntry.from_reply(e) for e in reply])

    @classmethod
    def none(cls, hospital_id: str) -> ExamQueues:
        return cls(hospital_id=strawberry.ID(hospital_id), entries=[])
