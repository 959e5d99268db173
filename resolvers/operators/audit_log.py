"""auditLog: the operators' audit trail, newest first, paged by cursor (issue 15 item 12)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from his_clients.codes import ReturnCode
from services.audit import ACTIONS
from store.audit import AuditRepository

from ..arguments import MaybeFromTime, MaybeToTime
from ..context import Info
from ..results import InputRefused
from .accounts import signed_in_operator
from .orders import window

MAX_PAGE = 200


@strawberry.type(description="One audited event: a login or failed login, an action, or a read of patients' data.")
class AuditLogEntry:
    id: strawberry.ID = strawberry.field(description="The row's id (rows are never changed or removed).")
    at: datetime = strawberry.field(description="When (UTC).")
    operator: str = strawberry.field(description="Who: the operator's username (cli for the command line).")
    action: str = strawberry.field(description=f"What: one of {', '.join(ACTIONS)}.")
    hospital_id: strawberry.ID | None = strawberry.field(
        description="The hospital it concerns; null for region-wide rows."
    )
    target: str | None = strawberry.field(
        description="What it acted on: an operator's username, a call id, or a patient, masked (card 0010****4587)."
    )
    detail: str | None = strawberry.field(description="More, as JSON text (the view a read came from...).")
    address: str | None = strawberry.field(description="The client address the request came from.")


@strawberry.type(description="A page of the audit trail, newest first.")
class AuditLogPage:
    entries: list[AuditLogEntry] = strawberry.field(description="This page's rows.")
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page; null when none.")
    has_next_page: bool = strawberry.field(description="Whether older rows follow.")


async def audit_log(
    info: Info,
    operator: Annotated[str | None, strawberry.argument(description="Only this operator's rows (username).")] = None,
    action: Annotated[
        str | None, strawberry.argument(description="Only this action (see AuditLogEntry.action).")
    ] = None,
    from_: MaybeFromTime = None,
    to: MaybeToTime = None,
    first: Annotated[int, strawberry.argument(description=f"Rows per page, 1-{MAX_PAGE}.")] = 50,
    after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")] = None,
) -> AuditLogPage:
    principal = signed_in_operator(info)
    if not 1 <= first <= MAX_PAGE:
        raise InputRefused("first", ReturnCode.PARAMETER_RANGE, f"between 1 and {MAX_PAGE}")
    if action is not None and action not in ACTIONS:
        raise InputRefused("action", ReturnCode.PARAMETER_FORMAT, f"one of {', '.join(ACTIONS)}")
    if after is not None and not (after.isascii() and after.isdigit() and len(after) < 19):
        raise InputRefused("after", ReturnCode.PARAMETER_FORMAT, "not a cursor this field gave")
    since, until = window(from_, to)
    async with info.context.services.db.session() as db:
        rows = await AuditRepository(db).page(
            hospital_id=principal.hospital_id,
            region=principal.role == "region",
            username=operator.strip() if operator else None,
            action=action,
            since=since,
            until=until,
            after_id=int(after) if after else None,
            limit=first + 1,
        )
    more = len(rows) > first
    rows = rows[:first]
    return AuditLogPage(
        entries=[
            AuditLogEntry(
                id=strawberry.ID(str(r.id)),
                at=r.at,
                operator=r.username,
                action=r.action,
                hospital_id=strawberry.ID(r.hospital_id) if r.hospital_id else None,
                target=r.target,
                detail=r.detail,
                address=r.address,
            )
            for r in rows
        ],
        end_cursor=str(rows[-1].id) if rows and more else None,
        has_next_page=more,
    )


audit_log_field = strawberry.field(
    resolver=audit_log,
    description=(
        "The operators' audit trail (append-only): logins and failed logins, account actions, replays and reads "
        "that returned patients' data, newest first. A hospital operator reads only their hospital's rows."
    ),
)
