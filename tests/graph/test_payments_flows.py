"""The paid flows through the real app: create -> payInSandbox -> the outbox worker -> NOTIFIED, and refunds.

The gateway runs without its own worker (run_payment_worker=False): each test drives one on the app's
services, so every step is deterministic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.payments.worker import OutboxWorker
from tests.conftest import DEMO_CARD, DEMO_ID_NUMBER, calls, run_graphql, running_gateway, sign_in_patient
from tests.graph.payment_slots import slot_variables
from tests.payments.conftest import applied, upload_schedule

HOSPITAL = "253"
OTHER_CARD = "001000099999999"
"""A card the signed-in account does not hold."""

ORDER = "order { outTradeNo paidFor state totalAmount onlineAmount hisSerial }"
CREATED = f"... on CreatedPayment {{ {ORDER} payParams }} ... on Refusal {{ code message }}"
REFUND = "outRefundNo outTradeNo amount state reason hisRefundNo note"

TODAY = f"""
mutation($card: String!, $todaySlot: ID!) {{
  createTodayRegistrationPayment(slotId: $todaySlot, medicalCardNumber: $card, patientName: "张三") {{ {CREATED} }}
}}"""
APPOINTMENT = f"""
mutation($card: String!, $appointmentSlot: ID!) {{
  createAppointmentPayment(slotId: $appointmentSlot, medicalCardNumber: $card,
    patientName: "张三", idCardNumber: "{DEMO_ID_NUMBER}", phone: "15689898989") {{ {CREATED} }}
}}"""
PHYSICAL = f"""
mutation($card: String!, $physicalExamSlot: ID!) {{
  createPhysicalExamPayment(slotId: $physicalExamSlot, medicalCardNumber: $card, idCardNumber: "{DEMO_ID_NUMBER}",
    name: "张三", sex: MALE) {{ {CREATED} }}
}}"""
RECHARGE = f"""
mutation($card: String!) {{
  createRechargePayment(hospitalId: "{HOSPITAL}", medicalCardNumber: $card, amount: "100.00") {{ {CREATED} }}
}}"""
ADMISSION = f"""
mutation($card: String!) {{
  createAdmissionPayment(hospitalId: "{HOSPITAL}", medicalCardNumber: $card) {{ {CREATED} }}
}}"""
LAB = f"""
mutation($card: String!, $labSlot: ID!) {{
  createLabAppointmentPayment(slotId: $labSlot, medicalCardNumber: $card, patientName: "张三", sex: MALE,
    phone: "13526521254") {{ {CREATED} }}
}}"""
SELF_ORDER = f"""
mutation($card: String!, $selfOrderSlot: ID!) {{
  createSelfOrderPayment(slotId: $selfOrderSlot, medicalCardNumber: $card) {{ {CREATED} }}
}}"""
CARD_REFUND = f"""
mutation($card: String!, $amount: Money) {{
  requestCardRefund(hospitalId: "{HOSPITAL}", medicalCardNumber: $card, amount: $amount) {{
    ... on CardRefund {{ amount refunds {{ {REFUND} }} }}
    ... on Refusal {{ code message }}
  }}
}}"""
CANCEL_PAID = f"""
mutation($no: String!) {{
  cancelPaidBooking(outTradeNo: $no) {{ ... on PaymentRefund {{ {REFUND} }} ... on Refusal {{ code message }} }}
}}"""
PAY = "mutation($no: String!) { payInSandbox(outTradeNo: $no) { outTradeNo state } }"
STATE = f"""
query($no: String!) {{
  paymentOrder(outTradeNo: $no) {{ state hisSerial }}
  paymentRefunds(outTradeNo: $no) {{ {REFUND} }}
}}"""


@pytest.fixture
async def payments_gateway(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> AsyncIterator[httpx.AsyncClient]:
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=3.0,
        run_payment_worker=False,
    )
    try:
        async with running_gateway(settings) as client:
            # The session 21.1.4 uploaded, whose fee (16.00) the appointment is charged.
            await upload_schedule(client._transport.app.state.services.db)  # type: ignore[attr-defined]
            yield client
    finally:
        sim_admin.post("/admin/reset").raise_for_status()  # later tests read the seeded region


async def drive(gateway: httpx.AsyncClient) -> None:
    """Run the outbox on the app's own store, HIS client and provider until nothing is due."""
    services = gateway._transport.app.state.services  # type: ignore[attr-defined]
    await OutboxWorker(db=services.db, his=services.his, provider=services.payment_provider).run_until_idle()


async def data_of(gateway: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await run_graphql(gateway, query, **slot_variables(gateway, query), **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def created(gateway: httpx.AsyncClient, mutation: str, field: str) -> dict[str, Any]:
    result = (await data_of(gateway, mutation, card=DEMO_CARD))[field]
    assert "order" in result, result
    assert result["order"]["state"] == "CREATED"
    assert result["payParams"]
    order: dict[str, Any] = result["order"]
    return order


async def paid_and_notified(gateway: httpx.AsyncClient, out_trade_no: str) -> dict[str, Any]:
    paid = (await data_of(gateway, PAY, no=out_trade_no))["payInSandbox"]
    assert paid["state"] == "PAID"
    await drive(gateway)
    state = await data_of(gateway, STATE, no=out_trade_no)
    assert state["paymentOrder"]["state"] == "NOTIFIED", state
    assert state["paymentOrder"]["hisSerial"]
    return state


async def test_todays_registration_is_paid_made_once_then_cancelled_with_refund(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    order = await created(payments_gateway, TODAY, "createTodayRegistrationPayment")
    out_trade_no = order["outTradeNo"]
    assert out_trade_no.startswith("DRGH-")
    assert order["totalAmount"] == "23.00"
    await paid_and_notified(payments_gateway, out_trade_no)
    assert applied(sim_admin, HOSPITAL, out_trade_no) == 1

    asked = (await data_of(payments_gateway, CANCEL_PAID, no=out_trade_no))["cancelPaidBooking"]
    assert asked["state"] == "AWAITING_HIS"
    again = (await data_of(payments_gateway, CANCEL_PAID, no=out_trade_no))["cancelPaidBooking"]
    assert again["outRefundNo"] == asked["outRefundNo"]  # idempotent
    await drive(payments_gateway)
    (refund,) = (await data_of(payments_gateway, STATE, no=out_trade_no))["paymentRefunds"]
    assert refund["state"] == "SUCCEEDED"
    assert refund["amount"] == "23.00"
    assert refund["hisRefundNo"]
    assert len(calls(sim_admin, method="hospital.interface.todayRegisterCancleRegister")) == 1


async def test_an_appointment_is_booked_paid_and_applied_once(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    order = await created(payments_gateway, APPOINTMENT, "createAppointmentPayment")
    out_trade_no = order["outTradeNo"]
    assert out_trade_no.startswith("YYGH-")
    await paid_and_notified(payments_gateway, out_trade_no)
    assert applied(sim_admin, HOSPITAL, out_trade_no) == 1
    (paid,) = calls(sim_admin, method="hospital.interface.yyghRegister")
    assert paid["body"]["payId"] == out_trade_no


async def test_a_physical_exam_is_booked_after_payment_and_cancelled_with_refund(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    order = await created(payments_gateway, PHYSICAL, "createPhysicalExamPayment")
    out_trade_no = order["outTradeNo"]
    assert out_trade_no.startswith("TJYY-")
    assert order["totalAmount"] == "37.00"
    await paid_and_notified(payments_gateway, out_trade_no)
    assert applied(sim_admin, HOSPITAL, out_trade_no) == 1
    await data_of(payments_gateway, CANCEL_PAID, no=out_trade_no)
    await drive(payments_gateway)
    (refund,) = (await data_of(payments_gateway, STATE, no=out_trade_no))["paymentRefunds"]
    assert refund["state"] == "SUCCEEDED"
    assert refund["amount"] == "37.00"


async def test_card_balance_goes_back_to_the_recharge_it_came_from(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    recharge = (await created(payments_gateway, RECHARGE, "createRechargePayment"))["outTradeNo"]
    await paid_and_notified(payments_gateway, recharge)
    too_much = (await data_of(payments_gateway, CARD_REFUND, card=DEMO_CARD, amount="100000.00"))["requestCardRefund"]
    assert too_much["code"] == "PARAMETER_RANGE"
    requested = (await data_of(payments_gateway, CARD_REFUND, card=DEMO_CARD, amount="30.00"))["requestCardRefund"]
    (asked,) = requested["refunds"]
    assert asked["outTradeNo"] == recharge
    assert asked["state"] == "AWAITING_HIS"
    await drive(payments_gateway)
    (refund,) = (await data_of(payments_gateway, STATE, no=recharge))["paymentRefunds"]
    assert refund["state"] == "SUCCEEDED"
    assert refund["amount"] == "30.00"
    assert applied(sim_admin, HOSPITAL, refund["outRefundNo"]) == 1


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        (TODAY, "createTodayRegistrationPayment"),
        (APPOINTMENT, "createAppointmentPayment"),
        (PHYSICAL, "createPhysicalExamPayment"),
        (CARD_REFUND, "requestCardRefund"),
        (ADMISSION, "createAdmissionPayment"),
        (LAB, "createLabAppointmentPayment"),
        (SELF_ORDER, "createSelfOrderPayment"),
    ],
)
async def test_a_card_not_held_is_refused_like_an_unknown_card(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client, mutation: str, field: str
) -> None:
    result = (await data_of(payments_gateway, mutation, card=OTHER_CARD))[field]
    assert result["code"] == "CARD_NOT_FOUND_20215"
    assert calls(sim_admin, hospitalId=HOSPITAL) == []  # the hospital was never asked


async def test_someone_elses_order_is_not_cancelled_nor_shown(payments_gateway: httpx.AsyncClient) -> None:
    order = await created(payments_gateway, TODAY, "createTodayRegistrationPayment")
    out_trade_no = order["outTradeNo"]
    await paid_and_notified(payments_gateway, out_trade_no)
    app = payments_gateway._transport.app  # type: ignore[attr-defined]
    payments_gateway.headers["Authorization"] = f"Bearer {await sign_in_patient(app, openid='other', cards=())}"
    refused = (await data_of(payments_gateway, CANCEL_PAID, no=out_trade_no))["cancelPaidBooking"]
    assert refused["code"] == "NOT_FOUND"
    state = await data_of(payments_gateway, STATE, no=out_trade_no)
    assert state == {"paymentOrder": None, "paymentRefunds": []}
    unknown = (await data_of(payments_gateway, CANCEL_PAID, no="DRGH-nope"))["cancelPaidBooking"]
    assert unknown["code"] == "NOT_FOUND"


async def test_an_unpaid_order_is_not_cancelled_with_refund(payments_gateway: httpx.AsyncClient) -> None:
    order = await created(payments_gateway, TODAY, "createTodayRegistrationPayment")
    refused = (await data_of(payments_gateway, CANCEL_PAID, no=order["outTradeNo"]))["cancelPaidBooking"]
    assert refused["code"] == "NOT_REFUNDABLE"


@pytest.mark.parametrize(
    ("mutation", "field", "prefix", "total", "cancelled_by"),
    [
        (ADMISSION, "createAdmissionPayment", "ZZJF-", "500.00", "hospital.interface.invalidInPatsInfo"),
        (LAB, "createLabAppointmentPayment", "XMYY-", "28.00", "hospital.interface.projectAppt.cancelAppt"),
        (
            SELF_ORDER,
            "createSelfOrderPayment",
            "ZZJF-",
            "66.00",
            "hospital.interface.selfPrescription.cancelSelfPrescription",
        ),
    ],
)
async def test_admission_lab_and_self_orders_are_paid_applied_once_then_cancelled_with_refund(
    payments_gateway: httpx.AsyncClient,
    sim_admin: httpx.Client,
    mutation: str,
    field: str,
    prefix: str,
    total: str,
    cancelled_by: str,
) -> None:
    order = await created(payments_gateway, mutation, field)
    out_trade_no = order["outTradeNo"]
    assert out_trade_no.startswith(prefix)
    assert order["totalAmount"] == total
    await paid_and_notified(payments_gateway, out_trade_no)
    assert applied(sim_admin, HOSPITAL, out_trade_no) == 1
    await data_of(payments_gateway, CANCEL_PAID, no=out_trade_no)
    await drive(payments_gateway)
    (refund,) = (await data_of(payments_gateway, STATE, no=out_trade_no))["paymentRefunds"]
    assert refund["state"] == "SUCCEEDED"
    assert refund["amount"] == total
    assert refund["hisRefundNo"]
    assert len(calls(sim_admin, method=cancelled_by)) == 1


async def paid_and_applied(gateway: httpx.AsyncClient, out_trade_no: str) -> None:
    """Paid and told to the hospital, for chapters whose reply names no serial (25.1.1, 27.1.2)."""
    assert (await data_of(gateway, PAY, no=out_trade_no))["payInSandbox"]["state"] == "PAID"
    await drive(gateway)
    assert (await data_of(gateway, STATE, no=out_trade_no))["paymentOrder"]["state"] == "NOTIFIED"


CONSULTATION = f"""
mutation($card: String!) {{
  createConsultationPayment(hospitalId: "{HOSPITAL}", medicalCardNumber: $card, patientName: "张三", sex: MALE,
    phone: "13526521254", idCardNumber: "{DEMO_ID_NUMBER}", birthDate: "1979-07-02", diagnoseCode: "I10.X02",
    diagnoseName: "高血压", doctorHospital: "演示人民医院", doctorName: "孙宏伟", doctorCode: "402968515",
    charges: [{{chargeId: "12", chargeType: 1, chargeName: "心脏彩超", quantity: 1}},
              {{chargeId: "13", chargeType: 3, chargeName: "缬沙坦胶囊", quantity: 2, groupId: "452658"}}])
    {{ {CREATED} }}
}}"""
MEDICAL_RECORD = f"""
mutation($card: String!, $admission: String!) {{
  createMedicalRecordPayment(hospitalId: "{HOSPITAL}", medicalCardNumber: $card, patientName: "张三",
    admissionNumber: $admission, applicationId: "fagfghetyejhrtjr23gafg22r3w4t6", pages: 25,
    idCardNumber: "{DEMO_ID_NUMBER}") {{ {CREATED} }}
}}"""


async def test_an_online_consultation_is_ordered_from_graphql_at_the_hospitals_prices(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 11 item 15: 25.1.1's order is made from GraphQL, each unit at 25.1.6's price, then synced once."""
    order = await created(payments_gateway, CONSULTATION, "createConsultationPayment")
    assert order["paidFor"] == "CONSULTATION"
    assert order["totalAmount"] == "840.00"  # 25.1.6 prices each at 280: 280 + 2 x 280
    await paid_and_applied(payments_gateway, order["outTradeNo"])
    (synced,) = calls(sim_admin, method="hospital.inerface.internetHospital.save")
    assert synced["body"]["tradeNo"] == order["outTradeNo"]


async def test_medical_record_copies_are_ordered_from_graphql_at_the_platforms_tariff(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 11 item 15 / issue 10 item 18: 27.1.2's order is made from GraphQL at the tariff (25 x 0.50 + 15.00
    postage), for a stay 27.1.1 lists; an unlisted stay is refused and nothing is charged."""
    unknown = await data_of(payments_gateway, MEDICAL_RECORD, card=DEMO_CARD, admission="999999")
    assert unknown["createMedicalRecordPayment"]["code"] == "PENDING_BILL_NOT_FOUND"
    result = await data_of(payments_gateway, MEDICAL_RECORD, card=DEMO_CARD, admission="060508")
    order = result["createMedicalRecordPayment"]["order"]
    assert order["paidFor"] == "MEDICAL_RECORD"
    assert order["totalAmount"] == "27.50"
    await paid_and_applied(payments_gateway, order["outTradeNo"])
    (written,) = calls(sim_admin, method="hospital.interface.medicalRecordInsertOrder")
    assert Decimal(str(written["body"]["printFee"])) == Decimal("12.50")
    assert Decimal(str(written["body"]["mailingFee"])) == Decimal("15.00")


@pytest.mark.parametrize(
    ("mutation", "field"), [(TODAY, "createTodayRegistrationPayment"), (APPOINTMENT, "createAppointmentPayment")]
)
async def test_an_edited_slot_id_books_nothing(
    payments_gateway: httpx.AsyncClient, sim_admin: httpx.Client, mutation: str, field: str
) -> None:
    """issue 12 item 8: booking takes the slotId the slot answered; an edited one (or one of another kind of
    slot) is a Refusal PARAMETER_FORMAT naming slotId, and the hospital is never asked."""
    name = "todaySlot" if "$todaySlot" in mutation else "appointmentSlot"
    genuine = slot_variables(payments_gateway, mutation)[name]
    version, body, mac = genuine.split(".")
    edited = f"{version}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{mac}"
    other_kind = slot_variables(payments_gateway, "$appointmentSlot $todaySlot")
    other = other_kind["appointmentSlot" if name == "todaySlot" else "todaySlot"]
    sim_admin.delete("/admin/calls")
    for slot in (edited, other, "not-a-slot"):
        body_ = await run_graphql(payments_gateway, mutation, card=DEMO_CARD, **{name: slot})
        refused = body_["data"][field]
        assert refused == {"code": "PARAMETER_FORMAT", "message": "号源信息无效，请重新查询号源后再预约。"}, body_
    assert calls(sim_admin, hospitalId=HOSPITAL) == []
