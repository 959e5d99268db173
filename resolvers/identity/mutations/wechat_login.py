"""loginWithWeChat: a `wx.login` code becomes a session."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.identity.accounts import IdentityRefused
from services.identity.principal import PatientPrincipal
from services.identity.wechat import WeChatLoginError

from ...context import Info
from ..types import IdentityRefusal, Session
from .common import session_for


@strawberry.type
class WeChatLoginMutation:
    @strawberry.mutation(description="Sign in with the code from `wx.login` (exchanged at WeChat's jscode2session).")
    async def login_with_we_chat(
        self, info: Info, code: Annotated[str, strawberry.argument(description="The code wx.login returned.")]
    ) -> Annotated[
        Session | IdentityRefusal,
        strawberry.union("SessionResult", description="A session for the WeChat user, or why the login was refused."),
    ]:
        try:
            account = await info.context.services.accounts.login_with_wechat(code.strip())
        except (WeChatLoginError, IdentityRefused) as refused:
            return IdentityRefusal(code="50001", message=str(refused))
        return session_for(info, PatientPrincipal(account_id=account.id))
