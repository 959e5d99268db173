"""5.2.1 cancelInsuranceOrder and the deprecated 6.1.1 / 6.1.2: hospitals acting on our insurance orders."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.settings import Settings
from api.shims.validation import platform_entry, rules_for
from his_clients.registry import Registry
from resolvers.context import Services
from services.payments.clock import ManualClock
from services.payments.orders import EXPIRE_UNPAID, NOTIFY_HIS, PAYMENT_EXPIRES_AFTER
from services.payments.providers.base import ProviderRejected
from services.payments.providers.sandbox import SandboxProvider
from services.payments.sagas.insurance import InsuranceFlow
from services.payments.worker import REFUND_QUERY_JOB, OutboxWorker
from store.inbound import InboundCall
from store.orders import Order, OrderRepository, OrderState
from store.outbox import JobState, OutboxJob, OutboxRepository
from tests.conftest import DEMO_CARD, calls, running_gateway

HOSPITAL = "253"
OTHER_HOSPITAL = "254"
"""Also served from loopback in the demo region: it may call for itself, not act on 253's orders."""
SECTIONS = ["5.2.1", "6.1.1", "6.1.2"]
BILLS = ["001", "002", "003", "004"]
PAY_SUCCESS = "hospital.interface.medicalInsurance.paySuccess"
ORDER_STATE = "hospital.interface.medicalInsurance.queryOrderState"
CANCEL_SETTLEMENT = "hospital.interface.medicalInsurance.cancelOrder"
"""5.1.3: undoes the insurer's settlement; never for a paid order."""


def path_of(section: str) -> str:
    return "/" + str(platform_entry(section)["http_path"])


def example(section: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(platform_entry(section)["request_example"])
    return body


def services_of(client: httpx.AsyncClient) -> Services:
    services: Services = client._transport.app.state.services  # type: ignore[attr-defined]
    return services


@pytest.fixture
async def hospital(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    """A hospital's HIS calling the shims from loopback (auth none); no payment worker runs by itself."""
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=3.0,
        run_payment_worker=False,
    )
    try:
        async with running_gateway(settings, signed_in=False) as client:
            yield client
    finally:
        sim_admin.post("/admin/reset").raise_for_status()


async def ledger_order(
    client: httpx.AsyncClient, his_trade_id: str, state: OrderState, *, hospital_id: str = HOSPITAL
) -> str:
    """An insurance order of ours in `state` (reached by the ledger's own transitions), for the spec's hisTradeIds."""
    at = datetime(2025, 11, 26, 2, 0, tzinfo=UTC)
    order = Order(
        out_trade_no=f"XSYB-{his_trade_id}",
        business_type=InsuranceFlow.business_type,
        flow=InsuranceFlow.name,
        hospital_id=hospital_id,
        medical_card_number=DEMO_CARD,
        description="线上医保",
        total_amount=Decimal("150.00"),
        discount_amount=Decimal("0.00"),
        balance_payment=Decimal("30.00"),
        unified_pay_amount=Decimal("30.00"),
        online_amount=Decimal("90.00"),
        quote={"his_trade_id": his_trade_id},
        provider="sandbox",
    )
    path = {
        OrderState.CREATED: [],
        OrderState.CANCELLED: [OrderState.CANCELLED],
        OrderState.PAID: [OrderState.PAID],
        OrderState.NOTIFIED: [OrderState.PAID, OrderState.NOTIFIED],
        OrderState.REFUNDING: [OrderState.PAID, OrderState.REFUNDING],
        OrderState.REFUNDED: [OrderState.PAID, OrderState.REFUNDING, OrderState.REFUNDED],
        OrderState.PARKED: [OrderState.PAID, OrderState.PARKED],
    }[state]
    async with services_of(client).db.session() as session:
        orders = OrderRepository(session)
        await orders.add(order, at=at)
        for step in path:
            if step is OrderState.PAID:
                order.paid_at = at
                await OutboxRepository(session).enqueue(
                    kind=NOTIFY_HIS, dedupe_key=f"{NOTIFY_HIS}:{order.out_trade_no}", order_id=order.id, at=at
                )
            await orders.transition(order, step, reason="test", at=at)
    return order.out_trade_no


async def state_of(client: httpx.AsyncClient, out_trade_no: str) -> OrderState:
    summary = await services_of(client).payments.get(out_trade_no)
    assert summary is not None
    return summary.state


async def jobs_of(client: httpx.AsyncClient, out_trade_no: str) -> list[tuple[str, str]]:
    async with services_of(client).db.session() as session:
        order = await OrderRepository(session).get(out_trade_no)
        assert order is not None
        return [(job.kind, job.state) for job in await OutboxRepository(session).for_order(order.id)]


async def recorded(client: httpx.AsyncClient, section: str) -> list[InboundCall]:
    async with services_of(client).db.session() as session:
        query = select(InboundCall).where(InboundCall.section == section).order_by(InboundCall.id)
        return list((await session.execute(query)).scalars())


async def insurance_order(client: httpx.AsyncClient, *, pay: bool) -> tuple[str, str]:
    """A real insurance order (5.1.1, 5.1.2 at the simulated hospital): (outTradeNo, hisTradeId), paid or not."""
    services = services_of(client)
    made = await services.payments.create_insurance_order(
        hospital_id=HOSPITAL, medical_card_number=DEMO_CARD, detail_ids=BILLS
    )
    out_trade_no = made.created.order.out_trade_no
    if pay:
        provider = services.payment_provider
        assert isinstance(provider, SandboxProvider)
        await services.payments.record_payment(provider.pay(out_trade_no))
    return out_trade_no, made.settlement.his_trade_id


async def drive(client: httpx.AsyncClient) -> None:
    services = services_of(client)
    await OutboxWorker(db=services.db, his=services.his, provider=services.payment_provider).run_until_idle()


# -- the spec's examples --------------------------------------------------------------------------


async def test_the_5_2_1_example_cancels_an_unpaid_order(hospital: httpx.AsyncClient) -> None:
    out_trade_no = await ledger_order(hospital, "1212412211", OrderState.CREATED)
    reply = (await hospital.post(path_of("5.2.1"), json=example("5.2.1"))).json()
    assert reply == platform_entry("5.2.1")["response_example"]
    assert await state_of(hospital, out_trade_no) is OrderState.CANCELLED
    (call,) = await recorded(hospital, "5.2.1")
    assert (call.hospital_id, call.reply_code, call.reply["outTradeNo"]) == (HOSPITAL, "10001", out_trade_no)


async def test_the_6_1_1_example_answers_from_the_ledger(hospital: httpx.AsyncClient) -> None:
    out_trade_no = await ledger_order(hospital, "11009009", OrderState.NOTIFIED)
    reply = (await hospital.post(path_of("6.1.1"), json=example("6.1.1"))).json()
    expected = platform_entry("6.1.1")["response_example"]
    assert set(reply) == set(expected)
    assert set(reply["data"]) == set(expected["data"])
    assert (reply["success"], reply["code"]) == (True, "10001")
    assert reply["data"] == {
        "status": "1",
        "medicalCardNumber": DEMO_CARD,
        "blTradeNo": out_trade_no,
        "amount": "120.00",  # the self-pay part: 90.00 online + 30.00 from the card
        "payTime": "2025-11-26 10:00:00",
        "payType": "WeChatPay",
        "blPayment": "30.00",
        "hisTradeId": "11009009",
    }
    assert len(await recorded(hospital, "6.1.1")) == 1


@pytest.mark.parametrize(
    ("state", "status"),
    [(OrderState.CREATED, "0"), (OrderState.PAID, "1"), (OrderState.REFUNDED, "0"), (OrderState.PARKED, "1")],
)
async def test_6_1_1_says_whether_the_self_pay_part_is_paid(
    hospital: httpx.AsyncClient, state: OrderState, status: str
) -> None:
    await ledger_order(hospital, "11009009", state)
    data = (await hospital.post(path_of("6.1.1"), json=example("6.1.1"))).json()["data"]
    assert data["status"] == status
    assert (data["payTime"] == "") is (status == "0")


async def test_the_6_1_2_example_sends_a_paid_order_down_the_refund_path(hospital: httpx.AsyncClient) -> None:
    out_trade_no = await ledger_order(hospital, "11009009", OrderState.PAID)
    reply = (await hospital.post(path_of("6.1.2"), json=example("6.1.2"))).json()
    assert reply == platform_entry("6.1.2")["response_example"]
    assert await state_of(hospital, out_trade_no) is OrderState.PAID  # 5.1.6 decides, not the shim
    assert await jobs_of(hospital, out_trade_no) == [(NOTIFY_HIS, JobState.DONE), (REFUND_QUERY_JOB, JobState.PENDING)]


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("field", ["hisTradeId", "hospitalId"])
async def test_each_required_field_missing_is_20001(hospital: httpx.AsyncClient, section: str, field: str) -> None:
    required = {rule.name for rule in rules_for(section).fields if rule.required}
    assert required == {"hisTradeId"}
    # hospitalId is optional in the tables, but loopback calls for several hospitals and must name one.
    await ledger_order(hospital, str(example(section)["hisTradeId"]), OrderState.PAID)
    body = example(section)
    body.pop(field)
    reply = (await hospital.post(path_of(section), json=body)).json()
    assert reply["success"] is False
    assert reply["code"] == "20001"
    assert field in reply["msg"]
    assert len(await recorded(hospital, section)) == 1


@pytest.mark.parametrize("section", SECTIONS)
async def test_an_unknown_order_is_10002(hospital: httpx.AsyncClient, section: str) -> None:
    reply = (await hospital.post(path_of(section), json=example(section))).json()
    assert (reply["success"], reply["code"]) == (False, "10002")
    assert reply["data"] is None
    (call,) = await recorded(hospital, section)
    assert call.reply_code == "10002"


@pytest.mark.parametrize("section", SECTIONS)
async def test_another_hospitals_order_is_refused(hospital: httpx.AsyncClient, section: str) -> None:
    out_trade_no = await ledger_order(hospital, str(example(section)["hisTradeId"]), OrderState.PAID)
    as_other = {**example(section), "hospitalId": OTHER_HOSPITAL}
    reply = (await hospital.post(path_of(section), json=as_other)).json()
    assert reply["code"] == "10002"  # 254 has no such order: 253's is not found for it
    not_ours = {**example(section), "hospitalId": "999"}
    assert (await hospital.post(path_of(section), json=not_ours)).json()["code"] == "50001"
    assert await state_of(hospital, out_trade_no) is OrderState.PAID
    assert await jobs_of(hospital, out_trade_no) == [(NOTIFY_HIS, JobState.PENDING)]


@pytest.mark.parametrize(
    ("state", "code", "data"),
    [
        (OrderState.CANCELLED, "10001", "1"),
        (OrderState.REFUNDING, "10001", "1"),
        (OrderState.REFUNDED, "10001", "1"),
        (OrderState.NOTIFIED, "40002", "0"),  # 当医保结算所有流程已完成，调用接口返回取消失败
        (OrderState.PARKED, "10002", "0"),  # operators decide: the state is uncertain
    ],
)
async def test_5_2_1_answers_from_where_the_order_stands(
    hospital: httpx.AsyncClient, state: OrderState, code: str, data: str
) -> None:
    out_trade_no = await ledger_order(hospital, "1212412211", state)
    reply = (await hospital.post(path_of("5.2.1"), json=example("5.2.1"))).json()
    assert (reply["code"], reply["data"], reply["success"]) == (code, data, code == "10001")
    assert await state_of(hospital, out_trade_no) is state
    (call,) = await recorded(hospital, "5.2.1")
    assert call.reply_code == code


async def test_6_1_2_of_a_settled_order_is_refused(hospital: httpx.AsyncClient) -> None:
    await ledger_order(hospital, "11009009", OrderState.NOTIFIED)
    reply = (await hospital.post(path_of("6.1.2"), json=example("6.1.2"))).json()
    assert set(reply) == {"success", "msg", "code"}
    assert (reply["success"], reply["code"]) == (False, "40002")


# -- real orders: the simulated hospital, the sandbox provider, the payment worker ----------------------


async def test_a_paid_order_cancelled_twice_is_refunded_once(
    hospital: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    out_trade_no, his_trade_id = await insurance_order(hospital, pay=True)
    body = {"hospitalId": HOSPITAL, "hisTradeId": his_trade_id}
    first = (await hospital.post(path_of("5.2.1"), json=body)).json()
    second = (await hospital.post(path_of("5.2.1"), json=body)).json()
    assert first == second == platform_entry("5.2.1")["response_example"]
    await drive(hospital)
    again = (await hospital.post(path_of("5.2.1"), json=body)).json()
    assert again == first
    await drive(hospital)
    assert await state_of(hospital, out_trade_no) is OrderState.REFUNDED
    provider = services_of(hospital).payment_provider
    assert isinstance(provider, SandboxProvider)
    (refund,) = provider.refunds_of(out_trade_no)
    assert refund.amount == Decimal("60.00")  # the self-pay part: 150.00 less the insurer's 90.00
    assert calls(sim_admin, method=PAY_SUCCESS) == []  # the hospital cancelled: 5.1.4 is not sent
    (asked,) = calls(sim_admin, method=ORDER_STATE)
    assert asked["body"] == {"hisTradeId": his_trade_id, "outTradeNo": out_trade_no, "hospitalId": HOSPITAL}
    assert [job for job in await jobs_of(hospital, out_trade_no) if job[0] == REFUND_QUERY_JOB] == [
        (REFUND_QUERY_JOB, JobState.DONE)
    ]
    assert len(await recorded(hospital, "5.2.1")) == 3


async def test_an_unpaid_order_is_closed_at_the_provider_first(hospital: httpx.AsyncClient) -> None:
    out_trade_no, his_trade_id = await insurance_order(hospital, pay=False)
    body = {"hospitalId": HOSPITAL, "hisTradeId": his_trade_id}
    assert (await hospital.post(path_of("5.2.1"), json=body)).json()["data"] == "1"
    assert await state_of(hospital, out_trade_no) is OrderState.CANCELLED
    provider = services_of(hospital).payment_provider
    assert isinstance(provider, SandboxProvider)
    with pytest.raises(ProviderRejected):
        provider.pay(out_trade_no)


async def test_an_order_paid_at_the_provider_but_not_yet_recorded_is_processing(hospital: httpx.AsyncClient) -> None:
    out_trade_no, his_trade_id = await insurance_order(hospital, pay=False)
    provider = services_of(hospital).payment_provider
    assert isinstance(provider, SandboxProvider)
    notification = provider.pay(out_trade_no)  # the provider's notification has not reached us yet
    body = {"hospitalId": HOSPITAL, "hisTradeId": his_trade_id}
    reply = (await hospital.post(path_of("5.2.1"), json=body)).json()
    assert (reply["code"], reply["data"]) == ("40004", "0")
    assert await state_of(hospital, out_trade_no) is OrderState.CREATED
    await services_of(hospital).payments.record_payment(notification)
    assert (await hospital.post(path_of("5.2.1"), json=body)).json()["data"] == "1"  # now the refund path
    await drive(hospital)
    assert await state_of(hospital, out_trade_no) is OrderState.REFUNDED


async def test_a_settled_and_notified_order_cannot_be_cancelled(
    hospital: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    out_trade_no, his_trade_id = await insurance_order(hospital, pay=True)
    await drive(hospital)
    assert await state_of(hospital, out_trade_no) is OrderState.NOTIFIED
    reply = (await hospital.post(path_of("5.2.1"), json={"hospitalId": HOSPITAL, "hisTradeId": his_trade_id})).json()
    assert (reply["success"], reply["code"], reply["data"]) == (False, "40002", "0")
    status = (await hospital.post(path_of("6.1.1"), json={"hospitalId": HOSPITAL, "hisTradeId": his_trade_id})).json()[
        "data"
    ]
    assert (status["status"], status["blTradeNo"], status["amount"]) == ("1", out_trade_no, "60.00")
    assert len(calls(sim_admin, method=PAY_SUCCESS)) == 1
    # The only other job is the payment window's timer (EXPIRE_UNPAID, issue 11 item 7): once due, it finds the
    # order paid and ends without undoing anything (no 5.1.3, no release, no refund).
    assert await jobs_of(hospital, out_trade_no) == [(EXPIRE_UNPAID, JobState.PENDING), (NOTIFY_HIS, JobState.DONE)]
    services = services_of(hospital)
    later = ManualClock(datetime.now(UTC) + PAYMENT_EXPIRES_AFTER + timedelta(hours=1))
    await OutboxWorker(
        db=services.db, his=services.his, provider=services.payment_provider, clock=later
    ).run_until_idle()
    assert await state_of(hospital, out_trade_no) is OrderState.NOTIFIED
    assert calls(sim_admin, method=CANCEL_SETTLEMENT) == []
    assert await jobs_of(hospital, out_trade_no) == [(EXPIRE_UNPAID, JobState.DONE), (NOTIFY_HIS, JobState.DONE)]
    async with services.db.session() as session:
        others = await session.scalar(
            select(func.count()).select_from(OutboxJob).where(OutboxJob.kind.not_in([NOTIFY_HIS, EXPIRE_UNPAID]))
        )
    assert others == 0
