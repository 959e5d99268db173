"""operatorLogin: dashboard users sign in with the username and password an administrator created."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.identity.client_address import current_client_address
from services.identity.operators import LoginThrottled, OperatorRefused

from ...context import Info
from ..types import IdentityRefusal, Session
from .common import session_for


@strawberry.type
class OperatorLoginMutation:
    @strawberry.mutation(
        description="Sign in to the operators' dashboards (accounts are made with `hisgraph operator create`)."
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
            principal = await info.context.services.operators.authenticate(
                username, password, address=current_client_address()
            )
        except LoginThrottled as throttled:
            return IdentityRefusal(
                code="40001", message=f"登录尝试过于频繁，请{throttled.retry_after_s}秒后再试: {throttled}"
            )
        except OperatorRefused as refused:
            return IdentityRefusal(code="50001", message=str(refused))
        return session_for(info, principal)
