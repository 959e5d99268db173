"""Orders made, paid and applied through the real PaymentService of a running gateway, for the shim tests.

``shim_gateway`` is the real app on the store of ``db`` (SQLite and PostgreSQL), without its own worker:
``drive`` runs one on the app's own store, HIS client and sandbox provider, so every step is deterministic.
The client calls the shims from loopback (auth none) as a hospital of the simulated region.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.payments.orders import PaymentService, PrescribedCharge
from services.payments.worker import OutboxWorker
from store.db import Database
from store.orders import Order, OrderRepository
from tests.conftest import DEMO_CARD, DEMO_ID_NUMBER, running_gateway

HOSPITAL = "253"


@pytest.fixture
async def shim_gateway(region: Registry, db: Database, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        registry=region,
        request_deadline_s=3.0,
        migrate_on_start=False,
        run_payment_worker=False,
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


def services_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.services  # type: ignore[attr-defined]


def payments_of(client: httpx.AsyncClient) -> PaymentService:
    payments: PaymentService = services_of(client).payments
    return payments


async def drive(client: httpx.AsyncClient) -> None:
    """Run the outbox on the app's own store, HIS client and provider until nothing is due."""
    services = services_of(client)
    await OutboxWorker(db=services.db, his=services.his, provider=services.payment_provider).run_until_idle()


async def pay(client: httpx.AsyncClient, out_trade_no: str) -> None:
    """The patient pays in the sandbox; the paid notification is recorded; the sagas run to the end."""
    services = services_of(client)
    await services.payments.record_payment(services.payment_provider.pay(out_trade_no))
    await drive(client)


async def order_of(client: httpx.AsyncClient, out_trade_no: str) -> Order:
    async with services_of(client).db.session() as session:
        order = await OrderRepository(session).get(out_trade_no)
    assert order is not None
    return order


async def paid_today_registration(client: httpx.AsyncClient) -> Order:
    """A today's registration (20.1.7 made at the simulated 253), paid and NOTIFIED."""
    created = await payments_of(client).create_today_registration_order(
        hospital_id=HOSPITAL,
        medical_card_number=DEMO_CARD,
        patient_name="张三",
        department_id="228",
        doctor_id="511",
        reg_class_id="1082-286968",
        serial_number="2",
        am_pm="a",
    )
    await pay(client, created.order.out_trade_no)
    order = await order_of(client, created.order.out_trade_no)
    assert order.state == "NOTIFIED", order.state_reason
    return order


CONSULTATION_CHARGES = (
    PrescribedCharge(charge_id="12", charge_type=1, charge_name="心脏彩超", quantity=1),
    PrescribedCharge(charge_id="20", charge_type=1, charge_name="胸部CT", quantity=1, memo="空腹"),
    PrescribedCharge(
        charge_id="13",
        charge_type=3,
        charge_name="缬沙坦胶囊（代文）",
        quantity=2,
        group_id="452658",
        frequency_name="tid",
        usage_name="口服",
        dose="160mg",
    ),
)
"""Two exams and a prescription; the simulated 25.1.6 prices every item at 280.00."""


async def paid_consultation(
    client: httpx.AsyncClient, *, charges: tuple[PrescribedCharge, ...] = CONSULTATION_CHARGES, notify: bool = True
) -> Order:
    """An online consultation's prescriptions, priced by 25.1.6, paid; synced by 25.1.1 unless ``notify`` is off."""
    created = await payments_of(client).create_consultation_order(
        hospital_id=HOSPITAL,
        medical_card_number=DEMO_CARD,
        patient_name="李洋",
        gender="女",
        phone="19812341234",
        id_card=DEMO_ID_NUMBER,
        birthday="1979-07-02",
        diagnose_code="I10.X02",
        diagnose_name="高血压",
        description="外伤后颈部腰部疼痛2年",
        bill_doc_hospital="演示人民医院",
        bill_doc_name="孙宏伟",
        bill_doc_code="402968515",
        consult_code=3477691,
        charges=list(charges),
    )
    out_trade_no = created.order.out_trade_no
    if notify:
        await pay(client, out_trade_no)
    else:
        services = services_of(client)
        await services.payments.record_payment(services.payment_provider.pay(out_trade_no))
    return await order_of(client, out_trade_no)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
