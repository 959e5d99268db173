"""logInForDevelopment: the demo's sign-in without WeChat (development mode only, never in production)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.identity.principal import PatientPrincipal

from ...access import Forbidden
from ...context import Info
from ..types import Session
from .common import session_for

DEMO_CARD = "001000056254587"
DEMO_ID_NUMBER = "370102197907025236"


@strawberry.type
class DevLoginMutation:
    @strawberry.mutation(
        description=(
            "Development mode only: sign in as a demo account that holds the simulated region's example patient "
            "(card 001000056254587), or, with withCard: false, an account that holds no card (to try binding "
            "from zero: startCardBinding, then the code the demo prints). Refused in production mode."
        )
    )
    async def log_in_for_development(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="Any name; one account per name.")] = "demo",
        with_card: Annotated[
            bool,
            strawberry.argument(
                description="true (the default): the account holds the example card; false: it holds none yet."
            ),
        ] = True,
    ) -> Session:
        services = info.context.services
        if not services.dev_login:
            raise Forbidden("logInForDevelopment 仅在开发模式下可用。")
        account = await services.accounts.account_for(openid=f"dev:{name.strip() or 'demo'}")
        if not with_card:
            return session_for(info, PatientPrincipal(account_id=account.id))
        await services.accounts.grant(
            account_id=account.id,
            medical_card_number=DEMO_CARD,
            hospital_id=None,
            how="created",
            id_card_number=DEMO_ID_NUMBER,
        )
        return session_for(info, PatientPrincipal(account_id=account.id))
