"""Operators' view of the inbound ledger: the calls hospitals made to our shims (issue 6)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import strawberry

from his_clients.codes import ReturnCode
from services.identity.principal import OperatorPrincipal
from services.shims.ledger import list_calls
from store.inbound import InboundCall

from ..access import Forbidden
from ..arguments import MaybeFromTime, MaybeToTime
from ..context import Info
from ..fanout import hospital_ids_argument
from ..results import InputRefused
from .orders import window

MAX_CALLS = 500


@strawberry.type(description="One call a hospital made to a shim (POST /prefront/...), as the inbound ledger holds it.")
class InboundCallRecord:
    id: strawberry.ID = strawberry.field(description="The ledger's id of the call.")
    section: str = strawberry.field(description="The spec section of the shim, e.g. 19.1.4.")
    path: str = strawberry.field(description="The shim's path, e.g. /prefront/sendTipMessage/lisReport.")
    hospital_id: strawberry.ID | None = strawberry.field(
        description="The hospital the call acted for; null when it was refused before that was known."
    )
    dedupe_key: str | None = strawberry.field(
        description="The call's identity (section:hospital:natural key) when it was accepted; a repeat is a duplicate."
    )
    duplicate_of: strawberry.ID | None = strawberry.field(
        description="For a repeat: the id of the first call, whose answer it got without acting again."
    )
    reply_code: str = strawberry.field(description="The 附四 code the hospital was answered (10001 success).")
    body: str = strawberry.field(description="The request as JSON text, ID numbers, phones and names masked.")
    reply: str = strawberry.field(description="The reply as JSON text, masked the same way.")
    received_at: datetime = strawberry.field(description="When the call came in (UTC).")
    answered_at: datetime = strawberry.field(description="When it was answered (UTC).")
    claimed_hospital_id: str | None = strawberry.field(
        description=(
            "For a call refused at authentication (50001): the hospital it claimed to be (X-Hospital-Id, else its "
            "body's hospitalId), never proven; null otherwise."
        )
    )
    is_repeat: bool = strawberry.field(
        description="Whether it repeated an accepted call (duplicateOf): answered as the first was, acting no more."
    )
    replay_of: strawberry.ID | None = strawberry.field(
        description="For an operator's replay (replayInboundCall): the id of the call it replayed; null otherwise."
    )
    replayed_by: str | None = strawberry.field(
        description="For an operator's replay: the username of the operator who replayed it; null otherwise."
    )

    @classmethod
    def from_row(cls, row: InboundCall) -> InboundCallRecord:
        return cls(
            id=strawberry.ID(str(row.id)),
            section=row.section,
            path=row.path,
            hospital_id=strawberry.ID(row.hospital_id) if row.hospital_id is not None else None,
            dedupe_key=row.dedupe_key,
            duplicate_of=strawberry.ID(str(row.duplicate_of)) if row.duplicate_of is not None else None,
            reply_code=row.reply_code,
            body=json.dumps(row.body, ensure_ascii=False),
            reply=json.dumps(row.reply, ensure_ascii=False),
            received_at=row.received_at,
            answered_at=row.answered_at,
            claimed_hospital_id=row.claimed_hospital_id,
            is_repeat=row.duplicate_of is not None,
            replay_of=strawberry.ID(str(row.replay_of)) if row.replay_of is not None else None,
            replayed_by=row.replayed_by,
        )


async def inbound_calls(
    info: Info,
    hospital_id: Annotated[
        str | None,
        strawberry.argument(
            description="Only these hospitals' calls (comma-separated ids); a hospital operator sees only their own."
        ),
    ] = None,
    path: Annotated[
        str | None, strawberry.argument(description="Only calls to this shim path, e.g. /prefront/patient/genCard.")
    ] = None,
    from_: MaybeFromTime = None,
    to: MaybeToTime = None,
    section: Annotated[
        str | None, strawberry.argument(description="Only calls to this spec section's shim, e.g. 1.3.1 or 13.1.2.")
    ] = None,
    reply_code: Annotated[
        str | None,
        strawberry.argument(description="Only calls answered with this 附四 code, e.g. 50001 (refused) or 10001."),
    ] = None,
    after: Annotated[
        strawberry.ID | None,
        strawberry.argument(
            description="A cursor: the id of the last call of the previous page; only older calls follow."
        ),
    ] = None,
    limit: Annotated[int, strawberry.argument(description=f"At most this many calls (1-{MAX_CALLS}).")] = 50,
) -> list[InboundCallRecord] | None:
    principal = info.context.principal
    if not isinstance(principal, OperatorPrincipal):  # pragma: no cover - Query.operator checks it
        raise Forbidden("operators only")
    hospital_ids: list[str] | None
    if hospital_id is not None:
        hospital_ids = hospital_ids_argument(info, hospital_id)
    elif principal.role == "region":
        hospital_ids = None
    else:
        hospital_ids = [principal.hospital_id or ""]
    since, until = window(from_, to)
    before_id: int | None = None
    if after is not None:
        try:
            before_id = int(str(after).strip())
        except ValueError:
            raise InputRefused("after", ReturnCode.PARAMETER_FORMAT, "a call id from a previous page") from None
    rows = await list_calls(
        info.context.services.db,
        hospital_ids=hospital_ids,
        path=path,
        since=since,
        until=until,
        section=section.strip() if section is not None else None,
        reply_code=reply_code.strip() if reply_code is not None else None,
        before_id=before_id,
        limit=max(1, min(limit, MAX_CALLS)),
    )
    return [InboundCallRecord.from_row(row) for row in rows]


inbound_calls_field = strawberry.field(
    resolver=inbound_calls,
    description=(
        "Calls hospitals made to our shims, newest first, from the inbound ledger (bodies masked): what was "
        "asked, what was answered, and which repeats were answered as duplicates. Every shim call is there, 1.3.1 "
        "getPatientInfo included, and calls refused at authentication (50001) with the hospital they claimed "
        "(a hospital operator sees those claiming their hospital). Page with `after` (the last id of a page)."
    ),
)
