"""What the payment mutations share: the card must be the caller's, and refusals are typed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from strawberry.scalars import JSON

from his_clients.errors import HisError
from services.identity.principal import PatientPrincipal
from services.payments.orders import CreatedOrder, OrderNotCancellable, QuoteUnavailable, UnknownOrder
from services.payments.providers.base import ProviderRejected, ProviderUnavailable

from ..access import NotFound, Unauthenticated
from ..context import Info
from ..errors import patient_message, record_hospital_text
from .types import CreatedPayment, PaymentOrder, PaymentRefusal


async def require_card(info: Info, medical_card_number: str) -> None:
    """The card must be one the signed-in account holds (else: exactly like a card that does not exist)."""
    if not isinstance(info.context.principal, PatientPrincipal):
        raise Unauthenticated("sign in as a patient to pay")
    held = await info.context.held_cards()
    if held is None or medical_card_number not in held.cards:
        raise NotFound()


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
    except NotFound as refused:
        return PaymentRefusal(code="20215", message=str(refused))
    except (QuoteUnavailable, HisError) as failure:
        code = getattr(failure, "code", None) or "HIS_UNAVAILABLE"
        hospital = failure if isinstance(failure, HisError) else failure.__cause__
        if isinstance(hospital, HisError):
            # The hospital's own text is for the operators' log; the patient reads 附四's words (issue 10 item 13).
            record_hospital_text(hospital)
            return PaymentRefusal(code=str(code), message=patient_message(str(code)))
        return PaymentRefusal(code=str(code), message=str(failure))
    except ProviderRejected as rejected:
        return PaymentRefusal(code=rejected.code, message=rejected.message)
    except ProviderUnavailable:
        return PaymentRefusal(code="PROVIDER_UNAVAILABLE", message="the payment provider could not be reached")
    except ValueError:
        # Amounts that do not add up (store.orders.AmountsDoNotAddUp): the message would carry Decimal reprs.
        return PaymentRefusal(code="20004", message="金额不正确：须为不小于0且最多两位小数的金额")
    finally:
        _payer_openid.reset(token)
    params = JSON(dict(created.prepay.pay_params)) if created.prepay is not None else None
    return CreatedPayment(order=PaymentOrder.of(created.order), pay_params=params)


__all__ = ["OrderNotCancellable", "UnknownOrder", "create", "openid_of", "require_card"]
