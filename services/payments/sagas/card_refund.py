"""The card-balance refund the user asks for (chapter 8): the hospital deducts first, then the provider refunds.

8's narrative: "同一次退款，多次调用his接口，退款单号不变": every call of 8.1.2 cardRefund for one refund
carries the same refundNo, chosen once and committed before the first call. 8.1.3 getRefundStatus
says where the deduction stands ("用户退款失败，定时任务自动退款时使用...先查退款状态，再退款"):

- status 1: deducted -> the provider refunds the recharge payment it came from (never 8.1.2 again);
- status 2: in progress -> do nothing now, ask again later;
- status 3 (failed, including "no such refund"): call 8.1.2 again with the same refundNo.

Each recharge order the balance came from (8.1.1 lists them, rechargeNo = our JZKCZ outTradeNo) is
one Refund row on that order, so the provider never returns more than was paid for it. The spec names
no window; unclear answers are retried for 24 hours (as recharge and deposits), then the refund is
parked for operators: the hospital may have deducted the balance (8's counter procedure finds it by
the refund number). A clear refusal of 8.1.2 is parked too, never retried blindly and never paid out.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Final

from his_clients.client import HisClient
from his_clients.errors import HisNoData
from his_clients.models.card_balance import (
    CARD_REFUND,
    GET_REFUND_STATUS,
    CardRefundRequest,
    GetRefundStatusRequest,
)
from store.orders import Order, Refund

WINDOW: Final = timedelta(hours=24)
REFUND_NUMBER_PREFIX: Final = "RE"
"""The spec's refundNo example: RE202006231344002095."""


class DeductionStatus(StrEnum):
    """8.1.3's status."""

    DEDUCTED = "1"
    IN_PROGRESS = "2"
    FAILED = "3"


async def deduct(his: HisClient, recharge: Order, refund: Refund, *, deadline: float | None) -> str:
    """8.1.2 with the refund's own number: the hospital's outRefundId once the balance is deducted."""
    request = CardRefundRequest(
        medical_card_number=recharge.medical_card_number,
        order_no=recharge.out_trade_no,
        refund_no=refund.out_refund_no,
        refund_amount=refund.amount,
    )
    answer = await his.call(CARD_REFUND, recharge.hospital_id, request, deadline=deadline)
    return answer.out_refund_id


async def deduction_status(
    his: HisClient, recharge: Order, refund: Refund, *, deadline: float | None
) -> tuple[DeductionStatus, str | None]:
    """8.1.3: where the deduction stands and the hospital's outRefundId. "No such refund" is status 3.

    Raises the his_clients error tree when the hospital gives no answer.
    """
    request = GetRefundStatusRequest(
        medical_card_number=recharge.medical_card_number,
        order_no=recharge.out_trade_no,
        refund_no=refund.out_refund_no,
    )
    try:
        answer = await his.call(GET_REFUND_STATUS, recharge.hospital_id, request, deadline=deadline)
    except HisNoData:
        return DeductionStatus.FAILED, None
    try:
        status = DeductionStatus(answer.status.strip())
    except ValueError:
        # An answer the spec does not define is no answer: asked again until the window ends.
        return DeductionStatus.IN_PROGRESS, answer.out_refund_id
    return status, answer.out_refund_id
