"""Reconciliation the hospitals ask of us (spec 14.1.1-14.1.3), answered from the money ledger.

The answers are computed by services.payments.reconciliation (see its docstring for what counts as a
line); these shims read the hospital's JSON, scope every query to the caller's hospital (even 14.1.1 by
outTradeNo, where the spec voids the other conditions), and answer in each entry's own shape:

- 14.1.1 ``{success, msg, code, data: [line...]}``; a window longer than 7 days or reversed: 20004;
  a tradeType other than PAY / REFUND / empty: 20004. No trade in the window: ``data: []``.
- 14.1.2 ``{success, message, data: [refund...]}`` (its example has ``message`` and no ``code``); a refusal
  also carries ``code`` so the hospital can tell 20001 from 50001. No such refund: ``data: []``.
- 14.1.3 ``{success, msg, code, data: {...}}``; an unknown number: 10002 (未查询到数据).

The inbound ledger records each call with a summary of the answer (how many lines, which numbers): the
lines carry payers' names, which the ledger does not keep.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from services.payments.clock import CHINA_TIME
from services.payments.reconciliation import QueryRefused, ReconciliationService, TradeType, split_codes
from services.shims.ledger import ShimCall, record_call

from .envelope import JsonEnvelope, ShimError
from .platform import platform_shim, reply_response, success_reply

MAX_NUMBERS_RECORDED = 100
"""At most this many order numbers in the ledger's summary of one answer."""
FIRST_YEAR = 1900
LAST_YEAR = 9998


def spec_moment(label: str, text: str) -> datetime:
    """A 14.1.1 time as validation admits it (yyyy-MM-dd HH:mm:ss, or without seconds, or a date), Beijing time."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text.strip(), fmt).replace(tzinfo=CHINA_TIME)
        except ValueError:
            continue
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            # Year 1 in Beijing time is before year 1 in UTC: no store could compare it.
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 应在{FIRST_YEAR}-{LAST_YEAR}年之间")
        return moment
    raise ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: {label} 应为 yyyy-MM-dd HH:mm:ss")


def trade_type_of(raw: str | None) -> TradeType | None:
    if raw is None or not raw.strip():
        return None
    try:
        return TradeType(raw.strip().upper())
    except ValueError:
        raise ShimError(ReturnCode.PARAMETER_RANGE, "参数超出范围: tradeType 应为 PAY、REFUND 或空") from None


def refused(error: QueryRefused) -> ShimError:
    code = ReturnCode.parse(error.code) or ReturnCode.PARAMETER_RANGE
    return ShimError(code, f"{code.meaning}: {error.field} ({error})")


def summary(reply: dict[str, Any], numbers: list[str]) -> dict[str, Any]:
    """The reply as the ledger keeps it: the envelope, and the numbers answered instead of the lines."""
    kept = {key: value for key, value in reply.items() if key != "data"}
    kept["data"] = {"count": len(numbers), "outTradeNos": numbers[:MAX_NUMBERS_RECORDED]}
    return kept


@platform_shim("14.1.1")
async def trades_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """14.1.1 prefront/reconciliation/query: payments and refunds of the caller's hospital in a time window."""
    start = spec_moment("startTime", fields["startTime"])
    end = spec_moment("endTime", fields["endTime"])
    service = ReconciliationService(request.app.state.services.db)
    try:
        lines = await service.trades(
            start=start,
            end=end,
            business_types=split_codes(fields["businessType"]),
            hospital_id=call.hospital_id,
            trade_type=trade_type_of(fields["tradeType"]),
            pay_type=fields["payType"],
            out_trade_no=fields["outTradeNo"],
        )
    except QueryRefused as error:
        raise refused(error) from error
    reply = success_reply("14.1.1", [line.to_wire() for line in lines])
    numbers = [line.out_trade_no for line in lines]
    await record_call(request.app.state.services.db, call, reply_code=str(reply["code"]), reply=summary(reply, numbers))
    return reply_response(reply)


@platform_shim("14.1.2")
async def _refunds_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    service = ReconciliationService(request.app.state.services.db)
    records = await service.refunds_by_hospital_refund_no(fields["hospitalRefundNo"], hospital_id=call.hospital_id)
    reply: dict[str, Any] = {"success": True, "message": None, "data": [record.to_wire() for record in records]}
    numbers = [record.out_trade_no for record in records]
    ledger_reply = summary({**reply, "code": ReturnCode.SUCCESS.value}, numbers)
    await record_call(request.app.state.services.db, call, reply_code=ReturnCode.SUCCESS.value, reply=ledger_reply)
    return reply_response(reply)


async def refunds_shim(request: Request) -> Response:
    """14.1.2 prefront/reconciliation/queryByHospitalRefundNo: refunds the caller knows by its own refund number.

    This entry's reply says ``message``, not ``msg``: a refusal is reshaped to it (keeping ``code``).
    """
    response = await _refunds_shim(request)
    reply = json.loads(bytes(response.body))
    if "msg" not in reply:
        return response
    return JsonEnvelope(
        {"success": reply["success"], "message": reply["msg"], "code": reply.get("code"), "data": reply.get("data")}
    )


@platform_shim("14.1.3")
async def payment_record_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """14.1.3 prefront/reconciliation/paymentRecord: one payment or refund of the caller's by its number."""
    service = ReconciliationService(request.app.state.services.db)
    record = await service.payment_record(fields["outTradeNo"], hospital_id=call.hospital_id)
    if record is None:
        raise ShimError(ReturnCode.NO_DATA, f"未查询到数据: {fields['outTradeNo']}")
    reply = success_reply("14.1.3", record.to_wire())
    await record_call(request.app.state.services.db, call, reply_code=str(reply["code"]), reply=reply)
    return reply_response(reply)


routes = [
    Route("/prefront/reconciliation/query", trades_shim, methods=["POST"]),
    Route("/prefront/reconciliation/queryByHospitalRefundNo", refunds_shim, methods=["POST"]),
    Route("/prefront/reconciliation/paymentRecord", payment_record_shim, methods=["POST"]),
]
