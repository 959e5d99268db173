"""The payment services' refusals are the one ``Refused`` with a RefusalCode (issue 12 item 3)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from his_clients.codes import ReturnCode
from services.payments.hospital_refunds import HospitalRefundRefused, NotTheCallersOrder
from services.payments.orders import OrderNotCancellable, PaymentService, QuoteUnavailable, RefundNotPossible
from services.payments.providers.sandbox import SandboxProvider
from services.payments.results import AmountRefused, UnknownOrder, require_amount
from services.refusals import RefusalCode, Refused
from tests.payments.conftest import CARD

HOSPITAL = "253"


async def test_an_amount_with_three_places_is_refused_on_its_field(
    clean_region: httpx.Client, payments: PaymentService
) -> None:
    with pytest.raises(Refused) as refused:
        await payments.create_recharge_order(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("50.123"))
    assert isinstance(refused.value, AmountRefused)
    assert refused.value.code is RefusalCode.PARAMETER_FORMAT
    assert refused.value.field == "amount"
    assert "Decimal" not in refused.value.message
    assert refused.value.extensions == {"code": "20003", "field": "amount"}


async def test_a_balance_part_beyond_the_bill_is_out_of_range(
    clean_region: httpx.Client, payments: PaymentService
) -> None:
    with pytest.raises(AmountRefused) as refused:
        await payments.create_outpatient_order(
            hospital_id=HOSPITAL, medical_card_number=CARD, balance_payment=Decimal("99999.00")
        )
    assert refused.value.code is RefusalCode.PARAMETER_RANGE
    assert refused.value.field == "balancePayment"
    assert refused.value.hospital_id == HOSPITAL


def test_an_amount_above_the_limit_is_out_of_range() -> None:
    with pytest.raises(AmountRefused) as refused:
        require_amount(Decimal("60000.00"), maximum=Decimal("50000.00"), what="押金金额")
    assert refused.value.code is RefusalCode.PARAMETER_RANGE
    assert refused.value.message == "押金金额不能高于50000.00元"


async def test_an_unpriced_package_is_refused_in_chinese_with_the_reason_kept_for_the_log(
    clean_region: httpx.Client, payments: PaymentService
) -> None:
    with pytest.raises(QuoteUnavailable) as refused:
        await payments.create_physical_exam_order(
            hospital_id=HOSPITAL,
            medical_card_number=CARD,
            id_card="110101199001011234",
            name="张三",
            sex="男",
            package_ids=["no-such-package"],
            date="2025-12-03 08:00",
        )
    assert isinstance(refused.value, Refused)
    assert refused.value.code is RefusalCode.HIS_UNAVAILABLE
    assert refused.value.hospital_id == HOSPITAL  # Refusal.hospitalId: whose quote was missing
    assert refused.value.extensions["hospitalId"] == HOSPITAL
    assert "\u4e00" <= refused.value.message[0] <= "\u9fff"  # the patient reads Chinese
    assert "no-such-package" in refused.value.reason  # the operators' log reads why


async def test_order_refusals_carry_their_codes(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider
) -> None:
    with pytest.raises(UnknownOrder) as unknown:
        await payments.cancel("ZJZF-NO-SUCH-ORDER")
    assert unknown.value.code is RefusalCode.NOT_FOUND
    assert isinstance(unknown.value, LookupError)  # still caught where unknown orders were looked up

    created = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("10.00")
    )
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    with pytest.raises(OrderNotCancellable) as paid:
        await payments.cancel(created.order.out_trade_no)
    assert paid.value.code is RefusalCode.NOT_CANCELLABLE
    with pytest.raises(RefundNotPossible) as not_refundable:
        await payments.request_cancel(created.order.out_trade_no)
    assert not_refundable.value.code is RefusalCode.NOT_REFUNDABLE


def test_hospital_refund_refusals_answer_their_spec_code() -> None:
    refused = HospitalRefundRefused(ReturnCode.PARAMETER_RANGE, "参数超出范围: amount 必须大于0")
    assert isinstance(refused, Refused)
    assert refused.code is RefusalCode.PARAMETER_RANGE
    assert refused.return_code is ReturnCode.PARAMETER_RANGE
    assert refused.message == "参数超出范围: amount 必须大于0"
    theirs = NotTheCallersOrder("ZJZF-1")
    assert theirs.code is RefusalCode.NOT_FOUND
    assert theirs.out_trade_no == "ZJZF-1"
