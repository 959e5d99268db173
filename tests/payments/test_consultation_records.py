"""Online consultation (25.1.6 prices -> 25.1.1 after payment) and medical-record delivery (27.1.2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from services.payments.clock import ManualClock
from services.payments.orders import PaymentService, PrescribedCharge
from services.payments.providers.sandbox import SandboxProvider
from services.payments.worker import OutboxWorker
from store.orders import OrderState
from tests.conftest import DEMO_ID_NUMBER, calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
SYNC = "hospital.inerface.internetHospital.save"
RECORDS = "hospital.interface.medicalRecordInsertOrder"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _consultation(payments: PaymentService, provider: SandboxProvider) -> str:
    created = await payments.create_consultation_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        patient_name="张三",
        gender="男",
        phone="13526521254",
        id_card=DEMO_ID_NUMBER,
        birthday="1979-07-02",
        diagnose_code="I10.X02",
        diagnose_name="高血压",
        bill_doc_hospital="演示人民医院",
        bill_doc_name="孙宏伟",
        bill_doc_code="402968515",
        consult_code=3477691,
        charges=[
            PrescribedCharge(charge_id="12", charge_type=1, charge_name="心脏彩超", quantity=1),
            PrescribedCharge(
                charge_id="13", charge_type=3, charge_name="缬沙坦胶囊", quantity=2, group_id="452658", dose="160mg"
            ),
        ],
    )
    assert created.order.out_trade_no.startswith("JCZF-")
    assert created.order.total_amount == Decimal("840.00")  # 25.1.6 prices each at 280: 280 + 2 x 280
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def _records(payments: PaymentService, provider: SandboxProvider) -> str:
    created = await payments.create_medical_record_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        patient_name="张三",
        apply_id="fagfghetyejhrtjr23gafg22r3w4t6",
        print_number=25,  # the platform's tariff: 25 x 0.50 printed, 15.00 mailed
        admission_number="060508",
        id_card=DEMO_ID_NUMBER,
    )
    assert created.order.out_trade_no.startswith("BAYYPS-")
    assert created.order.total_amount == Decimal("27.50")
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def test_a_consultation_is_synced_once_after_payment(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _consultation(payments, provider)
    await payments.record_payment(provider.notification(out_trade_no))  # a duplicate
    inject(clean_region, hospitalId=HOSPITAL, method=SYNC, kind="lost_reply", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1
    synced = calls(clean_region, method=SYNC)[-1]["body"]
    assert synced["tradeNo"] == out_trade_no
    assert Decimal(str(synced["total"])) == Decimal("840.00")
    assert [(c["chargeId"], c["quantity"], Decimal(str(c["price"]))) for c in synced["charges"]] == [
        ("12", "1", Decimal("280.00")),
        ("13", "2", Decimal("280.00")),
    ]


async def test_medical_record_copies_are_written_once_after_payment(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _records(payments, provider)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1
    (written,) = calls(clean_region, method=RECORDS)
    assert written["body"]["tradeNo"] == out_trade_no
    assert Decimal(str(written["body"]["printFee"])) + Decimal(str(written["body"]["mailingFee"])) == Decimal(
        str(written["body"]["totalAmount"])
    )


@pytest.mark.parametrize("method", [SYNC, RECORDS])
async def test_a_refusal_is_refunded_when_13_1_1_says_refundable(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker, method: str
) -> None:
    out_trade_no = await (_consultation if method == SYNC else _records)(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=method, kind="code", code="20004", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [order.online_amount]
    assert applied(clean_region, HOSPITAL, out_trade_no) == 0


@pytest.mark.parametrize("method", [SYNC, RECORDS])
async def test_unconfirmed_for_a_day_with_13_1_1_silent_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
    method: str,
) -> None:
    out_trade_no = await (_consultation if method == SYNC else _records)(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=method, kind="http500")
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(50):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []
