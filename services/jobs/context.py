"""What a job's task sees for one hospital, and the helpers every task shares."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from his_clients.client import HisClient
from his_clients.errors import HisError, HisNoData
from his_clients.fanout import has_unlabelled_records
from his_clients.method import HisMethod, ReplyT, RequestT
from services.shims.ledger import NewMessage
from services.surveys.links import SurveyLinks

from .config import JobsConfig, beijing_day

IDENTITY_LIMIT = 160
"""Longer identities in a dedupe key are replaced by their digest (the column holds 255 characters)."""

HIS_CALL_TIMEOUT_S = 30.0
"""A job's HIS call, retries included, ends by this (HisClient.call requires a deadline); each attempt
keeps the hospital's own timeout_s. A job has no patient waiting, but a run must not hang on one hospital."""


@dataclass(slots=True)
class RegionalGroup:
    """Hospitals behind one regional endpoint, asked together where the spec allows it.

    For the methods that take ``hospitalId: "id1,id2"`` (11.1.1, 12.1.1, as the graph does) the group is
    asked once, by whichever of its hospitals asks first, and each hospital takes its labelled rows. A
    reply with unlabelled rows cannot be split: each hospital is then asked on its own, as before.
    """

    hospital_ids: tuple[str, ...]
    _calls: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    async def rows(
        self, his: HisClient, method: HisMethod[RequestT, Any], request: RequestT, hospital_id: str, *, deadline: float
    ) -> list[Any] | None:
        """This hospital's rows of the group's one call; None when the call cannot be split by hospital."""
        key = f"{method.name}:{json.dumps(request.to_wire(), sort_keys=True, ensure_ascii=False)}"
        call = self._calls.get(key)
        if call is None:
            call = asyncio.ensure_future(
                his.call_for_hospitals(method, list(self.hospital_ids), request, deadline=deadline)
            )
            self._calls[key] = call
        try:
            reply: Any = await asyncio.shield(call)
        except HisNoData:
            return []
        except HisError as error:
            raise error.for_hospital(hospital_id) from error
        if has_unlabelled_records(reply):
            return None
        rows: Sequence[Any] = reply if isinstance(reply, list) else [reply] if reply is not None else []
        return [row for row in rows if getattr(row, "hospital_id", None) == hospital_id]


@dataclass(frozen=True, slots=True)
class TaskContext:
    """One hospital's part of one run."""

    his: HisClient
    hospital_id: str
    slot: datetime
    """The slot (UTC) the run stands for: windows and dates follow it, not the clock."""
    config: JobsConfig
    survey_links: SurveyLinks
    group: RegionalGroup | None = None
    """The regional group this hospital is asked with, for methods that take several hospital ids."""
    his_timeout_s: float = HIS_CALL_TIMEOUT_S
    """How long each HIS call of this hospital's task may take, retries included."""

    def deadline(self) -> float:
        """The deadline of one HIS call made now (on the event loop's clock)."""
        return asyncio.get_running_loop().time() + self.his_timeout_s

    @property
    def day(self) -> date:
        """The slot's calendar day in Beijing."""
        return beijing_day(self.slot)


Collect = Callable[[TaskContext], Awaitable[list[NewMessage]]]


@dataclass(frozen=True, slots=True)
class Task:
    """A spec section a job carries out: the HIS method it polls and how replies become messages."""

    section: str
    method: HisMethod[Any, Any]
    collect: Collect


async def ask(ctx: TaskContext, method: HisMethod[RequestT, ReplyT], request: RequestT) -> list[Any]:
    """The method's rows at this hospital: 10002 (no data) is none, a single object is one row, and a
    row a regional HIS labels with another hospital's id is left to that hospital's own call."""
    if ctx.group is not None and method.multi_hospital:
        grouped = await ctx.group.rows(ctx.his, method, request, ctx.hospital_id, deadline=ctx.deadline())
        if grouped is not None:
            return grouped
    try:
        reply: Any = await ctx.his.call(method, ctx.hospital_id, request, deadline=ctx.deadline())
    except HisNoData:
        return []
    rows: Sequence[Any] = reply if isinstance(reply, list) else [reply] if reply is not None else []
    return [row for row in rows if getattr(row, "hospital_id", None) in (None, "", ctx.hospital_id)]


def digest(value: str) -> str:
    """The same digest api/shims/messages.py uses for long identities (a JSON string's SHA-256)."""
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def identity(*parts: str) -> str:
    """Parts joined by ``|``; a digest when that is too long for a key."""
    joined = "|".join(parts)
    return digest(joined) if len(joined) > IDENTITY_LIMIT else joined


def person_key(*, admission_number: str | None, card: str | None, id_card: str | None) -> str | None:
    """Who a row is about, for a dedupe key: the stay's admission number, else the card, else a digest of
    the ID number (never the number itself: keys are shown to operators). None when the row has none."""
    if admission_number:
        return f"adm:{admission_number}"
    if card:
        return f"card:{card}"
    if id_card:
        return f"id:{digest(id_card.strip().upper())[:24]}"
    return None


def present(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without absent fields (as the shims store a push's payload)."""
    return {key: value for key, value in payload.items() if value is not None and value != ""}
