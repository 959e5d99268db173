"""The internet hospital's shims (spec 25.2.1, 25.2.2): the hospital reads and marks online-consultation orders.

- 25.2.1 queryPatientInterHospitalOrder: the charges of one type (1 检查, 2 检验, 3 处方) a card paid for
  online and may still be served (services.shims.consultation_orders); nothing to list answers 10002.
  The reply carries the patient's details as 25.1.1 sends them; the ledger keeps only the order numbers.
- 25.2.2 updatePatientInterHospitalOrderStatus: a charge was registered / its drugs handed out (1), or that
  was undone (2 取消登记/已退药). Noted on the order (services.shims.order_status); no money moves here.
  An order that is not the caller's, not paid or not for that card answers 10002; a charge the order does
  not hold, 60104 (收费项目不存在).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from services.payments.hospital_status import CHARGE_STATUSES, CHARGE_TYPES
from services.shims.consultation_orders import paid_consultation_charges
from services.shims.ledger import ShimCall, record_call
from services.shims.order_status import Recorded, record_charge_status

from .envelope import ShimError
from .platform import platform_shim, reply_response, success_reply


def charge_type_of(fields: dict[str, Any]) -> str:
    charge_type = str(fields["chargeType"])
    if charge_type not in CHARGE_TYPES:
        raise ShimError(ReturnCode.PARAMETER_RANGE, "参数超出范围: chargeType 应为 1(检查)、2(检验) 或 3(处方)")
    return charge_type


@platform_shim("25.2.1")
async def query_inter_hospital_order_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """25.2.1: what the card paid online for, of one charge type, still to be served at the caller's hospital."""
    assert call.hospital_id is not None
    charge_type = charge_type_of(fields)
    db = request.app.state.services.db
    found = await paid_consultation_charges(
        db, hospital_id=call.hospital_id, medical_card_number=fields["medicalCardNumber"], charge_type=charge_type
    )
    if found is None:
        raise ShimError(ReturnCode.NO_DATA, "未查询到数据: 没有待服务的已支付项目")
    reply = success_reply("25.2.1", found.to_wire())
    kept = {**reply, "data": {"charges": len(found.charges), "tradeNos": found.trade_nos, "total": str(found.total)}}
    await record_call(db, call, reply_code=str(reply["code"]), reply=kept)
    return reply_response(reply)


@platform_shim("25.2.2")
async def update_inter_hospital_order_status_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """25.2.2: note a charge's registration / dispensing status (1 登记/取药, 2 取消登记/已退药) on its order."""
    charge_type = charge_type_of(fields)
    status = str(fields["status"])
    if status not in CHARGE_STATUSES:
        raise ShimError(ReturnCode.PARAMETER_RANGE, "参数超出范围: status 应为 1(登记/取药) 或 2(取消登记/已退药)")
    reply = success_reply("25.2.2")
    outcome, _ = await record_charge_status(
        request.app.state.services.db,
        call,
        medical_card_number=fields["medicalCardNumber"],
        trade_no=fields["tradeNo"],
        charge_id=fields["chargeId"],
        charge_type=charge_type,
        status=status,
        reply=reply,
    )
    if outcome is Recorded.NO_ORDER:
        raise ShimError(ReturnCode.NO_DATA, "未查询到数据: 没有此已支付订单")
    if outcome is Recorded.NO_CHARGE:
        raise ShimError(ReturnCode.CHARGE_ITEM_NOT_FOUND)
    return reply_response(reply)


routes = [
    Route(
        "/prefront/internetHospital/queryPatientInterHospitalOrder", query_inter_hospital_order_shim, methods=["POST"]
    ),
    Route(
        "/prefront/internetHospital/updatePatientInterHospitalOrderStatus",
        update_inter_hospital_order_status_shim,
        methods=["POST"],
    ),
]
