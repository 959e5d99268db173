"""Pricing online medical insurance (chapter 5): the hospital's order, settled, then ours to pay (for PaymentService).

Chapter 5's order of calls: the pending bills (3.1.1 detail ids) become an order at the hospital,
pre-settled with the insurer (5.1.1 生成订单); the insurer settles its part (5.1.2 医保结算); the patient
pays the rest (the self-pay part) through our provider; the hospital is told (5.1.4, the saga in
sagas/insurance.py). A patient who comes back to an order left half-way (5.1.5 未完成订单) resumes it: an
unfinished order of the same bills is settled (or, settled already, paid) rather than made again.

Nothing is left settled at the hospital that no order of ours stands for: when 5.1.2 fails or its
amounts do not add up, 5.1.3 cancels the hospital's order ("预结算后，患者不继续进行报销：此时需要取消订单"),
best effort (an order 5.1.3 could not cancel is found again through 5.1.5). One insurance order is paid
once: a new order for the same hisTradeId first closes an unpaid one of ours at the provider, and is
refused while one is paid. Two racing requests could still both be paid: the second payment's 5.1.4 is
refused by the hospital (the order is paid) and 5.1.6 gives it back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from his_clients.codes import ReturnCode
from his_clients.errors import HisError
from his_clients.models.insurance import (
    MEDICAL_INSURANCE_CANCEL_ORDER,
    MEDICAL_INSURANCE_CREATE_ORDER,
    MEDICAL_INSURANCE_QUERY_UNFINISHED_ORDERS,
    MEDICAL_INSURANCE_SETTLE,
    MedicalInsuranceCancelOrderRequest,
    MedicalInsuranceCreateOrderRequest,
    MedicalInsuranceQueryUnfinishedOrdersRequest,
    MedicalInsuranceSettleRequest,
)
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from store.db import Database
from store.orders import Order, OrderRepository, OrderState

from .clock import Clock
from .entry_base import HospitalAsk, PricedOrder
from .providers.base import PaymentProvider, ProviderRejected, ProviderUnavailable, TradeState
from .quotes import InsurancePaid, InsuranceQuote
from .results import RANGE_CODE, AmountRefused, CreatedOrder, QuoteUnavailable, require_two_places
from .sagas.insurance import HIS_TRADE_ID, InsuranceFlow

log = logging.getLogger("hisgraph.payments.insurance")

SETTLED = "1"
"""5.1.5 tradeState: 0 pre-settled (预结算), 1 settled (结算)."""


@dataclass(frozen=True, slots=True)
class InsurancePart:
    """One line of medPayList: what the insurer paid, and how (医保统筹, 医保余额...)."""

    pay_type_name: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class InsuranceSettlement:
    """The hospital's order as the insurer settled it (5.1.2, or 5.1.5 for an order settled before)."""

    his_trade_id: str
    trade_amount: Decimal
    preferential_amount: Decimal
    insurance_amount: Decimal
    insurance_parts: tuple[InsurancePart, ...]
    settled_at: str

    @property
    def due(self) -> Decimal:
        """What the order costs after the discount: the insurer's part plus the self-pay part."""
        return self.trade_amount - self.preferential_amount

    @property
    def self_pay(self) -> Decimal:
        return self.due - self.insurance_amount


@dataclass(frozen=True, slots=True)
class InsuranceOrderCreated:
    """A new insurance order: ours to pay (the self-pay part) and how the insurer settled the rest."""

    created: CreatedOrder
    settlement: InsuranceSettlement


NO_SUCH_TRADE = frozenset({"ORDERNOTEXIST", "ORDER_NOT_EXIST"})
"""The provider never had the trade (the sandbox's code, WeChat Pay's): nothing can be paid on it."""


async def close_trade(provider: PaymentProvider, out_trade_no: str) -> bool:
    """Make the provider's trade unpayable; False when it is paid (or may be) or the provider gives no answer.

    A refused close is looked up: a trade that is closed, or that the provider never had (its prepay
    failed), can no longer be paid; anything else (paid, paying) is the payment's notification on its way.
    """
    try:
        await provider.close_order(out_trade_no)
        return True
    except ProviderUnavailable:
        return False
    except ProviderRejected:
        pass
    try:
        trade = await provider.query_order(out_trade_no)
    except ProviderRejected as refused:
        return refused.code in NO_SUCH_TRADE
    except ProviderUnavailable:
        return False
    return trade.state is TradeState.CLOSED


def _ids(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


async def insurance_order(
    ask: HospitalAsk,
    db: Database,
    provider: PaymentProvider,
    clock: Clock,
    *,
    hospital_id: str,
    medical_card_number: str,
    detail_ids: list[str] | None,
    id_card: str | None,
    phone_no: str | None,
    social_card_no: str | None,
    balance_payment: Decimal,
) -> tuple[PricedOrder, InsuranceSettlement]:
    """An order for the self-pay part of these pending bills (all 3.1.1 quotes when None), insurance settled.

    Raises QuoteUnavailable (with the hospital's 附四 code) when the hospital makes or settles no order,
    or when this insurance order is being paid already; AmountsDoNotAddUp for a balance part that is
    negative or more than the self-pay part.
    """
    require_two_places(balance_payment, "卡余额支付金额", field="balancePayment")
    if balance_payment < 0:
        raise AmountRefused("卡余额支付金额不能小于0", code=RANGE_CODE, field="balancePayment")
    wanted = await _bills(ask, hospital_id, medical_card_number, detail_ids, id_card)
    settlement = await _settled(
        ask,
        hospital_id,
        medical_card_number,
        wanted,
        id_card=id_card,
        phone_no=phone_no,
        social_card_no=social_card_no,
    )
    amounts_add_up = (
        settlement.preferential_amount >= 0
        and 0 <= settlement.insurance_amount <= settlement.due
        and balance_payment <= settlement.self_pay
    )
    if not amounts_add_up:
        await _cancel_at_hospital(ask, hospital_id, settlement.his_trade_id)
        raise QuoteUnavailable(
            f"the settlement does not add up: due {settlement.due}, insurer {settlement.insurance_amount}, "
            f"balance {balance_payment}",
            code=ReturnCode.AMOUNT_MISMATCH,
        )
    await _close_unpaid(db, provider, clock, hospital_id, settlement.his_trade_id)
    quote = InsuranceQuote(
        his_trade_id=settlement.his_trade_id,
        detail_ids=tuple(wanted),
        trade_amount=settlement.trade_amount,
        preferential_amount=settlement.preferential_amount,
        med_amount=settlement.insurance_amount,
        med_settle_time=settlement.settled_at,
        med_pay_list=tuple(InsurancePaid(name=p.pay_type_name, amount=p.amount) for p in settlement.insurance_parts),
    )
    priced = PricedOrder(
        business_type=InsuranceFlow.business_type,
        description="线上医保",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=settlement.due,
        discount=settlement.preferential_amount,
        balance_payment=balance_payment,
        unified_pay_amount=settlement.insurance_amount,
        quote=quote,
    )
    return priced, settlement


async def _bills(
    ask: HospitalAsk, hospital_id: str, medical_card_number: str, detail_ids: list[str] | None, id_card: str | None
) -> list[str]:
    """The detail ids asked for, or every bill 3.1.1 quotes now."""
    if detail_ids is not None:
        wanted = list(dict.fromkeys(item.strip() for item in detail_ids if item.strip()))
    else:
        quote = await ask.his.call(
            QUERY_WAIT_PAY,
            hospital_id,
            QueryWaitPayRequest(medical_card_number=medical_card_number, id_card=id_card),
            deadline=ask.deadline(),
        )
        wanted = [item.id for item in quote.detail]
    if not wanted:
        raise QuoteUnavailable("no pending bill to pay", code=ReturnCode.PENDING_BILL_NOT_FOUND)
    return wanted


async def _settled(
    ask: HospitalAsk,
    hospital_id: str,
    medical_card_number: str,
    wanted: list[str],
    *,
    id_card: str | None,
    phone_no: str | None,
    social_card_no: str | None,
) -> InsuranceSettlement:
    """The hospital's order for these bills, settled by the insurer: resumed (5.1.5) or made (5.1.1, 5.1.2)."""
    his_trade_id: str | None = None
    try:
        unfinished = await ask.his.call(
            MEDICAL_INSURANCE_QUERY_UNFINISHED_ORDERS,
            hospital_id,
            MedicalInsuranceQueryUnfinishedOrdersRequest(
                medical_card_number=medical_card_number,
                id_card=id_card,
                phone_no=phone_no,
                social_card_no=social_card_no,
            ),
            deadline=ask.deadline(),
        )
    except HisError:
        unfinished = None  # none (10002), or no answer: make the order (5.1.1 is the hospital's to dedupe)
    if unfinished is not None and set(_ids(unfinished.detail_ids)) == set(wanted):
        his_trade_id = unfinished.his_trade_id
        if unfinished.trade_state.strip() == SETTLED:
            return InsuranceSettlement(
                his_trade_id=his_trade_id,
                trade_amount=unfinished.trade_amount,
                preferential_amount=unfinished.preferential_amount,
                insurance_amount=unfinished.med_amount,
                insurance_parts=tuple(InsurancePart(p.pay_type_name, p.pay_amount) for p in unfinished.med_pay_list),
                settled_at="",
            )
    if his_trade_id is None:
        try:
            made = await ask.his.call(
                MEDICAL_INSURANCE_CREATE_ORDER,
                hospital_id,
                MedicalInsuranceCreateOrderRequest(
                    medical_card_number=medical_card_number,
                    id_card=id_card,
                    detail_ids=",".join(wanted),
                    phone_no=phone_no,
                    social_card_no=social_card_no,
                ),
                deadline=ask.deadline(),
            )
        except HisError as error:
            raise QuoteUnavailable("5.1.1 made no insurance order", code=error.code) from error
        his_trade_id = made.his_trade_id
    try:
        settled = await ask.his.call(
            MEDICAL_INSURANCE_SETTLE,
            hospital_id,
            MedicalInsuranceSettleRequest(his_trade_id=his_trade_id, phone_no=phone_no, social_card_no=social_card_no),
            deadline=ask.deadline(),
        )
    except HisError as error:
        await _cancel_at_hospital(ask, hospital_id, his_trade_id)
        raise QuoteUnavailable("5.1.2 did not settle the insurance order", code=error.code) from error
    return InsuranceSettlement(
        his_trade_id=settled.his_trade_id or his_trade_id,
        trade_amount=settled.trade_amount,
        preferential_amount=settled.preferential_amount,
        insurance_amount=settled.med_amount,
        insurance_parts=tuple(InsurancePart(p.pay_type_name, p.pay_amount) for p in settled.med_pay_list),
        settled_at=settled.med_settle_time,
    )


async def _cancel_at_hospital(ask: HospitalAsk, hospital_id: str, his_trade_id: str) -> None:
    """5.1.3, best effort: the hospital's order (and its settlement) is undone; a failure is only logged."""
    try:
        answer = await ask.his.call(
            MEDICAL_INSURANCE_CANCEL_ORDER,
            hospital_id,
            MedicalInsuranceCancelOrderRequest(his_trade_id=his_trade_id),
            deadline=ask.deadline(),
        )
    except HisError as error:
        log.warning("5.1.3 did not cancel an insurance order", extra={"hospital_id": hospital_id, "code": error.code})
        return
    if answer.strip() != "1":
        log.warning("5.1.3 answered %r", answer, extra={"hospital_id": hospital_id})


async def _close_unpaid(
    db: Database, provider: PaymentProvider, clock: Clock, hospital_id: str, his_trade_id: str
) -> None:
    """Close our unpaid orders of this insurance order (one is paid once); refuse while one is paid."""
    async with db.session() as session:
        query = select(Order.out_trade_no, Order.state).where(
            Order.hospital_id == hospital_id,
            Order.flow == InsuranceFlow.name,
            Order.quote[HIS_TRADE_ID].as_string() == his_trade_id,
        )
        earlier = [(out_trade_no, state) for out_trade_no, state in (await session.execute(query)).all()]
    if any(state not in (OrderState.CREATED, OrderState.CANCELLED, OrderState.REFUNDED) for _, state in earlier):
        raise QuoteUnavailable(f"insurance order {his_trade_id} is being paid already", code=ReturnCode.PROCESSING)
    for out_trade_no, state in earlier:
        if state != OrderState.CREATED:
            continue
        if not await close_trade(provider, out_trade_no):  # paid meanwhile, or no answer
            raise QuoteUnavailable(f"insurance order {his_trade_id} is being paid already", code=ReturnCode.PROCESSING)
        async with db.session() as session:
            orders = OrderRepository(session)
            order = await orders.get(out_trade_no, for_update=True)
            if order is not None and order.state == OrderState.CREATED:
                await orders.transition(
                    order,
                    OrderState.CANCELLED,
                    reason="a new order for the same insurance order",
                    at=clock.now(),
                )
