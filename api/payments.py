"""``POST /payments/notify``: the payment provider's "paid" notification, answered only once it is committed.

Refund notifications come here too (WeChat's notify_url): acknowledged, nothing recorded.

WeChat Pay retries an unanswered or failed notification for 24 hours; the ledger records each
payment once (idempotent on outTradeNo and the notification's id), so repeats and concurrent
duplicates change nothing and still get the success answer they are waiting for.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from resolvers.context import Services
from services.payments.providers.base import InvalidNotification, ProviderUnavailable, TradeState

log = logging.getLogger("hisgraph.payments")


async def notify(request: Request) -> Response:
    services: Services = request.app.state.services
    body = await request.body()
    try:
        notification = await services.payment_provider.parse_notification(request.headers, body)
    except InvalidNotification as invalid:
        log.warning("payment notification refused: %s", invalid)
        return JSONResponse({"code": "FAIL", "message": "invalid notification"}, status_code=400)
    except ProviderUnavailable:
        # Its certificate could not be fetched now: a 5xx makes the provider send it again later.
        return JSONResponse({"code": "FAIL", "message": "try again"}, status_code=503)
    if notification.out_refund_no is not None or notification.state is not TradeState.PAID:
        # A refund's outcome (REFUND.*, sent when wechatpay.notify_url is set): the refund sagas learn it by
        # asking the provider, so it is only acknowledged; unanswered, WeChat would send it for 24 hours.
        log.info("refund notification", extra={"out_trade_no": notification.out_trade_no})
        return Response(status_code=204)
    recorded = await services.payments.record_payment(notification)
    log.info(
        "payment notification",
        extra={
            "out_trade_no": notification.out_trade_no,
            "duplicate": recorded.duplicate,
            "state": recorded.order.state,
        },
    )
    return Response(status_code=204)


routes = [Route("/payments/notify", notify, methods=["POST"])]
