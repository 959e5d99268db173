"""logOutOperator and changeOperatorPassword: an operator ends their session, or changes their password (which
ends their other sessions)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.identity.operators import LoginThrottled, OperatorRefused, WeakPassword

from ...context import Info
from ...operators.accounts import OperatorAccount, OperatorAccountResult, signed_in_operator
from ...refusal import Refusal


@strawberry.type
class OperatorLogoutMutation:
    @strawberry.mutation(
        description="End the operator's current session: its token opens nothing from now on. True when it ended."
    )
    async def log_out_operator(self, info: Info) -> bool:
        return await info.context.services.operators.logout(signed_in_operator(info))


@strawberry.type
class OperatorPasswordChangeMutation:
    @strawberry.mutation(
        description=(
            "Change the signed-in operator's password (at least 12 characters). The old password is counted like "
            "a login attempt (locked after repeated failures); every other session of the operator ends. "
            "Refusal: WRONG_PASSWORD, WEAK_PASSWORD (field newPassword), THROTTLED."
        )
    )
    async def change_operator_password(
        self,
        info: Info,
        old_password: Annotated[str, strawberry.argument(description="The current password.")],
        new_password: Annotated[str, strawberry.argument(description="The new password, at least 12 characters.")],
    ) -> OperatorAccountResult:
        operators = info.context.services.operators
        actor = signed_in_operator(info)
        try:
            await operators.change_password(actor, old_password, new_password)
        except (LoginThrottled, OperatorRefused) as refused:
            return Refusal.of(refused)
        except WeakPassword as weak:
            weak.field = "newPassword"
            return Refusal.of(weak)
        [summary] = [s for s in await operators.list() if s.username == actor.username]
        return OperatorAccount.of(summary)
