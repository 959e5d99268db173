"""What the payment mutations share: the card must be the caller's, and every refusal is the one ``Refusal``.

Only expected refusals become a ``Refusal``: ``Refused`` (ours), a hospital's ``HisError``, and the payment
services' own refusals (``QuoteUnavailable`` / ``AmountRefused``, ``ProviderUnavailable`` / ``ProviderRejected``).
Anything else, a ``ValueError`` included, is a bug: it propagates and production masks it (issue 12 item 3).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

import strawberry
from strawberry.scalars import JSON

from his_clients.errors import HisError
from services.identity.principal import PatientPrincipal
from services.payments.orders import CreatedOrder, QuoteUnavailable
from services.payments.providers.base import ProviderRejected, ProviderUnavailable
from services.payments.results import AmountRefused
from services.refusals import RefusalCode, Refused

from ..access import NotFound, SessionInvalid, Unauthenticated
from ..context import Info
from ..errors import record_hospital_text
from ..refusal import Refusal
from .types import CreatedPayment, PaymentOrder

log = logging.getLogger("hisgraph.payments")

NO_SUCH_ORDER = "订单不存在。"
NOT_CANCELLABLE = "该订单当前不能取消（只有待支付的订单可以取消，已支付的预约请用取消预约退款）。"
NOT_REFUNDABLE = "该订单当前不能退款（只有已支付且医院已办理的预约可以取消退款）。"
_QUOTE_UNAVAILABLE = "暂时无法获取医院的收费信息，请稍后再试或到医院窗口办理。"


def for_patient(refused: Exception, fallback: str) -> str:
    """A refusal's words for the patient: the service's own text when it is written in Chinese for the patient,
    else ``fallback`` (an English reason names order states and numbers: it goes to the log, issue 12 item 14)."""
    text = str(refused)
    if text and "\u4e00" <= text[0] <= "\u9fff":
        return text
    log.info("refused: %s", text)
    return fallback


async def require_card(info: Info, medical_card_number: str) -> None:
    """The card must be one the signed-in account holds (else: exactly like a card that does not exist)."""
    if not isinstance(info.context.principal, PatientPrincipal):
        raise Unauthenticated("请先以患者身份登录。")
    held = await info.context.held_cards()
    if held is None or medical_card_number not in held.cards:
        raise NotFound()


def refusal_of(failure: Exception, hospital_id: str) -> Refusal | None:
    """The ``Refusal`` a payment mutation answers for an expected failure; None for anything else (a bug)."""
    if isinstance(failure, Refused):
        if isinstance(failure.__cause__, HisError):
            record_hospital_text(failure.__cause__)  # the hospital's own words: for the operators' log only
        return Refusal.of(failure)
    if isinstance(failure, HisError):
        record_hospital_text(failure)
        return Refusal.of(Refused(RefusalCode.of(failure.code), hospital_id=failure.hospital_id))
    if isinstance(failure, AmountRefused):
        # Written for the patient, in Chinese, never with a Python repr of the amount.
        return Refusal.of(Refused(RefusalCode.of(failure.code), str(failure)))
    if isinstance(failure, QuoteUnavailable):
        cause = failure.__cause__
        if isinstance(cause, HisError):
            # The hospital's own text is for the operators' log; the patient reads 附四's words (issue 10 item 13).
            record_hospital_text(cause)
            code = RefusalCode.of(failure.code or cause.code)
            return Refusal.of(Refused(code, hospital_id=cause.hospital_id))
        # Our own reason (a schedule not found, a price missing) is English for the log; the patient reads
        # the code's fixed words, or ours (issue 12 item 14). Nothing was written at the hospital.
        log.info("payment refused: %s (%s)", failure, failure.code)
        if failure.code is None:
            return Refusal(
                code=RefusalCode.HIS_UNAVAILABLE,
                message=_QUOTE_UNAVAILABLE,
                field=None,
                hospital_id=strawberry.ID(hospital_id),
                outcome_unknown=False,
            )
        return Refusal.of(Refused(RefusalCode.of(failure.code)))
    if isinstance(failure, ProviderRejected | ProviderUnavailable):
        # Nothing was charged either way; what the provider said is for the log.
        log.warning("payment provider refused or unreachable: %s", failure)
        return Refusal.of(Refused(RefusalCode.PROVIDER_UNAVAILABLE))
    return None


_payer_openid: ContextVar[str | None] = ContextVar("payer_openid", default=None)


def openid_of(info: Info) -> str | None:
    """The signed-in payer's openid (WeChat Pay's JSAPI prepay needs it), read by `create` before `make` runs."""
    return _payer_openid.get()


async def create(info: Info, hospital_id: str, make: Callable[[], Awaitable[CreatedOrder]]) -> CreatedPayment | Refusal:
    principal = info.context.principal
    openid = (
        await info.context.services.accounts.openid(principal.account_id)
        if isinstance(principal, PatientPrincipal)
        else None
    )
    token = _payer_openid.set(openid)
    try:
        created = await make()
    except (Unauthenticated, SessionInvalid):
        raise  # not signed in: the same error (UNAUTHENTICATED) as every query and mutation, never a Refusal
    except Exception as failure:
        refusal = refusal_of(failure, hospital_id)
        if refusal is None:
            raise  # a bug: production masks it, and it is logged in full
        return refusal
    finally:
        _payer_openid.reset(token)
    params = JSON(dict(created.prepay.pay_params)) if created.prepay is not None else None
    return CreatedPayment(order=PaymentOrder.of(created.order), pay_params=params)


__all__ = [
    "NOT_CANCELLABLE",
    "NOT_REFUNDABLE",
    "NO_SUCH_ORDER",
    "create",
    "for_patient",
    "openid_of",
    "refusal_of",
    "require_card",
]
