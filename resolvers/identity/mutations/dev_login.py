"""devLogin: the demo's sign-in without WeChat (development mode only, never in production)."""

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
            "(card 001000056254587). Refused in production mode."
        )
    )
    async def dev_login(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="Any name; one account per name.")] = "demo",
    ) -> Session:
        services = info.context.services
        if not services.dev_login:
            raise Forbidden("devLogin exists only in development mode")
        account = await services.accounts.account_for(openid=f"dev:{name.strip() or 'demo'}")
        await services.accounts.grant(
            account_id=account.id,
            medical_card_number=DEMO_CARD,
            hospital_id=None,
            how="created",
            id_card_number=DEMO_ID_NUMBER,
        )
        return session_for(info, PatientPrincipal(account_id=account.id))
