"""Refunds the hospitals start through the platform: 9.1.1 / 13.2.1 hisRefund, 9.1.2 hisRefundQuery, 20.2.2, 21.1.7.

``prefront/hospitalizationCosts/hisRefund`` serves two sections: a recharge order's refund is 9.1.1
(退卡余额), any other order's 13.2.1 (退款); a body with 13.2.1's unified-settlement fields is 13.2.1. The
body is checked against that section's table. 9.1.x and 13.2.1 bodies name no hospital: the order must
be one the caller may act for; another hospital's order and an unknown one look the same, and are
answered with a business code, not 50001 (the caller proved who it is): 60204 "要取消的挂号记录不存在" on
20.2.2 and 21.1.7, 20003 (outTradeNo names no order of the caller's) on 9.1.1 / 13.2.1 / 9.1.2.

The answers (the rules are services.payments.hospital_refunds'):
- refunded: the section's success reply (9.1.1 / 13.2.1 data: our refundNo and the refund time, which
  reconciliation goes by);
- not known yet (the provider did not answer in time, or is still processing): ``success: false`` with
  10002 on the paths 附四 gives that meaning, 13.2.1, 20.2.2 and 21.1.7 ("state unknown: retry, or check,
  never take it as a failure"); 9.1.1 (where 10002 only means 未查询到数据) answers 40004 业务处理中.
  Retrying with the same refundNo never refunds twice; 9.1.2 tells the end;
- refused by the provider: 10003 with the reason; nothing went back under that refundNo;
- refused by us before anything happened: 20003 (refundNo reused for another order or amount, card not
  the order's, wrong kind of order), 20004 (more than is left of the online payment, amount 0, unpaid or
  platform-refunded order), 40004 (the order's payment is still being settled), 20003 / 20004 (a
  unified-settlement trade number or amount the order does not have: 附六's part is checked, then the
  online amount is refunded and the unified trade number passed on in the refund's note).

9.1.2 answers ``flag_success`` REFUNDED or REFUND_FAILED; a refund still under way is 40004 业务处理中; none
under that number (nothing was refunded: the refund may be asked again with the same refundNo) is 10002
未查询到数据 (9.1.2 is a query, not one of 附四's refund paths).
Every call, answered or refused, is recorded in the inbound ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from services.payments.clock import spec_time
from services.payments.hospital_refunds import (
    HospitalRefund,
    HospitalRefundKind,
    HospitalRefundRefused,
    HospitalRefundStatus,
    NotTheCallersOrder,
)
from services.payments.orders import PaymentService
from services.shims.ledger import ShimCall, record_call
from store.models import utcnow

from .auth import caller_of
from .envelope import ShimError, read_body, shim, text_field
from .platform import reply_response, route_path, success_reply
from .validation import validate

log = logging.getLogger("hisgraph.shims.refunds")

UNSETTLED_MSG: Final = "退款状态不明: 退款已受理但结果未定, 请用同一退款单号重试或查询, 不能按退款失败处理"
NO_SUCH_REFUND_MSG: Final = "未查询到数据: 平台没有此退款单号的退款, 可用同一退款单号重新发起"
REFUNDED: Final = "REFUNDED"
REFUND_FAILED: Final = "REFUND_FAILED"


@dataclass(frozen=True)
class Answer:
    reply: dict[str, Any]
    hospital_id: str | None
    """The hospital the call acted for (the order's), for the ledger."""


Action = Callable[[Request, str, dict[str, Any], frozenset[str]], Awaitable[Answer]]
SectionOf = Callable[[Request, Mapping[str, Any]], Awaitable[str]]


def refund_shim(
    *sections: str, section_of: SectionOf | None = None
) -> Callable[[Action], Callable[[Request], Awaitable[Response]]]:
    """``platform_shim`` for paths that serve more than one section, recording every outcome.

    The action gets the section the body is checked against (``section_of`` picks it, else the one
    given), the checked fields and the hospitals it may act for: the body's hospitalId if it names one
    (the caller's own, 50001 otherwise), else every hospital the caller may act for.
    """
    path = route_path(sections[0])
    assert all(route_path(s) == path for s in sections), "one route, one path"

    def wrap(action: Action) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            received = utcnow()
            caller = caller_of(request)
            body: Any = {}
            section = sections[0]
            hospital_id = caller.hospital_id
            db = request.app.state.services.db
            try:
                body = await read_body(request)
                if section_of is not None:
                    section = await section_of(request, body)
                fields = validate(section, body)
                named = text_field(body, "hospitalId", required=False)
                hospitals = frozenset({caller.ensure_own_hospital(named)}) if named else caller.hospital_ids
                hospital_id = named or hospital_id
                answer = await action(request, section, fields, hospitals)
            except Exception as error:
                refusal = error if isinstance(error, ShimError) else ShimError(ReturnCode.SYSTEM_ERROR)
                reply = {"success": False, "msg": refusal.msg, "code": refusal.code.value, "data": None}
                call = ShimCall(section=section, path=path, hospital_id=hospital_id, body=body, received_at=received)
                await record_call(db, call, reply_code=refusal.code.value, reply=reply)
                raise
            call = ShimCall(
                section=section,
                path=path,
                hospital_id=answer.hospital_id or hospital_id,
                body=body,
                received_at=received,
            )
            await record_call(db, call, reply_code=str(answer.reply["code"]), reply=answer.reply)
            return reply_response(answer.reply)

        handler.__name__ = action.__name__
        handler.__doc__ = action.__doc__
        return shim(handler)

    return wrap


def _payments(request: Request) -> PaymentService:
    payments: PaymentService = request.app.state.services.payments
    return payments


def _amount(fields: Mapping[str, Any], name: str = "amount") -> Decimal:
    """A checked amount (validation took only decimals with at most two places) as Decimal yuan."""
    value = fields.get(name)
    return Decimal(value) if value is not None else Decimal("0.00")


def _peek(body: Mapping[str, Any], name: str) -> Any:
    """A body value under ``name`` matched as validation matches keys (any case, stray spaces)."""
    wanted = name.lower()
    return next((v for k, v in body.items() if isinstance(k, str) and k.strip().lower() == wanted), None)


async def _his_refund_section(request: Request, body: Mapping[str, Any]) -> str:
    """13.2.1 when its unified-settlement fields are sent, else 9.1.1 for a recharge order, 13.2.1 for any other."""
    if any(_peek(body, name) not in (None, "") for name in ("unifiedAmount", "unifiedTradeNo")):
        return HospitalRefundKind.PAYMENT.value
    out_trade_no = _peek(body, "outTradeNo")
    if not isinstance(out_trade_no, str) or not out_trade_no.strip():
        return HospitalRefundKind.CARD_BALANCE.value  # 20001 / 20002 either way: both tables require text
    return (await _payments(request).hospital_refund_kind(out_trade_no)).value


UNKNOWN_STATE_SECTIONS: Final = frozenset({"13.2.1", "20.2.2", "21.1.7"})
"""附四: "退款业务的10002表示实际退款状态不明…（退款接口见：13.2.1、20.2.2、21.1.7）".
Elsewhere 10002 is 未查询到数据."""
REGISTRATION_SECTIONS: Final = frozenset({"20.2.2", "21.1.7"})


def _not_yours(error: NotTheCallersOrder, section: str) -> ShimError:
    """An unknown order, or another hospital's (the same answer): a business code, never 50001 or 10002."""
    log.info("hospital refund for an order it cannot act on", extra={"section": section, "order": error.out_trade_no})
    if section in REGISTRATION_SECTIONS:
        return ShimError(ReturnCode.REGISTRATION_NOT_FOUND, "要取消的挂号记录不存在: 没有此订单, 或不属于本院")
    return ShimError(ReturnCode.PARAMETER_FORMAT, "参数无效: outTradeNo 没有此订单, 或不属于本院")


def _unsettled_code(section: str) -> ReturnCode:
    """A refund whose outcome is not known yet: 10002 where 附四 says so, 40004 业务处理中 elsewhere."""
    return ReturnCode.NO_DATA if section in UNKNOWN_STATE_SECTIONS else ReturnCode.PROCESSING


def _unsettled(section: str) -> dict[str, Any]:
    return {"success": False, "msg": UNSETTLED_MSG, "code": _unsettled_code(section).value, "data": None}


def _refund_answer(section: str, refund: HospitalRefund) -> Answer:
    if refund.status is HospitalRefundStatus.SUCCEEDED:
        data: Any
        if section in (HospitalRefundKind.CARD_BALANCE, HospitalRefundKind.PAYMENT):
            assert refund.succeeded_at is not None
            data = {"refundNo": refund.out_refund_no, "time": spec_time(refund.succeeded_at)}
            reply = success_reply(section, data)
        elif section == HospitalRefundKind.APPOINTMENT_REGISTRATION:
            reply = success_reply(section, {})
        else:
            reply = success_reply(section)
    elif refund.status is HospitalRefundStatus.FAILED:
        msg = f"退款失败, 未退款: {refund.note or '支付平台拒绝退款'}; 请线下处理, 或用新的退款单号重新发起"
        reply = {"success": False, "msg": msg, "code": ReturnCode.SYSTEM_ERROR.value, "data": None}
    else:
        reply = _unsettled(section)
    return Answer(reply, refund.hospital_id)


async def _refund(
    request: Request,
    section: str,
    *,
    hospitals: frozenset[str],
    out_trade_no: str,
    his_refund_no: str,
    amount: Decimal,
    medical_card_number: str | None = None,
    unified_amount: Decimal | None = None,
    unified_trade_no: str | None = None,
) -> Answer:
    """Refund through the service; anything unexpected after the checks is 10002, never a false failure."""
    try:
        refund = await _payments(request).refund_for_hospital(
            kind=HospitalRefundKind(section),
            hospitals=hospitals,
            out_trade_no=out_trade_no,
            his_refund_no=his_refund_no,
            amount=amount,
            medical_card_number=medical_card_number,
            unified_amount=unified_amount or Decimal("0.00"),
            unified_trade_no=unified_trade_no,
        )
    except HospitalRefundRefused as refused:
        raise ShimError(refused.return_code, refused.message) from None
    except NotTheCallersOrder as error:
        raise _not_yours(error, section) from None
    except Exception:
        # The refund may or may not have been written: only a retry with the same number can tell.
        log.exception("hospital refund failed unexpectedly", extra={"path": request.url.path})
        raise ShimError(_unsettled_code(section), UNSETTLED_MSG) from None
    return _refund_answer(section, refund)


@refund_shim("9.1.1", "13.2.1", section_of=_his_refund_section)
async def his_refund_shim(request: Request, section: str, fields: dict[str, Any], hospitals: frozenset[str]) -> Answer:
    """9.1.1 退卡余额 / 13.2.1 退款 prefront/hospitalizationCosts/hisRefund: the hospital refunds an order."""
    unified = fields.get("unifiedAmount") if section == HospitalRefundKind.PAYMENT else None
    unified_trade_no = fields.get("unifiedTradeNo") if section == HospitalRefundKind.PAYMENT else None
    return await _refund(
        request,
        section,
        hospitals=hospitals,
        out_trade_no=fields["outTradeNo"],
        his_refund_no=fields["refundNo"],
        amount=_amount(fields),
        medical_card_number=fields["medicalCardNumber"],
        unified_amount=Decimal(unified) if unified is not None else None,
        unified_trade_no=unified_trade_no or None,
    )


@refund_shim("20.2.2")
async def today_register_refund_shim(
    request: Request, section: str, fields: dict[str, Any], hospitals: frozenset[str]
) -> Answer:
    """20.2.2 prefront/todayRegister/todayRegisterRefound: the hospital cancelled today's registration."""
    return await _refund(
        request,
        section,
        hospitals=hospitals,
        out_trade_no=fields["payId"],
        his_refund_no=fields["refundNo"],
        amount=_amount(fields),
        unified_trade_no=fields.get("unifiedPayTradeNo") or None,
    )


@refund_shim("21.1.7")
async def appointment_refund_shim(
    request: Request, section: str, fields: dict[str, Any], hospitals: frozenset[str]
) -> Answer:
    """21.1.7 prefront/hospitalizationCosts/yyghRefund: the hospital cancelled an appointment registration."""
    return await _refund(
        request,
        section,
        hospitals=hospitals,
        out_trade_no=fields["businessNo"],
        his_refund_no=fields["refundNo"],
        amount=_amount(fields),
        unified_trade_no=fields.get("unifiedPayTradeNo") or None,
    )


@refund_shim("9.1.2")
async def his_refund_query_shim(
    request: Request, section: str, fields: dict[str, Any], hospitals: frozenset[str]
) -> Answer:
    """9.1.2 prefront/hospitalizationCosts/hisRefundQuery: how a refund the hospital asked for stands."""
    try:
        refund = await _payments(request).hospital_refund_state(
            hospitals=hospitals,
            out_trade_no=fields["outTradeNo"],
            his_refund_no=fields["refundNo"],
            amount=_amount(fields),
        )
    except HospitalRefundRefused as refused:
        raise ShimError(refused.return_code, refused.message) from None
    except NotTheCallersOrder as error:
        raise _not_yours(error, section) from None
    if refund is None:
        return Answer(
            {"success": False, "msg": NO_SUCH_REFUND_MSG, "code": ReturnCode.NO_DATA.value, "data": None}, None
        )
    if refund.status is HospitalRefundStatus.UNSETTLED:
        return Answer(_unsettled(section), refund.hospital_id)
    flag = REFUNDED if refund.status is HospitalRefundStatus.SUCCEEDED else REFUND_FAILED
    return Answer(success_reply(section, {"flag_success": flag}), refund.hospital_id)


routes = [
    Route(route_path("9.1.1"), his_refund_shim, methods=["POST"]),
    Route(route_path("9.1.2"), his_refund_query_shim, methods=["POST"]),
    Route(route_path("20.2.2"), today_register_refund_shim, methods=["POST"]),
    Route(route_path("21.1.7"), appointment_refund_shim, methods=["POST"]),
]
