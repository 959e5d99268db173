"""logInOperator: dashboard users sign in with the username and password an administrator created."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from services.identity.client_address import current_client_address
from services.identity.operators import LoginThrottled, OperatorRefused

from ...arguments import beijing
from ...context import Info
from ...refusal import Refusal
from ..types import LogInResult, Session


@strawberry.type
class OperatorLoginMutation:
    @strawberry.mutation(
        description=(
            "Sign in to the operators' dashboards (accounts are made with `hisgraph operator create`). The session "
            "is stored: it lasts 8 hours at most, ends after 30 minutes idle (settings), and ends at once on "
            "logOutOperator, a password change or reset, or when the operator is disabled. Refusal: WRONG_PASSWORD for "
            "a wrong username or password alike, THROTTLED after too many attempts."
        )
    )
    async def log_in_operator(
        self,
        info: Info,
        username: Annotated[str, strawberry.argument(description="The operator's username.")],
        password: Annotated[str, strawberry.argument(description="The operator's password.")],
    ) -> LogInResult:
        try:
            principal, expires_at = await info.context.services.operators.login(
                username, password, address=current_client_address()
            )
        except (LoginThrottled, OperatorRefused) as refused:
            return Refusal.of(refused)
        # The token lives as long as the stored session may; the session itself is checked on every request.
        ttl_s = max(1, int((expires_at - datetime.now(UTC)).total_seconds()))
        return Session(
            token=info.context.services.sessions.issue(principal, ttl_s=ttl_s), expires_at=beijing(expires_at)
        )
