"""disableOperator and resetOperatorPassword: region administrators take an operator's access away (issue 15
item 11). Both end every session of the operator at once and are audited in the same transaction."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.identity.operators import CannotDisableSelf, OperatorNotFound

from ...context import Info
from ...operators.accounts import OperatorAccount, OperatorAccountResult, region_operator
from ...refusal import Refusal

Username = Annotated[str, strawberry.argument(description="The operator's username.")]


@strawberry.type(description="A new one-time password, shown this once; the operator's sessions have ended.")
class OperatorPasswordReset:
    username: str = strawberry.field(description="Whose password was reset.")
    one_time_password: str = strawberry.field(
        description="A generated password (20 characters) to hand to the operator, who should change it with "
        "changeOperatorPassword after signing in. It is stored hashed and never shown again."
    )


@strawberry.type
class OperatorAdminMutation:
    @strawberry.mutation(
        description=(
            "Disable an operator (region operators only): they cannot sign in, and every session of theirs ends "
            "at once. Audited. Refusal: NOT_FOUND no such operator, SELF your own account."
        )
    )
    async def disable_operator(self, info: Info, username: Username) -> OperatorAccountResult:
        actor = region_operator(info)
        operators = info.context.services.operators
        try:
            await operators.disable(actor, username)
        except (OperatorNotFound, CannotDisableSelf) as refused:
            return Refusal.of(refused)
        [summary] = [s for s in await operators.list() if s.username == username.strip()]
        return OperatorAccount.of(summary)

    @strawberry.mutation(
        description=(
            "Reset an operator's password (region operators only) to a generated one-time password, returned once; "
            "every session of theirs ends at once. Audited. A password is never chosen by the administrator."
        )
    )
    async def reset_operator_password(
        self, info: Info, username: Username
    ) -> Annotated[
        OperatorPasswordReset | Refusal,
        strawberry.union(
            "ResetOperatorPasswordResult",
            description="The one-time password, or why not (Refusal: NOT_FOUND no such operator).",
        ),
    ]:
        actor = region_operator(info)
        try:
            password = await info.context.services.operators.reset_password(actor, username)
        except OperatorNotFound as refused:
            return Refusal.of(refused)
        return OperatorPasswordReset(username=username.strip(), one_time_password=password)
