"""outTradeNo carries the hospital segment the spec's examples show, and 33.1.5 names the record both ways
(issue 11 item 16)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from his_clients.models.lab_appointments import ProjectApptCancelApptRequest
from services.payments.orders import PaymentService, PrescribedCharge, new_out_trade_no
from services.payments.providers.sandbox import SandboxProvider
from services.payments.sagas import FLOWS
from services.payments.worker import OutboxWorker
from tests.conftest import DEMO_ID_NUMBER, calls
from tests.payments.conftest import (
    CARD,
    clean_region,
    clock,
    database_factory,
    db,
    his,
    migrated_database,
    payments,
    provider,
    worker,
)

__all__ = [
    "clean_region",
    "clock",
    "database_factory",
    "db",
    "his",
    "migrated_database",
    "payments",
    "provider",
    "worker",
]
NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "hospital_id", ["253", "0370_0002", "scxrmyy", "区域-0533_0089-中医院-分院-很长的名字-ABCDEFGHIJKLMNOP"]
)
@pytest.mark.parametrize("business_type", sorted({flow.business_type for flow in FLOWS.values()}))
def test_out_trade_no_has_type_hospital_and_fits_wechat(business_type: str, hospital_id: str) -> None:
    """issue 11 item 16: `JZKCZ-SCXRMYY-...` shape: type, then the hospital, within WeChat's 32 characters."""
    number = new_out_trade_no(business_type, NOW, hospital_id)
    assert len(number) <= 32
    kind, segment, serial = number.split("-")
    assert kind == business_type
    assert re.fullmatch(r"[0-9A-Z]+", segment)
    clean = "".join(c for c in hospital_id if c.isascii() and c.isalnum()).upper()
    assert clean.endswith(segment)
    assert serial.startswith("260601120000")  # Beijing time


def test_the_spec_example_hospital_segment_is_kept_whole() -> None:
    """issue 11 item 16: a seven-letter segment such as the example's SCXRMYY fits after JZKCZ."""
    assert new_out_trade_no("JZKCZ", NOW, "SCXRMYY").startswith("JZKCZ-SCXRMYY-2606011200")


def test_33_1_5_writes_the_record_id_under_both_names() -> None:
    """issue 11 item 16: the table says outOrderId, the example hosRecordId: both go out."""
    request = ProjectApptCancelApptRequest(out_order_id="R-1", out_trade_no="XMYY-253-1")
    assert request.to_wire() == {"outOrderId": "R-1", "hosRecordId": "R-1", "outTradeNo": "XMYY-253-1"}


async def test_a_lab_cancel_on_the_wire(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    """issue 11 item 16: the order's outTradeNo has the hospital segment, and 33.1.5 reaches the hospital with
    outOrderId and hosRecordId both set to the record 33.1.3 gave."""
    created = await payments.create_lab_order(
        hospital_id="253",
        medical_card_number=CARD,
        patient_name="张三",
        sex="男",
        telephone="13526521254",
        project_id="12",
        scheduling_id="26",
        source_id="123",
        id_card=DEMO_ID_NUMBER,
    )
    out_trade_no = created.order.out_trade_no
    assert out_trade_no.startswith("XMYY-253-")
    await payments.record_payment(provider.pay(out_trade_no))
    await worker.run_until_idle()
    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    (cancelled,) = calls(clean_region, method="hospital.interface.projectAppt.cancelAppt")
    assert cancelled["body"]["outOrderId"] == cancelled["body"]["hosRecordId"] == order.his_serial
    assert cancelled["body"]["outTradeNo"] == out_trade_no


@pytest.mark.parametrize(
    ("charge_types", "prefix"),
    [((3,), "CFZF-253-"), ((3, 3), "CFZF-253-"), ((1,), "JCZF-253-"), ((2,), "JCZF-253-"), ((1, 3), "JCZF-253-")],
)
async def test_consultation_orders_use_cfzf_for_prescriptions_and_jczf_for_examinations(
    clean_region: httpx.Client, payments: PaymentService, charge_types: tuple[int, ...], prefix: str
) -> None:
    """issue 11 item 12: 25.2.1's example pays the drug as CFZF-CXRMYYH-... and the 心脏彩超 as JCZF-CXRMYYH-...;
    an order of prescriptions only is CFZF, anything with an examination or lab test JCZF."""
    created = await payments.create_consultation_order(
        hospital_id="253",
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
            PrescribedCharge(charge_id=str(12 + i), charge_type=kind, charge_name=f"项目{i}", quantity=1)
            for i, kind in enumerate(charge_types)
        ],
    )
    assert created.order.out_trade_no.startswith(prefix)
