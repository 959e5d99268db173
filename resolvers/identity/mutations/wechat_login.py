"""logInWithWeChat: a `wx.login` code becomes a session."""

from __future__ import annotations

import logging
from typing import Annotated

import strawberry

from services.identity.accounts import IdentityRefused
from services.identity.principal import PatientPrincipal
from services.identity.wechat import WeChatLoginError

from ...context import Info
from ...refusal import Refusal
from ..types import LogInResult
from .common import session_for

log = logging.getLogger("hisgraph.identity")


@strawberry.type
class WeChatLoginMutation:
    @strawberry.mutation(
        description=(
            "Sign in with the code from `wx.login` (exchanged at WeChat's jscode2session). "
            "Refusal: UNAUTHORIZED when WeChat refuses the code."
        )
    )
    async def log_in_with_we_chat(
        self, info: Info, code: Annotated[str, strawberry.argument(description="The code wx.login returned.")]
    ) -> LogInResult:
        try:
            account = await info.context.services.accounts.login_with_wechat(code.strip())
        except WeChatLoginError as refused:
            log.info("WeChat login refused: %s (errcode %s)", refused.detail, refused.errcode)
            return Refusal.of(refused)
        except IdentityRefused as refused:
            return Refusal.of(refused)
        return session_for(info, PatientPrincipal(account_id=account.id))
