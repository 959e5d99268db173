"""Replaying a recorded shim call: its body posted again to its shim, acting as its hospital (operators only).

Why: a call refused because of our fault (a 10003, a validation we since corrected) can be run again
without asking the hospital to resend it. The replay is an ordinary call to the shim: authenticated as
the hospital it acted for, validated, deduplicated and recorded in the ledger like any other; a replay of
an accepted push or payment callback is answered as a duplicate and acts no second time.

What can be replayed: the ledger keeps bodies masked (ID numbers, phones, names, addresses). Masking
always leaves a ``*`` where it changed something, so a body holding no ``*`` in any key or text is the
body the hospital sent and is replayable by any operator who sees the call. A refund's or a push's row
also keeps, for a few days, a sealed copy of the body as sent (services/shims/ledger.py): only a region
operator may replay from it (a hospital operator: REGION_ONLY), each use is reported to ``on_unseal``
(the caller audits it) before the body is opened, and an expired copy is forgotten and refused
(SEAL_EXPIRED). Any other masked body is refused (MASKED_BODY), as is a call that acted for no known
hospital (it was refused before we knew whose it was) or whose request could not be read as JSON at all.

The dispatch (running the ASGI app in-process) lives in api/ and reaches here as a callable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import update

from services.refusals import RefusalCode, Refused
from services.sealing import Unsealable
from store.db import Database
from store.inbound import InboundCall
from store.models import utcnow

from .ledger import mask_json, replaying, sealer_of

ReplayDispatch = Callable[[str, str, Any], Awaitable[dict[str, Any]]]
"""Post ``body`` to the shim at ``path`` as hospital ``hospital_id``; the shim's JSON reply.
Raises LookupError when no shim serves ``path``."""

UNREADABLE_BODY_MESSAGES: Final = frozenset({"请求体不是有效的JSON", "请求体必须是JSON对象"})
"""The shims' refusals of a body that was not a JSON object: the ledger then holds {} in its place."""


class ReplayRefused(Refused):
    """The call was not replayed: NOT_FOUND (no such call, or one of a hospital the operator does not see: the
    same answer for both), NO_HOSPITAL, MASKED_BODY, BODY_NOT_RECORDED, NOT_A_SHIM, REGION_ONLY (the body is
    masked; its sealed copy may be used by region operators only) or SEAL_EXPIRED (the body is masked and its
    sealed copy has expired, or cannot be opened any more)."""

    def __init__(self, code: RefusalCode, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True, slots=True)
class Replayed:
    original: InboundCall
    reply: dict[str, Any]
    """The shim's new answer, masked as the ledger masks replies."""
    from_sealed_copy: bool = False
    """Whether the body posted was the sealed copy of the original (not the recorded, masked one)."""


def holds_masked_text(value: Any) -> bool:
    """Whether any key or text in a JSON value holds a ``*`` (what masking leaves behind)."""
    if isinstance(value, str):
        return "*" in value
    if isinstance(value, Mapping):
        return any(holds_masked_text(k) or holds_masked_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_masked_text(v) for v in value)
    return False


def body_was_unreadable(call: InboundCall) -> bool:
    reply = call.reply if isinstance(call.reply, Mapping) else {}
    return str(reply.get("msg") or reply.get("message") or "") in UNREADABLE_BODY_MESSAGES


async def replay_call(
    db: Database,
    dispatch: ReplayDispatch,
    *,
    call_id: int,
    may_see: Callable[[str | None], bool],
    operator: str = "",
    may_unseal: bool = False,
    on_unseal: Callable[[InboundCall], Awaitable[None]] | None = None,
) -> Replayed:
    """Post call ``call_id``'s body to its shim again as its hospital; ReplayRefused with why not.

    ``may_see(hospital_id)`` says whether the operator sees that hospital's calls (None: calls of no
    known hospital, which only region operators see). ``may_unseal``: whether the operator may replay a
    masked body from its sealed copy (region operators only); ``on_unseal(original)`` is awaited before
    each such use (to audit it), and a failure there stops the replay.
    """
    async with db.session() as session:
        original = await session.get(InboundCall, call_id)
    if original is None or not may_see(original.hospital_id):
        raise ReplayRefused(RefusalCode.NOT_FOUND, f"no recorded call {call_id}")
    if original.hospital_id is None:
        raise ReplayRefused(
            RefusalCode.NO_HOSPITAL, "the call was refused before it was known which hospital it acted for"
        )
    if body_was_unreadable(original):
        raise ReplayRefused(RefusalCode.BODY_NOT_RECORDED, "the request was not JSON: its body was not recorded")
    body: Any = original.body
    from_sealed_copy = False
    if holds_masked_text(original.body):
        body = await _unsealed_body(db, original, may_unseal=may_unseal, on_unseal=on_unseal)
        from_sealed_copy = True
    try:
        with replaying(call_id, operator):  # the new ledger row says it replays call_id, and who replayed it
            reply = await dispatch(original.path, original.hospital_id, body)
    except LookupError as error:
        raise ReplayRefused(RefusalCode.NOT_A_SHIM, f"no shim serves {original.path} now") from error
    masked: dict[str, Any] = mask_json(reply)
    return Replayed(original=original, reply=masked, from_sealed_copy=from_sealed_copy)


async def _unsealed_body(
    db: Database,
    original: InboundCall,
    *,
    may_unseal: bool,
    on_unseal: Callable[[InboundCall], Awaitable[None]] | None,
) -> Any:
    """The body as sent, from ``original``'s sealed copy; ReplayRefused when there is none to use."""
    if original.sealed_body is None:
        raise ReplayRefused(
            RefusalCode.MASKED_BODY,
            "the recorded body holds masked personal data (ID number, phone, name or address), and no sealed "
            "copy of it is kept: ask the hospital to send the call again",
        )
    if not may_unseal:
        raise ReplayRefused(
            RefusalCode.REGION_ONLY,
            "the recorded body holds masked personal data; only a region operator may replay it from its sealed copy",
        )
    sealer = sealer_of(db)
    expired = original.sealed_until is None or original.sealed_until <= utcnow()
    if expired or sealer is None:
        if expired:
            await _forget_seal(db, original.id)
        raise ReplayRefused(
            RefusalCode.SEAL_EXPIRED,
            "the sealed copy of the body has expired: ask the hospital to send the call again",
        )
    if on_unseal is not None:
        await on_unseal(original)  # audited before the copy is opened
    try:
        return sealer.open(original.id, original.sealed_body)
    except (Unsealable, ValueError):
        raise ReplayRefused(
            RefusalCode.SEAL_EXPIRED,
            "the sealed copy cannot be opened with this deployment's ledger seal secret",
        ) from None


async def _forget_seal(db: Database, call_id: int) -> None:
    async with db.session() as session:
        await session.execute(
            update(InboundCall).where(InboundCall.id == call_id).values(sealed_body=None, sealed_until=None)
        )
