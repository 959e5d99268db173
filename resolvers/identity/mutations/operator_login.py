"""operatorLogin: dashboard users sign in with the username and password an administrator created."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from services.identity.client_address import current_client_address
from services.identity.operators import LoginThrottled, OperatorRefused

from ...context import Info
from ..types import IdentityRefusal, Session


@strawberry.type
class OperatorLoginMutation:
    @strawberry.mutation(
        description=(
            "Sign in to the operators' dashboards (accounts are made with `hisgraph operator create`). The session "
            "is stored: it lasts 8 hours at most, ends after 30 minutes idle (settings), and ends at once on "
            "operatorLogout, a password change or reset, or when the operator is disabled."
        )
    )
    async def operator_login(
        self,
        info: Info,
        username: Annotated[str, strawberry.argument(description="The operator's username.")],
        password: Annotated[str, strawberry.argument(description="The operator's password.")],
    ) -> Annotated[
        Session | IdentityRefusal,
        strawberry.union("OperatorSessionResult", description="An operator's session, or why the login was refused."),
    ]:
        try:
            principal, expires_at = await info.context.services.operators.login(
                username, password, address=current_client_address()
            )
        except LoginThrottled as throttled:
            return IdentityRefusal(
                code="40001", message=f"登录尝试过于频繁，请{throttled.retry_after_s}秒后再试: {throttled}"
            )
        except OperatorRefused as refused:
            return IdentityRefusal(code="50001", message=str(refused))
        # The token lives as long as the stored session may; the session itself is checked on every request.
        ttl_s = max(1, int((expires_at - datetime.now(UTC)).total_seconds()))
        return Session(token=info.context.services.sessions.issue(principal, ttl_s=ttl_s), expires_at=expires_at)
