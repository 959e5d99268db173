"""``POST /payments/notify``: the payment provider's "paid" notification, answered only once it is committed.

Refund notifications come here too (WeChat's notify_url): acknowledged, nothing recorded.

WeChat Pay retries an unanswered or failed notification for 24 hours; the ledger records each
payment once (idempotent on outTradeNo and the notification's id), so repeats and concurrent
duplicates change nothing and still get the success answer they are waiting for.

Nothing a caller sends gives a 500: headers that are not ASCII (WeChat's always are) or anything the
provider cannot verify is 400 "invalid notification" (no ``str`` of the caller's ever reaches a digest
comparison). A correctly signed notification for an order we never made (another system of the same
merchant, or a store restored from an old backup) is answered with success, as WeChat Pay v3 asks, so
it stops re-sending, and is recorded for operators: a warning in our log and a row in the inbound
ledger (path /payments/notify, section ``notify``, reply code ``ORPHAN``).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolvers.context import Services
from services.payments.providers.base import (
    InvalidNotification,
    PaymentNotification,
    ProviderUnavailable,
    TradeState,
)
from services.payments.results import UnknownOrder
from services.shims.ledger import ShimCall, record_call

log = logging.getLogger("hisgraph.payments")


async def notify(request: Request) -> Response:
    services: Services = request.app.state.services
    body = await request.body()
    if not all(value.isascii() for value in request.headers.values()):
        log.warning("payment notification refused: a header is not ASCII")
        return _invalid()
    try:
        notification = await services.payment_provider.parse_notification(request.headers, body)
    except InvalidNotification as invalid:
        log.warning("payment notification refused: %s", invalid)
        return _invalid()
    except ProviderUnavailable:
        # Its certificate could not be fetched now: a 5xx makes the provider send it again later.
        return JSONResponse({"code": "FAIL", "message": "try again"}, status_code=503)
    except Exception:
        # Whatever the provider's parser tripped on, the caller sent it: not verified, not our failure.
        log.exception("payment notification could not be verified")
        return _invalid()
    if notification.out_refund_no is not None or notification.state is not TradeState.PAID:
        # A refund's outcome (REFUND.*, sent when wechatpay.notify_url is set): the refund sagas learn it by
        # asking the provider, so it is only acknowledged; unanswered, WeChat would send it for 24 hours.
        log.info("refund notification", extra={"out_trade_no": notification.out_trade_no})
        return Response(status_code=204)
    try:
        recorded = await services.payments.record_payment(notification)
    except UnknownOrder:
        await _record_orphan(services, notification)
        return Response(status_code=204)
    log.info(
        "payment notification",
        extra={
            "out_trade_no": notification.out_trade_no,
            "duplicate": recorded.duplicate,
            "state": recorded.order.state,
        },
    )
    return Response(status_code=204)


def _invalid() -> Response:
    return JSONResponse({"code": "FAIL", "message": "invalid notification"}, status_code=400)


async def _record_orphan(services: Services, notification: PaymentNotification) -> None:
    """A verified payment for no order of ours: for operators (log and inbound ledger); WeChat gets success."""
    facts = {
        "out_trade_no": notification.out_trade_no,
        "transaction_id": notification.transaction_id,
        "amount": str(notification.amount),
        "event_id": notification.event_id,
        "paid_at": notification.paid_at.isoformat() if notification.paid_at else None,
    }
    log.warning("payment notification for an unknown order: acknowledged, needs an operator", extra=facts)
    reply = {"code": "SUCCESS", "message": "unknown order: recorded for operators"}
    call = ShimCall(section="notify", path="/payments/notify", hospital_id=None, body=facts)
    await record_call(services.db, call, reply_code="ORPHAN", reply=reply)


routes = [Route("/payments/notify", notify, methods=["POST"])]
