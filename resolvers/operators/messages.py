"""Operators' view of message delivery: what the official account sent patients, and what it could not."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from services.identity.principal import OperatorPrincipal
from services.messages.status import (
    DeliveryRecord,
    count_by_hospital_and_kind,
    count_deliveries,
    list_deliveries,
    messaging_status,
)
from store.models import utcnow

from ..access import Forbidden
from ..arguments import MaybeFromTime, MaybeToTime
from ..context import Info
from ..fanout import hospital_ids_argument
from .audit_reads import audit_patients
from .orders import window

MAX_MESSAGES = 500


@strawberry.enum(description="Where a message to a patient stands on its way through the official account.")
class MessageDeliveryState(Enum):
    PENDING = strawberry.enum_value("pending", description="Queued, not tried yet.")
    CLAIMED = strawberry.enum_value("claimed", description="A worker took it; nothing sent yet.")
    SENDING = strawberry.enum_value(
        "sending",
        description=(
            "Sent, outcome not recorded yet (in flight, or no answer came): resent under the same "
            "client_msg_id, which WeChat shows once."
        ),
    )
    RESENDING = strawberry.enum_value("resending", description="Being sent again after an unanswered send.")
    SENT = strawberry.enum_value("sent", description="WeChat accepted it.")
    RETRY = strawberry.enum_value(
        "retry", description="WeChat did not take it (rate limit, busy, unreachable): tried again after a backoff."
    )
    UNDELIVERABLE = strawberry.enum_value(
        "undeliverable",
        description=(
            "Never deliverable: no account or official-account follower for the card, not following, "
            "no template for its kind, outside the customer-service window, or retries used up."
        ),
    )
    UNCERTAIN = strawberry.enum_value(
        "uncertain",
        description=(
            "It may have been delivered and cannot be sent again without risking a visible duplicate "
            "(a customer-service message, or a send unanswered beyond WeChat's 10-minute window): check by hand."
        ),
    )


@strawberry.type(description="One message to a patient queued by a hospital's push (19.x, 11.2.1, 22.2.1...).")
class MessageDelivery:
    id: strawberry.ID = strawberry.field(description="The outbox's id of the message.")
    kind: str = strawberry.field(description="What it says: the push's last path segment, e.g. lisReport.")
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that asked for it.")
    state: MessageDeliveryState = strawberry.field(description="Where its delivery stands.")
    attempts: int = strawberry.field(description="How many times a worker took it up (sends and resends).")
    medical_card_number: str | None = strawberry.field(
        description="The patient's card (就诊卡号), masked: first and last four characters."
    )
    dedupe_key: str = strawberry.field(
        description="Its identity (section:hospital:natural key); the same push twice queues it once."
    )
    inbound_call_id: strawberry.ID | None = strawberry.field(
        description="The inboundCalls id of the call that queued it."
    )
    queued_at: datetime = strawberry.field(description="When the push queued it (UTC).")
    updated_at: datetime = strawberry.field(
        description=("When its state last changed (UTC); for a message left sending, when that send began.")
    )
    last_error: str | None = strawberry.field(
        description=(
            "Why its last try did not deliver it (WeChat's answer, or why it cannot be delivered: no follower, no "
            "template...), personal data masked; null once sent or before any try."
        )
    )
    next_attempt_at: datetime | None = strawberry.field(
        description=(
            "When a delivery worker takes it up next (UTC): for a pending message, since it was queued; for a "
            "retry, once its backoff has passed. Null while a worker holds it or once it is settled. Nothing is "
            "tried while no worker runs (operator { messaging { workerRunning } })."
        )
    )
    sent_at: datetime | None = strawberry.field(description="When WeChat accepted it (UTC); null until then.")

    @classmethod
    def from_record(cls, record: DeliveryRecord) -> MessageDelivery:
        return cls(
            id=strawberry.ID(str(record.id)),
            kind=record.kind,
            hospital_id=strawberry.ID(record.hospital_id),
            state=MessageDeliveryState(record.state),
            attempts=record.attempts,
            medical_card_number=record.masked_card_number,
            dedupe_key=record.dedupe_key,
            inbound_call_id=strawberry.ID(str(record.inbound_call_id)) if record.inbound_call_id else None,
            queued_at=record.queued_at,
            updated_at=record.updated_at,
            last_error=record.last_error,
            next_attempt_at=record.next_attempt_at,
            sent_at=record.sent_at,
        )


@strawberry.type(description="How many messages of one hospital and kind, queued in a time range, stand in one state.")
class MessageCount:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that asked for them.")
    kind: str = strawberry.field(description="What they say: the push's last path segment, e.g. lisReport.")
    state: MessageDeliveryState = strawberry.field(description="Where their delivery stands.")
    count: int = strawberry.field(description="How many messages.")


@strawberry.type(description="Whether anything delivers messages to patients at all, as the store shows it.")
class MessagingStatus:
    worker_running: bool = strawberry.field(
        description=(
            "Whether a delivery worker (of any instance) reported within its last few passes. False: messages "
            "stay PENDING until one runs (message_worker_on with an official account configured)."
        )
    )
    last_worker_beat_at: datetime | None = strawberry.field(
        description="When a delivery worker last reported (UTC); null when none ever ran on this store."
    )
    official_account_configured: bool = strawberry.field(
        description=(
            "Whether an official account has been used to deliver here: a worker ran, or an access token was "
            "fetched. False: no instance delivers, whatever queues."
        )
    )
    token_expires_at: datetime | None = strawberry.field(
        description="When the official account's cached access token runs out (UTC); null when none is cached."
    )
    pending: int = strawberry.field(description="Messages waiting for a first try (PENDING), in your scope.")


@strawberry.type(description="How many messages stand in one delivery state.")
class MessageDeliveryCount:
    state: MessageDeliveryState = strawberry.field(description="The state.")
    count: int = strawberry.field(description="How many messages are in it.")


HospitalFilter = Annotated[
    str | None,
    strawberry.argument(
        description="Only these hospitals' messages (comma-separated ids); a hospital operator sees only their own."
    ),
]


def _visible_hospitals(info: Info, hospital_id: str | None) -> list[str] | None:
    """The hospitals asked for, or every hospital the operator may see (None: all of them)."""
    principal = info.context.principal
    if not isinstance(principal, OperatorPrincipal):  # pragma: no cover - Query.operator checks it
        raise Forbidden("operators only")
    if hospital_id is not None:
        return hospital_ids_argument(info, hospital_id)
    if principal.role == "region":
        return None
    return [principal.hospital_id or ""]


async def message_deliveries(
    info: Info,
    hospital_id: HospitalFilter = None,
    state: Annotated[
        MessageDeliveryState | None, strawberry.argument(description="Only messages in this state.")
    ] = None,
    limit: Annotated[int, strawberry.argument(description=f"At most this many messages (1-{MAX_MESSAGES}).")] = 50,
) -> list[MessageDelivery] | None:
    records = await list_deliveries(
        info.context.services.db,
        hospital_ids=_visible_hospitals(info, hospital_id),
        state=str(state.value) if state is not None else None,
        limit=max(1, min(limit, MAX_MESSAGES)),
        retry_delays=(await messaging_status(info.context.services.db, now=utcnow())).retry_delays,
    )
    deliveries = [MessageDelivery.from_record(record) for record in records]
    # Which patients' messages an operator looked at (cards masked): audited (issue 15 item 12).
    await audit_patients(
        info, view="messageDeliveries", cards=[(str(d.hospital_id), d.medical_card_number or "") for d in deliveries]
    )
    return deliveries


async def message_delivery_counts(info: Info, hospital_id: HospitalFilter = None) -> list[MessageDeliveryCount] | None:
    counts = await count_deliveries(info.context.services.db, hospital_ids=_visible_hospitals(info, hospital_id))
    return [MessageDeliveryCount(state=state, count=counts.get(str(state.value), 0)) for state in MessageDeliveryState]


async def message_counts(
    info: Info,
    from_: MaybeFromTime = None,
    to: MaybeToTime = None,
    hospital_id: HospitalFilter = None,
) -> list[MessageCount] | None:
    since, until = window(from_, to)
    rows = await count_by_hospital_and_kind(
        info.context.services.db, hospital_ids=_visible_hospitals(info, hospital_id), since=since, until=until
    )
    return [
        MessageCount(hospital_id=strawberry.ID(h), kind=k, state=MessageDeliveryState(st), count=n)
        for h, k, st, n in rows
    ]


async def messaging(info: Info) -> MessagingStatus | None:
    status = await messaging_status(info.context.services.db, now=utcnow())
    counts = await count_deliveries(info.context.services.db, hospital_ids=_visible_hospitals(info, None))
    return MessagingStatus(
        worker_running=status.worker_running,
        last_worker_beat_at=status.last_beat_at,
        official_account_configured=status.official_account_configured,
        token_expires_at=status.token_expires_at,
        pending=counts.get(str(MessageDeliveryState.PENDING.value), 0),
    )


message_counts_field = strawberry.field(
    resolver=message_counts,
    description=(
        "Messages queued in a time range, counted by hospital, kind and delivery state (only combinations that "
        "occur). A hospital operator counts only their own hospital's."
    ),
)
messaging_field = strawberry.field(
    resolver=messaging,
    description="Whether anything is delivering messages at all: worker, official account, its token.",
)
message_deliveries_field = strawberry.field(
    resolver=message_deliveries,
    description=(
        "Messages to patients, newest first, with their delivery state (no content: the card number is "
        "masked). A push is answered as soon as its message is queued; delivery is best effort (40.2.1)."
    ),
)
message_delivery_counts_field = strawberry.field(
    resolver=message_delivery_counts,
    description="How many messages stand in each delivery state (every state listed, zeros included).",
)
