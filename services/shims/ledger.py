"""Recording shim calls in the inbound ledger, and accepting message pushes exactly once.

``record_call`` writes one ledger row (a refusal, or a call with nothing to deduplicate).
``accept_push`` records an accepted push and queues its messages in ONE transaction, deduplicated on
the spec's natural key: a repeat answers what the first call answered and queues nothing.

Refunds and pushes (SEALED_SECTIONS), accepted or refused, can be replayed by a region operator (services/shims/
replay.py) although their recorded bodies are masked: when the gateway gave the database a ``LedgerSealer``
(``seal_bodies``), their rows also keep the body as sent, sealed (AES-256-GCM, the row id as associated
data) until ``sealed_until``. Each recording of a sealed copy also forgets a bounded number of expired ones.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy.exc import IntegrityError

from services.masking import mask_id_card, mask_name, mask_phone, mask_text
from services.sealing import LedgerSealer
from store.db import Database
from store.inbound import InboundCall, InboundLedger
from store.messages import MessageOutbox
from store.models import utcnow

log = logging.getLogger("hisgraph.shims.ledger")

_ID_KEYS: Final = frozenset({"idcard", "idcardno", "idcardnumber", "idno"})
_PHONE_KEYS: Final = frozenset({"phone", "mobile", "tel", "telephone", "phonenumber"})
_NAME_KEYS: Final = frozenset({"name", "username", "patname", "patientname"})
_ADDRESS_KEYS: Final = frozenset({"address"})
# Card numbers identify a card, not a person's papers: operators trace calls by them (15 digits would
# otherwise look like an old ID number to mask_text).
_CARD_KEYS: Final = frozenset({"medicalcardnumber", "qrcode", "oldmedicalcardnumber"})
# Order, refund and registration numbers identify a payment, not a person, and often hold 15 digits in a row.
_ORDER_KEYS: Final = frozenset(
    {"outtradeno", "outtradenos", "sourceouttradeno", "tradeno", "tradenos", "payid", "refundno", "outrefundno"}
    | {"refundorderno", "hospitalrefundno", "transactionid", "todayregisterid", "unifiedpaytradeno"}
)


def mask_json(value: Any, key: str = "") -> Any:
    """A copy of a JSON value with ID numbers, phones, patients' names and addresses masked."""
    lowered = key.strip().lower()
    if isinstance(value, Mapping):
        return {str(k): mask_json(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_json(v, key) for v in value]
    if isinstance(value, Decimal):
        return str(value)  # an amount of a reply (14.1.x): exact, and storable as JSON
    if not isinstance(value, str) or not value:
        return value
    if lowered in _ID_KEYS:
        return mask_id_card(value)
    if lowered in _PHONE_KEYS:
        return mask_phone(value)
    if lowered in _NAME_KEYS or lowered in _ADDRESS_KEYS:
        return mask_name(value)
    if lowered in _CARD_KEYS or lowered in _ORDER_KEYS:
        return value
    return mask_text(value)


@dataclass(frozen=True)
class ShimCall:
    """One call as the ledger sees it: which shim, for which hospital, with what body, when."""

    section: str
    path: str
    hospital_id: str | None
    body: Any
    received_at: datetime = field(default_factory=utcnow)
    claimed_hospital_id: str | None = None
    """For a call refused at authentication: the hospital it claimed to be (never proven)."""


@dataclass(frozen=True)
class NewMessage:
    """A message a push asks us to deliver to one patient."""

    kind: str
    medical_card_number: str | None
    id_card_number: str | None
    payload: dict[str, Any]
    dedupe_key: str


_REPLAYING: ContextVar[tuple[int, str] | None] = ContextVar("hisgraph_inbound_replaying", default=None)


@contextmanager
def replaying(call_id: int, operator: str) -> Iterator[None]:
    """Calls recorded inside are an operator's replay of call ``call_id`` (replayOf, replayedBy)."""
    token = _REPLAYING.set((call_id, operator))
    try:
        yield
    finally:
        _REPLAYING.reset(token)


def _replay_marks() -> dict[str, Any]:
    marks = _REPLAYING.get()
    return {} if marks is None else {"replay_of": marks[0], "replayed_by": marks[1]}


REFUND_SECTIONS: Final = frozenset({"9.1.1", "13.2.1", "20.2.2"})
"""The refund shims' sections (api/shims/refunds.py)."""
PUSH_SECTIONS: Final = frozenset(
    {"11.2.1", "22.2.1", "23.2.1", "26.2.1", "36.2.1", "36.2.2", "38.2.1", "38.2.2", "40.2.1", "41.2.1"}
    | {f"19.1.{n}" for n in range(1, 12)}
)
"""The message pushes' sections (api/shims/messages.py; tests/security/test_sealed_replay.py keeps them equal)."""
SEALED_SECTIONS: Final = REFUND_SECTIONS | PUSH_SECTIONS
"""Calls of these sections keep a sealed copy of the body for replay: accepted ones (``accept_push``) and
refused ones (``record_call``: a push or refund refused by our fault can be replayed once it is fixed)."""
PURGE_BATCH: Final = 200
"""At most this many expired sealed copies are forgotten per recorded call (bounded work)."""

_SEALERS: WeakKeyDictionary[Database, LedgerSealer] = WeakKeyDictionary()


def seal_bodies(db: Database, sealer: LedgerSealer | None) -> None:
    """Keep sealed copies of refund and push bodies recorded in ``db`` (None: keep none)."""
    if sealer is None:
        _SEALERS.pop(db, None)
    else:
        _SEALERS[db] = sealer


def sealer_of(db: Database) -> LedgerSealer | None:
    """The sealer of ``db``'s ledger, or None when no sealed copies are kept."""
    return _SEALERS.get(db)


async def _keep_sealed(ledger: InboundLedger, sealer: LedgerSealer | None, row: InboundCall, body: Any) -> None:
    """Seal ``body`` onto ``row`` (already flushed: it has its id), and forget some expired copies."""
    if sealer is None or row.hospital_id is None:
        return
    now = utcnow()
    await ledger.purge_expired_seals(now, limit=PURGE_BATCH)
    row.sealed_body = sealer.seal(row.id, body)
    row.sealed_until = sealer.until(now)


MAX_RECORDED_BODY_CHARS: Final = 16_384
"""A refused body larger than this (as JSON text) is recorded as its size and first RECORDED_HEAD_CHARS only."""
RECORDED_HEAD_CHARS: Final = 512


def bounded(value: Any) -> Any:
    """``value`` if its JSON text is at most MAX_RECORDED_BODY_CHARS long, else a bounded summary of it."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= MAX_RECORDED_BODY_CHARS:
        return value
    return {"truncated": True, "chars": len(text), "head": text[:RECORDED_HEAD_CHARS]}


async def record_call(db: Database, call: ShimCall, *, reply_code: str, reply: Any) -> None:
    """Record a call that needs no deduplication (refusals included), masked and bounded (``bounded``: a
    hostile 1 MB body is never stored whole). Never raises: the ledger must not change what the hospital
    is answered; a failure to record goes to our log."""
    try:
        async with db.session() as session:
            ledger = InboundLedger(session)
            row = await ledger.add(
                section=call.section,
                path=call.path,
                hospital_id=call.hospital_id,
                body=bounded(mask_json(call.body)),
                reply_code=reply_code,
                reply=bounded(mask_json(reply)),
                received_at=call.received_at,
                claimed_hospital_id=call.claimed_hospital_id,
                **_replay_marks(),
            )
            if call.section in SEALED_SECTIONS and isinstance(call.body, Mapping) and call.body:
                await _keep_sealed(ledger, sealer_of(db), row, call.body)
    except Exception:
        log.exception("could not record a shim call", extra={"path": call.path, "code": reply_code})


async def accept_push(
    db: Database,
    call: ShimCall,
    *,
    dedupe_key: str,
    messages: list[NewMessage],
    reply: dict[str, Any],
) -> tuple[dict[str, Any], bool]:
    """Record an accepted push and queue its messages in one transaction.

    Returns the reply to send and whether the call was a duplicate. A duplicate (the same dedupe key as an
    accepted call) is recorded pointing at the first and answered with the first's reply. A message whose
    own key is already queued (an earlier call carried it too) is not queued again.
    """
    assert call.hospital_id is not None
    sealer = sealer_of(db)
    for attempt in range(2):
        try:
            async with db.session() as session:
                ledger = InboundLedger(session)
                first = await ledger.first_with_key(dedupe_key)
                if first is not None:
                    repeat = await ledger.add(
                        section=call.section,
                        path=call.path,
                        hospital_id=call.hospital_id,
                        body=mask_json(call.body),
                        reply_code=first.reply_code,
                        reply=first.reply,
                        received_at=call.received_at,
                        duplicate_of=first.id,
                        **_replay_marks(),
                    )
                    await _keep_sealed(ledger, sealer, repeat, call.body)
                    replayed: dict[str, Any] = first.reply
                    return replayed, True
                record = await ledger.add(
                    section=call.section,
                    path=call.path,
                    hospital_id=call.hospital_id,
                    body=mask_json(call.body),
                    reply_code=str(reply.get("code", "")),
                    reply=mask_json(reply),
                    received_at=call.received_at,
                    dedupe_key=dedupe_key,
                    **_replay_marks(),
                )
                await _keep_sealed(ledger, sealer, record, call.body)
                outbox = MessageOutbox(session)
                taken = await outbox.taken_keys([m.dedupe_key for m in messages])
                for message in messages:
                    if message.dedupe_key in taken:
                        continue
                    taken.add(message.dedupe_key)
                    await outbox.queue(
                        kind=message.kind,
                        hospital_id=call.hospital_id,
                        medical_card_number=message.medical_card_number,
                        id_card_number=message.id_card_number,
                        payload=message.payload,
                        dedupe_key=message.dedupe_key,
                        inbound_call_id=record.id,
                    )
                return reply, False
        except IntegrityError:
            # A concurrent call with the same key won the race: the next round finds it and replays it.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def list_calls(
    db: Database,
    *,
    hospital_ids: list[str] | None,
    path: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    section: str | None = None,
    reply_code: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[InboundCall]:
    """Recorded calls, newest first (bodies already masked); ``hospital_ids`` None means every hospital's."""
    async with db.session() as session:
        return await InboundLedger(session).list(
            hospital_ids=hospital_ids,
            path=path,
            since=since,
            until=until,
            section=section,
            reply_code=reply_code,
            before_id=before_id,
            limit=limit,
        )
