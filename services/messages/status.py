"""Delivery state for operators: which messages went out, which wait, which never will (and why not).

Only what a dashboard needs: never the payload (names, ID numbers), and the card number masked. And
whether anything delivers at all: every delivery worker beats a row of the store's ``shared_tokens``
(``HEARTBEAT_NAME``) on each pass, so any instance can tell that some worker is running; the official
account's access token row there says it is configured and when its token runs out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from weakref import WeakKeyDictionary

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from store.db import Database
from store.followers import SharedToken, SharedTokens
from store.messages import MessageDeliveries, MessageState, OutboundMessage

log = logging.getLogger("hisgraph.messages.status")

HEARTBEAT_NAME: Final = "message-worker:heartbeat"
"""The ``shared_tokens`` row every delivery worker moves forward on each pass."""
ACCESS_TOKEN_PATTERN: Final = "wechat_official:%:access_token"  # noqa: S105 - a row name pattern, not a secret
"""``tokens.ACCESS_TOKEN_NAME`` for any appid (an SQL LIKE pattern)."""
BEAT_EVERY: Final = timedelta(seconds=10)
MIN_BEAT_TTL: Final = timedelta(seconds=60)
FALLBACK_RETRY_DELAYS: Final = tuple(timedelta(seconds=s) for s in (30, 60, 120, 300, 600, 1800, 3600))
"""The worker's default backoff (worker.DEFAULT_RETRY_DELAYS), used while no worker has said its own."""

_last_beat: WeakKeyDictionary[Database, datetime] = WeakKeyDictionary()
"""When each store was last beaten by this process (a new store object never inherits an old one's time)."""


async def beat(db: Database, *, now: datetime, idle_s: float, retry_delays: Sequence[timedelta]) -> None:
    """A delivery worker is running: the heartbeat row lives until a few passes from now (at most one
    write per ``BEAT_EVERY`` per store in this process). It carries the worker's retry delays, from which
    operators are told when a message is tried next."""
    last = _last_beat.get(db)
    if last is not None and timedelta(0) <= now - last < BEAT_EVERY:
        return
    _last_beat[db] = now
    ttl = max(MIN_BEAT_TTL, timedelta(seconds=3 * idle_s) + BEAT_EVERY)
    value = json.dumps({"retryDelays": [d.total_seconds() for d in retry_delays], "since": now.isoformat()})
    try:
        async with db.session() as session:
            await SharedTokens(session).put(HEARTBEAT_NAME, value=value, expires_at=now + ttl, now=now)
    except IntegrityError:
        pass  # another worker wrote the first beat at the same moment: that one says the same


async def beat_ended(db: Database, *, now: datetime) -> None:
    """This worker stopped: its beat ends now (another running worker beats again within BEAT_EVERY)."""
    _last_beat.pop(db, None)
    async with db.session() as session:
        row = await SharedTokens(session).get(HEARTBEAT_NAME)
        if row is not None and row.expires_at > now:
            row.expires_at = now
            row.updated_at = now


@dataclass(frozen=True, slots=True)
class MessagingStatus:
    """Whether anything delivers messages, as the store shows it."""

    worker_running: bool
    last_beat_at: datetime | None
    official_account_configured: bool
    token_expires_at: datetime | None
    retry_delays: tuple[timedelta, ...]


async def messaging_status(db: Database, *, now: datetime) -> MessagingStatus:
    async with db.session() as session:
        rows = list(
            (
                await session.execute(
                    select(SharedToken).where(
                        or_(SharedToken.name == HEARTBEAT_NAME, SharedToken.name.like(ACCESS_TOKEN_PATTERN))
                    )
                )
            ).scalars()
        )
    heartbeat = next((row for row in rows if row.name == HEARTBEAT_NAME), None)
    tokens = [row for row in rows if row.name != HEARTBEAT_NAME]
    delays = FALLBACK_RETRY_DELAYS
    if heartbeat is not None:
        try:
            delays = tuple(timedelta(seconds=float(s)) for s in json.loads(heartbeat.value)["retryDelays"])
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable message worker heartbeat")
    return MessagingStatus(
        worker_running=heartbeat is not None and heartbeat.expires_at > now,
        last_beat_at=heartbeat.updated_at if heartbeat is not None else None,
        official_account_configured=heartbeat is not None or bool(tokens),
        token_expires_at=max((row.expires_at for row in tokens), default=None),
        retry_delays=delays,
    )


def mask_card_number(card: str | None) -> str | None:
    """``001000056254587`` -> ``0010*******4587``: enough to tell cards apart, not to use one."""
    if not card:
        return card
    if len(card) <= 8:
        return card[:1] + "*" * (len(card) - 1)
    return card[:4] + "*" * (len(card) - 8) + card[-4:]


def next_attempt(row: OutboundMessage, retry_delays: Sequence[timedelta]) -> datetime | None:
    """When a worker takes the message up next: a pending one at once (since it was queued), a retry once
    its backoff has passed; None for one in a worker's hands or settled."""
    if row.state == MessageState.PENDING.value:
        return row.created_at
    if row.state == MessageState.RETRY.value and retry_delays:
        delay = retry_delays[min(max(row.attempts, 1), len(retry_delays)) - 1]
        return row.updated_at + delay
    return None


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One queued message as operators see it."""

    id: int
    kind: str
    hospital_id: str
    state: str
    attempts: int
    masked_card_number: str | None
    dedupe_key: str
    inbound_call_id: int | None
    queued_at: datetime
    updated_at: datetime
    last_error: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None

    @classmethod
    def from_row(
        cls, row: OutboundMessage, retry_delays: Sequence[timedelta] = FALLBACK_RETRY_DELAYS
    ) -> DeliveryRecord:
        return cls(
            id=row.id,
            kind=row.kind,
            hospital_id=row.hospital_id,
            state=row.state,
            attempts=row.attempts,
            masked_card_number=mask_card_number(row.medical_card_number),
            dedupe_key=row.dedupe_key,
            inbound_call_id=row.inbound_call_id,
            queued_at=row.created_at,
            updated_at=row.updated_at,
            last_error=row.last_error,
            sent_at=row.sent_at,
            next_attempt_at=next_attempt(row, retry_delays),
        )


async def list_deliveries(
    db: Database,
    *,
    hospital_ids: list[str] | None,
    state: str | None = None,
    limit: int = 50,
    retry_delays: Sequence[timedelta] = FALLBACK_RETRY_DELAYS,
) -> list[DeliveryRecord]:
    """Messages newest first (``hospital_ids`` None: every hospital's), optionally in one state."""
    async with db.session() as session:
        rows = await MessageDeliveries(session).recent(hospital_ids=hospital_ids, state=state, limit=limit)
        return [DeliveryRecord.from_row(row, retry_delays) for row in rows]


async def count_deliveries(db: Database, *, hospital_ids: list[str] | None) -> dict[str, int]:
    """How many messages stand in each state."""
    async with db.session() as session:
        return await MessageDeliveries(session).count_by_state(hospital_ids=hospital_ids)


async def count_by_hospital_and_kind(
    db: Database, *, hospital_ids: list[str] | None, since: datetime | None, until: datetime | None
) -> list[tuple[str, str, str, int]]:
    """(hospital, kind, state, count) of the messages queued between two times."""
    async with db.session() as session:
        return await MessageDeliveries(session).count_by_hospital_kind_state(
            hospital_ids=hospital_ids, since=since, until=until
        )
