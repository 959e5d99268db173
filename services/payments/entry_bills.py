"""Pricing what the hospital bills or holds: the outpatient bill, card recharge, deposits, admission.

Each function asks the hospital what the order must charge now and answers the PricedOrder that
PaymentService (services.payments.orders) writes; nothing here writes an order.
"""

from __future__ import annotations

from decimal import Decimal

from his_clients.errors import HisError
from his_clients.models.inpatient import QUERY_INPATIENT_INFO, QueryInpatientInfoRequest
from his_clients.models.inpatient_records import (
    GET_APPLICATION_HOSPITAL_INFORMATION,
    GetApplicationHospitalInformationRequest,
)
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from services.refusals import RefusalCode

from .entry_base import HospitalAsk, PricedOrder
from .quotes import AdmissionQuote, BillItem, DepositQuote, OutpatientQuote, RechargeQuote
from .results import (
    AmountRefused,
    QuoteUnavailable,
    require_amount,
    require_part,
    require_unified_part,
)
from .sagas.admission import AdmissionFlow
from .sagas.deposit import DepositFlow
from .sagas.outpatient import OutpatientFlow
from .sagas.recharge import RechargeFlow

RECHARGE_MAXIMUM = Decimal("5000.00")
"""The most one online recharge may put on a card. Chapter 7 quotes no limit of the hospital's (7.1.1 gives the
balance only) and names 20004 for "充值金额超过限制": the platform's own ceiling stands in for it."""
NO_DEPOSIT_ALLOWED = RefusalCode.NO_DEPOSIT_ALLOWED
"""附四 60401 该就诊人不允许交住院押金: 10.1.1's minimumPayment "如果为0则不允许缴费", or the patient left."""


async def outpatient_order(
    ask: HospitalAsk,
    *,
    hospital_id: str,
    medical_card_number: str,
    id_card: str | None,
    balance_payment: Decimal,
    unified_pay_amount: Decimal,
    unified_pay_trade_no: str | None,
) -> PricedOrder:
    """An order for the bill 3.1.1 quotes right now: its total as quoted, its detail ids kept for 3.1.2.

    附六: a part already taken from the unified settlement platform's card balance travels as
    ``unified_pay_amount`` with that platform's trade number (3.1.2 unifiedPayAmount / unifiedPayTradeNo);
    the provider is asked for the rest only (total - balancePayment - unified part).
    """
    quote = await ask.his.call(
        QUERY_WAIT_PAY,
        hospital_id,
        QueryWaitPayRequest(medical_card_number=medical_card_number, id_card=id_card),
        deadline=ask.deadline(),
    )
    balance_payment = require_part(balance_payment, total=quote.amount)
    unified_pay_amount, unified_pay_trade_no = require_unified_part(
        unified_pay_amount, unified_pay_trade_no, total=quote.amount - balance_payment
    )
    snapshot = OutpatientQuote(
        amount=quote.amount,
        discount_amount=quote.discount_amount,
        detail_ids=tuple(item.id for item in quote.detail),
        items=tuple(BillItem(id=item.id, pres_code=item.pres_code, amount=item.item_amount) for item in quote.detail),
    )
    return PricedOrder(
        business_type=OutpatientFlow.business_type,
        description="诊间支付",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=quote.amount,
        discount=quote.discount_amount,
        balance_payment=balance_payment,
        unified_pay_amount=unified_pay_amount,
        unified_pay_trade_no=unified_pay_trade_no,
        quote=snapshot,
    )


def recharge_order(*, hospital_id: str, medical_card_number: str, amount: Decimal) -> PricedOrder:
    """An order to put `amount` yuan on the card's balance (7.1.2): the patient's choice, within the limit.

    Two decimal places (else 20003), above 0 and at most RECHARGE_MAXIMUM (else 20004).
    """
    amount = require_amount(amount, maximum=RECHARGE_MAXIMUM, what="充值金额")
    return PricedOrder(
        business_type=RechargeFlow.business_type,
        description="就诊卡充值",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=amount,
        quote=RechargeQuote(amount=amount),
    )


async def deposit_order(
    ask: HospitalAsk,
    *,
    hospital_id: str,
    medical_card_number: str,
    patient_name: str,
    admission_number: str | None,
    amount: Decimal,
    id_card: str | None,
) -> PricedOrder:
    """An order for an inpatient deposit of `amount` yuan (10.1.2), within the limits the stay shows.

    The stay is read afresh (10.1.1) for this patient: it must be in hospital with a minimumPayment above
    0 ("如果为0则不允许缴费", else 60401), and the amount must have two decimal places (20003) and lie
    within minimumPayment..maximumPayment (20004), the very limits InpatientStay shows. The order is for
    the stay's admission number as the hospital gives it.
    """
    amount = require_amount(amount, what="押金金额")
    try:
        stay = await ask.his.call(
            QUERY_INPATIENT_INFO,
            hospital_id,
            QueryInpatientInfoRequest(
                medical_card_number=medical_card_number,
                admission_number=admission_number,
                id_card=id_card,
                patient_name=patient_name,
            ),
            deadline=ask.deadline(),
        )
    except HisError as error:
        raise QuoteUnavailable("10.1.1 gave no stay", code=error.code) from error
    if stay.status.strip().lower() != "in" or stay.minimum_payment <= 0:
        raise AmountRefused("该就诊人当前不允许缴纳住院押金", code=NO_DEPOSIT_ALLOWED)
    maximum = stay.maximum_payment if stay.maximum_payment > 0 else None
    amount = require_amount(amount, minimum=stay.minimum_payment, maximum=maximum, what="押金金额")
    admission = stay.admission_number or admission_number
    snapshot = DepositQuote(
        amount=amount,
        admission_number=admission,
        minimum_payment=stay.minimum_payment,
        maximum_payment=stay.maximum_payment,
    )
    return PricedOrder(
        business_type=DepositFlow.business_type,
        description="住院押金",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=amount,
        quote=snapshot,
    )


async def admission_order(
    ask: HospitalAsk, *, hospital_id: str, medical_card_number: str, id_card: str | None
) -> PricedOrder:
    """An order for what the admission application asks now (36.1.1 prepayAmount); 36.1.2 follows payment.

    No application, one asking nothing, or one already paid raises QuoteUnavailable; no order is written.
    """
    try:
        application = await ask.his.call(
            GET_APPLICATION_HOSPITAL_INFORMATION,
            hospital_id,
            GetApplicationHospitalInformationRequest(medical_card_number=medical_card_number, id_card=id_card),
            deadline=ask.deadline(),
        )
    except HisError as error:
        raise QuoteUnavailable("36.1.1 gave no admission application", code=error.code) from error
    if not application.admission_card_id or application.prepay_amount <= 0:
        raise QuoteUnavailable("the admission application asks nothing to pay", code="60102")
    if (application.apply_status or "").strip() == "已缴费":
        raise QuoteUnavailable("the admission application is paid already", code="40002")
    snapshot = AdmissionQuote(
        amount=application.prepay_amount,
        admission_card_id=application.admission_card_id,
        admission_number=application.admission_number,
        dept_name=application.dept_name,
        id_card=id_card,
    )
    return PricedOrder(
        business_type=AdmissionFlow.business_type,
        description="入院申请缴费",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=application.prepay_amount,
        quote=snapshot,
    )
