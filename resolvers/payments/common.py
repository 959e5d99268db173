"""What the payment mutations share: the card must be the caller's, and refusals are typed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from strawberry.scalars import JSON

from his_clients.errors import HisError
from services.identity.principal import PatientPrincipal
from services.payments.orders import CreatedOrder, OrderNotCancellable, QuoteUnavailable, UnknownOrder
from services.payments.providers.base import ProviderRejected, ProviderUnavailable
from services.payments.results import AmountRefused

from ..access import NotFound, SessionInvalid, Unauthenticated
from ..context import Info
from ..errors import patient_message, record_hospital_text
from .types import CreatedPayment, PaymentOrder, PaymentRefusal

NO_SUCH_ORDER = "订单不存在。"
NOT_CANCELLABLE = "该订单当前不能取消（只有待支付的订单可以取消，已支付的预约请用取消预约退款）。"
NOT_REFUNDABLE = "该订单当前不能退款（只有已支付且医院已办理的预约可以取消退款）。"


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
        raise Unauthenticated("请先以患者身份登录: sign in as a patient to pay")
    held = await info.context.held_cards()
    if held is None or medical_card_number not in held.cards:
        raise NotFound()


log = logging.getLogger("hisgraph.payments")
_QUOTE_UNAVAILABLE = "暂时无法获取医院的收费信息，请稍后再试或到医院窗口办理。"

_payer_openid: ContextVar[str | None] = ContextVar("payer_openid", default=None)


def openid_of(info: Info) -> str | None:
    """The signed-in payer's openid (WeChat Pay's JSAPI prepay needs it), read by `create` before `make` runs."""
    return _payer_openid.get()


async def create(info: Info, make: Callable[[], Awaitable[CreatedOrder]]) -> CreatedPayment | PaymentRefusal:
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
        raise  # not signed in: the same error (UNAUTHENTICATED) as every query and mutation, never a 20004
    except NotFound as refused:
        return PaymentRefusal(code="20215", message=str(refused))
    except (QuoteUnavailable, HisError) as failure:
        code = getattr(failure, "code", None) or "HIS_UNAVAILABLE"
        hospital = failure if isinstance(failure, HisError) else failure.__cause__
        if isinstance(hospital, HisError):
            # The hospital's own text is for the operators' log; the patient reads 附四's words (issue 10 item 13).
            record_hospital_text(hospital)
            return PaymentRefusal(code=str(code), message=patient_message(str(code)))
        if isinstance(failure, AmountRefused):
            return PaymentRefusal(code=str(code), message=str(failure))  # written for the patient, in Chinese
        # Our own reason (a schedule not found, a price missing) is English for the log; the patient reads
        # the code's fixed words, or ours (issue 12 item 14).
        log.info("payment refused: %s (%s)", failure, code)
        return PaymentRefusal(
            code=str(code), message=_QUOTE_UNAVAILABLE if code == "HIS_UNAVAILABLE" else patient_message(str(code))
        )
    except ProviderRejected as rejected:
        return PaymentRefusal(code=rejected.code, message=rejected.message)
    except ProviderUnavailable:
        return PaymentRefusal(code="PROVIDER_UNAVAILABLE", message="支付服务暂时无法连接，请稍后再试。")
    except ValueError:
        # Amounts that do not add up (store.orders.AmountsDoNotAddUp): the message would carry Decimal reprs.
        return PaymentRefusal(code="20004", message="金额不正确：须为不小于0且最多两位小数的金额")
    finally:
        _payer_openid.reset(token)
    params = JSON(dict(created.prepay.pay_params)) if created.prepay is not None else None
    return CreatedPayment(order=PaymentOrder.of(created.order), pay_params=params)


__all__ = [
    "NOT_CANCELLABLE",
    "NOT_REFUNDABLE",
    "NO_SUCH_ORDER",
    "OrderNotCancellable",
    "UnknownOrder",
    "create",
    "for_patient",
    "openid_of",
    "require_card",
]
