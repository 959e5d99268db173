"""Operators' accounts in the graph: the account type, the region administrators' list, and who is asking."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from services.identity.operators import OperatorSummary
from services.identity.principal import OperatorPrincipal

from ..access import Forbidden, Unauthenticated, refuse_invalid_session
from ..arguments import beijing
from ..context import Info
from ..refusal import Refusal


@strawberry.enum(description="What an operator sees.")
class OperatorRole(Enum):
    REGION = strawberry.enum_value("region", description="区域平台运营人员: every hospital of the region.")
    HOSPITAL = strawberry.enum_value("hospital", description="医院操作员: one hospital (hospitalId).")


@strawberry.type(description="An operator's account (never its password).")
class OperatorAccount:
    username: str = strawberry.field(description="The username the operator signs in with.")
    role: OperatorRole = strawberry.field(description="REGION (every hospital) or HOSPITAL (one hospital).")
    hospital_id: strawberry.ID | None = strawberry.field(description="A hospital operator's hospital; null for REGION.")
    disabled: bool = strawberry.field(description="Disabled operators cannot sign in; their sessions have ended.")
    last_login_at: datetime | None = strawberry.field(
        description="The last successful login (Beijing time, +08:00), if any."
    )

    @classmethod
    def of(cls, summary: OperatorSummary) -> OperatorAccount:
        return cls(
            username=summary.username,
            role=OperatorRole(summary.role),
            hospital_id=strawberry.ID(summary.hospital_id) if summary.hospital_id else None,
            disabled=summary.disabled,
            last_login_at=beijing(summary.last_login_at) if summary.last_login_at else None,
        )


OperatorAccountResult = Annotated[
    OperatorAccount | Refusal,
    strawberry.union(
        "OperatorAccountResult",
        description=(
            "The operator's account after the change, or why not (each mutation names its codes: NOT_FOUND, SELF, "
            "WRONG_PASSWORD, WEAK_PASSWORD with field newPassword, THROTTLED)."
        ),
    ),
]
"""What a change to an operator's account answers (disableOperator, changeOperatorPassword)."""


def signed_in_operator(info: Info) -> OperatorPrincipal:
    """The operator asking (their stored session checked for this request), or an UNAUTHENTICATED error."""
    principal = info.context.principal
    refuse_invalid_session(principal)
    if not isinstance(principal, OperatorPrincipal):
        raise Unauthenticated("请先用 logInOperator 登录。")
    return principal


def region_operator(info: Info) -> OperatorPrincipal:
    """A region administrator, or a 50001 error."""
    principal = signed_in_operator(info)
    if principal.role != "region":
        raise Forbidden("仅限区域平台运营人员。")
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
