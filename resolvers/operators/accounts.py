"""Operators' accounts in the graph: the account type, the region administrators' list, and who is asking."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from services.identity.operators import OperatorSummary
from services.identity.principal import OperatorPrincipal

from ..access import Forbidden, Unauthenticated, refuse_invalid_session
from ..context import Info


@strawberry.type(description="An operator's account (never its password).")
class OperatorAccount:
    username: str = strawberry.field(description="The username the operator signs in with.")
    role: str = strawberry.field(description="region (every hospital) or hospital (one hospital).")
    hospital_id: str | None = strawberry.field(description="A hospital operator's hospital; null for region.")
    disabled: bool = strawberry.field(description="Disabled operators cannot sign in; their sessions have ended.")
    last_login_at: datetime | None = strawberry.field(description="The last successful login (UTC), if any.")

    @classmethod
    def of(cls, summary: OperatorSummary) -> OperatorAccount:
        return cls(
            username=summary.username,
            role=summary.role,
            hospital_id=summary.hospital_id,
            disabled=summary.disabled,
            last_login_at=summary.last_login_at,
        )


@strawberry.enum(description="Why an action on an operator's account was not done.")
class OperatorAccountRefusalCode(Enum):
    NOT_FOUND = strawberry.enum_value("NOT_FOUND", description="No operator has that username.")
    SELF = strawberry.enum_value("SELF", description="An operator cannot disable their own account.")
    WRONG_PASSWORD = strawberry.enum_value("WRONG_PASSWORD", description="The old password is wrong.")
    WEAK_PASSWORD = strawberry.enum_value(
        "WEAK_PASSWORD", description="The new password is too short (at least 12 characters) or unchanged."
    )
    THROTTLED = strawberry.enum_value(
        "THROTTLED", description="Too many wrong passwords for this username: try again later."
    )


@strawberry.type(description="An action on an operator's account was not done, and why.")
class OperatorAccountRefusal:
    code: OperatorAccountRefusalCode = strawberry.field(description="Why.")
    message: str = strawberry.field(description="What went wrong, in words.")


def signed_in_operator(info: Info) -> OperatorPrincipal:
    """The operator asking (their stored session checked for this request), or an UNAUTHENTICATED error."""
    principal = info.context.principal
    refuse_invalid_session(principal)
    if not isinstance(principal, OperatorPrincipal):
        raise Unauthenticated("sign in with operatorLogin first")
    return principal


def region_operator(info: Info) -> OperatorPrincipal:
    """A region administrator, or a 50001 error."""
    principal = signed_in_operator(info)
    if principal.role != "region":
        raise Forbidden("region operators only")
    return principal


async def operators(info: Info) -> list[OperatorAccount] | None:
    region_operator(info)
    return [OperatorAccount.of(s) for s in await info.context.services.operators.list()]


operators_field = strawberry.field(
    resolver=operators,
    description=(
        "Every operator's account, by username (region operators only; a hospital operator gets a 50001 error on "
        "this field alone)."
    ),
)
