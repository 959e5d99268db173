"""Insurance-order shims the hospitals call: 5.2.1 cancelInsuranceOrder, and the deprecated 6.1.1 and 6.1.2.

Chapter 6 (诊间医保支付, 淄博专版，已废弃) has no flow here: its two paths are answered from our chapter-5
insurance orders (services.shims.insurance_orders), so a hospital still calling them is not left without
an answer. An hisTradeId the calling hospital has no insurance order for is 10002 (未查询到数据).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from his_clients.models.base import render_money
from services.shims.insurance_orders import Cancellation, cancel_insurance_order, insurance_payment_status
from services.shims.ledger import ShimCall, record_call

from .envelope import ShimError
from .platform import platform_shim, reply_response, route_path, success_reply

NO_ORDER = "未查询到该医保订单"
REFUSED: dict[Cancellation, tuple[ReturnCode, str]] = {
    Cancellation.COMPLETED: (ReturnCode.NOT_ALLOWED, "医保结算所有流程已完成，订单不能撤销"),
    Cancellation.UNCERTAIN: (ReturnCode.NO_DATA, "订单状态不明，待人工核实后处理"),
    Cancellation.PROCESSING: (ReturnCode.PROCESSING, "订单支付处理中，请稍后再试"),
    Cancellation.UNKNOWN: (ReturnCode.NO_DATA, NO_ORDER),
}
"""What a cancellation that did not happen answers: NOTIFIED is 取消失败 (5.2.1), PARKED is uncertain (10002)."""


def _cancel_reply(section: str, outcome: Cancellation) -> dict[str, Any]:
    """5.2.1's reply carries data "1"/"0" (订单取消成功/失败); 6.1.2's has no data."""
    with_data = "data" in success_reply(section)
    if outcome in (Cancellation.CANCELLED, Cancellation.REFUNDING):
        return success_reply(section, "1") if with_data else success_reply(section)
    code, msg = REFUSED[outcome]
    reply: dict[str, Any] = {"success": False, "msg": msg, "code": code.value}
    if with_data:
        reply["data"] = "0"
    return reply


async def _cancel(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    services = request.app.state.services
    outcome, reply = await cancel_insurance_order(
        services.db,
        services.payment_provider,
        call,
        his_trade_id=fields["hisTradeId"],
        reply_of=lambda outcome: _cancel_reply(call.section, outcome),
    )
    if outcome is Cancellation.UNKNOWN:
        raise ShimError(ReturnCode.NO_DATA, NO_ORDER)
    return reply_response(reply)


@platform_shim("5.2.1")
async def cancel_insurance_order_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """5.2.1 prefront/patient/cancelInsuranceOrder: the hospital cancelled the order at its window."""
    return await _cancel(request, call, fields)


@platform_shim("6.1.2")
async def his_refound_insurance_order_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """6.1.2 prefront/patient/hisRefoundInsuranceOrder (deprecated): cancelled as 5.2.1 cancels."""
    return await _cancel(request, call, fields)


@platform_shim("6.1.1")
async def query_insurance_order_status_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """6.1.1 prefront/patient/queryMedicalInsuranceOrderStatus (deprecated): was the self-pay part paid."""
    db = request.app.state.services.db
    status = await insurance_payment_status(db, call, his_trade_id=fields["hisTradeId"])
    if status is None:
        raise ShimError(ReturnCode.NO_DATA, NO_ORDER)
    reply = success_reply(
        "6.1.1",
        {
            "status": "1" if status.paid else "0",
            "medicalCardNumber": status.medical_card_number,
            "blTradeNo": status.out_trade_no,
            "amount": render_money(status.amount),
            "payTime": status.pay_time,
            "payType": status.pay_type,
            "blPayment": render_money(status.balance_payment),
            "hisTradeId": status.his_trade_id,
        },
    )
    await record_call(db, call, reply_code=str(reply["code"]), reply=reply)
    return reply_response(reply)


routes = [
    Route(route_path("5.2.1"), cancel_insurance_order_shim, methods=["POST"]),
    Route(route_path("6.1.1"), query_insurance_order_status_shim, methods=["POST"]),
    Route(route_path("6.1.2"), his_refound_insurance_order_shim, methods=["POST"]),
]
