"""Money attacks: the amount charged is the hospital's price for this patient, never the client's.

Each test drives the real app (ASGI, its own SQLite store) against the simulated region over HTTP, as a
hostile patient would: tampered fees, amounts out of the hospital's limits, amounts with three decimals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.client import HisClient
from his_clients.guard import call_guard
from his_clients.models.base import HisRequest
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.registry import Registry
from resolvers.access import HeldCards, NotFound, check_principal_may_name
from services.identity.principal import PatientPrincipal
from services.payments.entry_online import MedicalRecordTariff
from services.payments.worker import OutboxWorker
from tests.conftest import DEMO_CARD, DEMO_ID_NUMBER, calls, run_graphql, running_gateway, sign_in_patient
from tests.graph.payment_slots import slot_declarations, slot_variables
from tests.payments.conftest import upload_schedule

HOSPITAL = "253"
FREE_CARD = "001000005190311"
"""刘淑珍, born 1956: the simulated hospital's 20.1.6 answers 0 (a free registration) from the age of 65."""

ORDER = "order { outTradeNo paidFor state totalAmount balancePayment onlineAmount }"
CREATED = f"... on CreatedPayment {{ {ORDER} }} ... on Refusal {{ code message }}"

APPOINTMENT_ARGS = (
    'slotId: $appointmentSlot, medicalCardNumber: $card, patientName: "张三", '
    f'idCardNumber: "{DEMO_ID_NUMBER}", phone: "15689898989"'
)
TODAY_ARGS = 'slotId: $todaySlot, medicalCardNumber: $card, patientName: "张三"'
PAY = "mutation($no: String!) { payInSandbox(outTradeNo: $no) { outTradeNo state } }"
STATE = "query($no: String!) { paymentOrder(outTradeNo: $no) { state totalAmount } }"

ALLOWED_MONEY_ARGUMENTS = {
    # The patient chooses these amounts; each is checked against the hospital's limits or quote.
    ("createRechargePayment", "amount"),
    ("createDepositPayment", "amount"),
    ("requestCardRefund", "amount"),
    # A part of the hospital's price paid from the card's balance: 0..price, two decimals.
    ("createOutpatientPayment", "balancePayment"),
    ("createTodayRegistrationPayment", "balancePayment"),
    ("createAppointmentPayment", "balancePayment"),
    ("createSelfOrderPayment", "balancePayment"),
    ("createInsurancePayment", "balancePayment"),
    # What the app showed: compared with the hospital's price, never charged.
    ("createTodayRegistrationPayment", "shownFee"),
    ("createAppointmentPayment", "shownFee"),
}


@pytest.fixture
async def gateway_253(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=3.0,
        run_payment_worker=False,
    )
    async with running_gateway(settings) as client:
        app = client._transport.app  # type: ignore[attr-defined]
        await upload_schedule(app.state.services.db)  # 21.1.4: doctor 256654, 20251203 AM, arAmt 16.00
        token = await sign_in_patient(app, openid="test:money", cards=(DEMO_CARD, FREE_CARD))
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


async def drive(gateway: httpx.AsyncClient) -> None:
    services = gateway._transport.app.state.services  # type: ignore[attr-defined]
    await OutboxWorker(db=services.db, his=services.his, provider=services.payment_provider).run_until_idle()


async def data_of(gateway: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await run_graphql(gateway, query, **variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def create(gateway: httpx.AsyncClient, field: str, args: str, card: str = DEMO_CARD) -> dict[str, Any]:
    result: dict[str, Any] = (
        await data_of(
            gateway,
            f"mutation({slot_declarations(args)}$card: String!) {{ {field}({args}) {{ {CREATED} }} }}",
            card=card,
            **slot_variables(gateway, args),
        )
    )[field]
    return result


async def test_an_appointment_is_charged_the_uploaded_fee_never_the_clients(
    gateway_253: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 10 item 18: `fee: "0.01"` is not an argument any more, a tampered shownFee books nothing,
    and the order, 21.2.2 and 21.2.4 all carry the fee the hospital uploaded (21.1.4 arAmt 16.00)."""
    tampered = await run_graphql(
        gateway_253,
        f"mutation($appointmentSlot: ID!, $card: String!) "
        f'{{ createAppointmentPayment({APPOINTMENT_ARGS}, fee: "0.01") {{ {CREATED} }} }}',
        card=DEMO_CARD,
        **slot_variables(gateway_253, APPOINTMENT_ARGS),
    )
    assert tampered.get("errors")
    assert not tampered.get("data")
    shown = await create(gateway_253, "createAppointmentPayment", f'{APPOINTMENT_ARGS}, shownFee: "0.01"')
    assert shown["code"] == "REGISTRATION_FEE_MISMATCH"
    assert "Decimal" not in shown["message"]
    assert calls(sim_admin, method="hospital.interface.appointmentInfo") == []

    made = await create(gateway_253, "createAppointmentPayment", f'{APPOINTMENT_ARGS}, shownFee: "16.00"')
    order = made["order"]
    assert order["totalAmount"] == "16.00"
    assert order["onlineAmount"] == "16.00"
    (booked,) = calls(sim_admin, method="hospital.interface.appointmentInfo")
    assert booked["body"]["arAmt"] in ("16.00", "16", 16)
    await data_of(gateway_253, PAY, no=order["outTradeNo"])
    await drive(gateway_253)
    (paid,) = calls(sim_admin, method="hospital.interface.yyghRegister")
    assert str(paid["body"]["arAmt"]) in ("16.00", "16")
    assert (await data_of(gateway_253, STATE, no=order["outTradeNo"]))["paymentOrder"]["state"] == "NOTIFIED"


async def test_a_session_the_hospital_never_uploaded_has_no_price(gateway_253: httpx.AsyncClient) -> None:
    """issue 10 item 18: with no 21.1.4 schedule there is no hospital price, so nothing is booked or charged."""
    args = APPOINTMENT_ARGS.replace("$appointmentSlot", "$unuploadedSlot")
    refused = await create(gateway_253, "createAppointmentPayment", args)
    assert refused["code"] == "DOCTOR_NOT_FOUND"


async def test_todays_registration_charges_what_20_1_6_quotes_for_this_patient(
    gateway_253: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 11 item 13 / issue 12 item 9: a free registration (20.1.6 "0") shows 0.00 and charges 0.00,
    and the registration is made with registrationFee 0; a full-fee patient is charged what feeForPatient shows."""
    fee_query = """query($card: String!) { hospital(hospitalId: "253") { todaySchedules(departmentId: "228") {
        doctor { id } clinicTypeId feeForPatient(medicalCardNumber: $card) } } }"""
    made: dict[str, dict[str, Any]] = {}
    for card, shown in ((FREE_CARD, "0.00"), (DEMO_CARD, "23.00")):
        schedules = (await data_of(gateway_253, fee_query, card=card))["hospital"]["todaySchedules"]
        (row,) = [s for s in schedules if s["doctor"] and s["doctor"]["id"] == "511"]
        assert row["feeForPatient"] == shown
        made[card] = await create(
            gateway_253, "createTodayRegistrationPayment", f'{TODAY_ARGS}, shownFee: "{shown}"', card=card
        )
        assert made[card]["order"]["totalAmount"] == shown, made[card]
    free = made[FREE_CARD]["order"]
    assert free["state"] == "PAID"  # nothing to pay online
    await drive(gateway_253)
    (registered,) = calls(sim_admin, method="hospital.interface.todayRegisterToRegister")
    assert registered["body"]["medicalCardNumber"] == FREE_CARD
    assert str(registered["body"]["registrationFee"]) in ("0", "0.00")
    state = await data_of(gateway_253, STATE, no=free["outTradeNo"])
    assert state["paymentOrder"]["state"] == "NOTIFIED"


async def test_a_tampered_shown_fee_for_today_is_refused(gateway_253: httpx.AsyncClient) -> None:
    """issue 10 item 18: an app claiming the fee is 0.01 gets 60202, not a registration for one fen."""
    refused = await create(gateway_253, "createTodayRegistrationPayment", f'{TODAY_ARGS}, shownFee: "0.01"')
    assert refused["code"] == "REGISTRATION_FEE_MISMATCH"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("50.00", "PARAMETER_RANGE"),
        ("60000.00", "PARAMETER_RANGE"),
        ("500.123", "PARAMETER_FORMAT"),
        ("0", "PARAMETER_RANGE"),
        ("-5.00", "PARAMETER_RANGE"),
    ],
)
async def test_a_deposit_outside_the_stays_limits_is_refused(
    gateway_253: httpx.AsyncClient, amount: str, code: str
) -> None:
    """issue 12 item 9: the stay shows min 100.00 / max 50000.00 (10.1.1); 50.00 and 60000.00 are refused
    with 20004, and 500.123 says "两位小数" without leaking Decimal('500.123')."""
    args = f'hospitalId: "253", medicalCardNumber: $card, patientName: "张三", amount: "{amount}"'
    refused = await create(gateway_253, "createDepositPayment", args)
    assert refused["code"] == code, refused
    assert "Decimal" not in refused["message"]
    assert "500.123" not in refused["message"]
    if amount == "500.123":
        assert "两位小数" in refused["message"]


async def test_a_deposit_within_the_limits_is_charged_as_chosen(gateway_253: httpx.AsyncClient) -> None:
    """issue 12 item 9: a deposit inside 100.00..50000.00 makes an order of that amount."""
    args = 'hospitalId: "253", medicalCardNumber: $card, patientName: "张三", amount: "500.00"'
    made = await create(gateway_253, "createDepositPayment", args)
    assert made["order"]["totalAmount"] == "500.00"


@pytest.mark.parametrize(
    ("field", "args", "code"),
    [
        ("createRechargePayment", 'hospitalId: "253", medicalCardNumber: $card, amount: "0.001"', "PARAMETER_FORMAT"),
        ("createRechargePayment", 'hospitalId: "253", medicalCardNumber: $card, amount: "-100.00"', "PARAMETER_RANGE"),
        (
            "createRechargePayment",
            'hospitalId: "253", medicalCardNumber: $card, amount: "99999999.00"',
            "PARAMETER_RANGE",
        ),
        (
            "createRechargePayment",
            f'hospitalId: "253", medicalCardNumber: $card, amount: "{"9" * 40}"',
            "PARAMETER_RANGE",
        ),
        (
            "createOutpatientPayment",
            'hospitalId: "253", medicalCardNumber: $card, balancePayment: "99999.00"',
            "PARAMETER_RANGE",
        ),
        (
            "createOutpatientPayment",
            'hospitalId: "253", medicalCardNumber: $card, balancePayment: "-1.00"',
            "PARAMETER_RANGE",
        ),
        ("createTodayRegistrationPayment", f'{TODAY_ARGS}, balancePayment: "24.00"', "PARAMETER_RANGE"),
        ("createTodayRegistrationPayment", f'{TODAY_ARGS}, balancePayment: "1.005"', "PARAMETER_FORMAT"),
        ("createAppointmentPayment", f'{APPOINTMENT_ARGS}, balancePayment: "17.00"', "PARAMETER_RANGE"),
        (
            "createSelfOrderPayment",
            'slotId: $selfOrderSlot, medicalCardNumber: $card, balancePayment: "100000.00"',
            "PARAMETER_RANGE",
        ),
    ],
)
async def test_every_client_amount_is_checked_against_the_hospitals_quote(
    gateway_253: httpx.AsyncClient, field: str, args: str, code: str
) -> None:
    """issue 10 item 18: every paying mutation refuses a tampered amount (out of range or format) and
    writes no order; nothing reveals a Python repr."""
    refused = await create(gateway_253, field, args)
    assert refused.get("code") == code, refused
    assert "Decimal" not in refused["message"]
    assert "order" not in refused


async def test_no_paying_mutation_takes_a_price_from_the_client(gateway_253: httpx.AsyncClient) -> None:
    """issue 10 item 18: the only Money arguments of any mutation are amounts the patient chooses (checked
    against the hospital's limits), card-balance parts, and the fee shown (compared, never charged)."""
    introspection = (
        """{ __schema { mutationType { fields { name args { name type { name kind ofType { name } } } } } } }"""
    )
    body = await run_graphql(gateway_253, introspection)
    money_args = set()
    for mutation in body["data"]["__schema"]["mutationType"]["fields"]:
        for arg in mutation["args"]:
            kind = arg["type"]
            named = kind["name"] or (kind["ofType"] or {}).get("name")
            if named == "Money":
                money_args.add((mutation["name"], arg["name"]))
    assert money_args <= ALLOWED_MONEY_ARGUMENTS, money_args - ALLOWED_MONEY_ARGUMENTS


# -- issue 10 item 13 in the money flows: a hospital's own words never reach the patient ------------------------

HOSPITAL_INTERNALS = (
    "ORA-00942: table or view does not exist; java.sql.SQLSyntaxErrorException at "
    "com.winning.his.dao.RegDao.book(RegDao.java:88) via jdbc:oracle:thin:@10.1.2.3:1521/HISDB"
)
INTERNAL_MARKS = ("ORA-", "java.", "com.winning", "jdbc:", "10.1.2.3", "SQLSyntax")
CONSULTATION_ARGS = (
    'hospitalId: "253", medicalCardNumber: $card, patientName: "张三", sex: MALE, phone: "13526521254", '
    f'idCardNumber: "{DEMO_ID_NUMBER}", birthDate: "1979-07-02", diagnoseCode: "I10.X02", diagnoseName: "高血压", '
    'doctorHospital: "演示人民医院", doctorName: "孙宏伟", doctorCode: "402968515", '
    'charges: [{chargeId: "12", chargeType: 1, chargeName: "心脏彩超", quantity: 1}]'
)
MEDICAL_RECORD_ARGS = (
    'hospitalId: "253", medicalCardNumber: $card, patientName: "张三", admissionNumber: "060508", '
    f'applicationId: "fagfghetyejhrtjr23gafg22r3w4t6", pages: 25, idCardNumber: "{DEMO_ID_NUMBER}"'
)


@pytest.mark.parametrize(
    ("field", "args", "method"),
    [
        ("createAppointmentPayment", f'{APPOINTMENT_ARGS}, shownFee: "16.00"', "hospital.interface.appointmentInfo"),
        (
            "createConsultationPayment",
            CONSULTATION_ARGS,
            "hospital.inerface.internetHospital.queryHospitalSingleCharge",
        ),
        ("createMedicalRecordPayment", MEDICAL_RECORD_ARGS, "hospital.interface.inpatientRecord"),
        ("createOutpatientPayment", 'hospitalId: "253", medicalCardNumber: $card', "hospital.interface.queryWaitPay"),
    ],
)
async def test_a_hospitals_refusal_of_a_quote_reaches_the_patient_as_its_codes_words(
    gateway_253: httpx.AsyncClient,
    sim_admin: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    field: str,
    args: str,
    method: str,
) -> None:
    """issue 10 item 13: a hospital refusing a quote or a booking with an Oracle error, a Java class and a JDBC
    address in its message: the patient reads the code's fixed words, the hospital's text goes to the log."""
    sim_admin.post(
        "/admin/faults",
        json={"hospitalId": "253", "method": method, "kind": "code", "code": "60701", "msg": HOSPITAL_INTERNALS},
    ).raise_for_status()
    with caplog.at_level(logging.WARNING):
        refused = await create(gateway_253, field, args)
    assert refused.get("code") == "ALREADY_TRIAGED", refused
    assert "order" not in refused
    shown = json.dumps(refused, ensure_ascii=False)
    assert not [mark for mark in INTERNAL_MARKS if mark in shown], shown
    assert any("ORA-00942" in record.getMessage() for record in caplog.records)  # for operators


async def test_a_refused_cancellation_notes_no_hospital_text(
    gateway_253: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 10 item 13: a refund's note (the patient reads it) says which step and code refused, never the
    hospital's own text (21.2.3 refusing a paid appointment's cancellation with its internals)."""
    made = await create(gateway_253, "createAppointmentPayment", f'{APPOINTMENT_ARGS}, shownFee: "16.00"')
    number = made["order"]["outTradeNo"]
    await data_of(gateway_253, PAY, no=number)
    await drive(gateway_253)
    sim_admin.post(
        "/admin/faults",
        json={
            "hospitalId": "253",
            "method": "hospital.interface.cancelAppointment",
            "kind": "code",
            "code": "60701",
            "msg": HOSPITAL_INTERNALS,
        },
    ).raise_for_status()
    cancelled = await data_of(
        gateway_253,
        "mutation($no: String!) { cancelPaidBooking(outTradeNo: $no) { __typename "
        "... on PaymentRefund { state } ... on Refusal { code message } } }",
        no=number,
    )
    assert cancelled["cancelPaidBooking"]["__typename"] == "PaymentRefund", cancelled
    await drive(gateway_253)
    refunds = (
        await data_of(gateway_253, "query($no: String!) { paymentRefunds(outTradeNo: $no) { state note } }", no=number)
    )["paymentRefunds"]
    assert [r["state"] for r in refunds] == ["REFUSED"], refunds
    assert "60701" in refunds[0]["note"]
    assert not [mark for mark in INTERNAL_MARKS if mark in refunds[0]["note"]], refunds


# -- the medical-record copy tariff is a setting ----------------------------------------------------------------


async def test_the_medical_record_tariff_is_a_setting(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> None:
    """issue 10 item 18: chapter 27 quotes no price; the platform's tariff comes from the settings (here 1.00 a page
    and 10.00 postage), never from the caller: 25 pages mailed cost 35.00."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'tariff.sqlite3'}",
        registry=region,
        run_payment_worker=False,
        medical_record_tariff=MedicalRecordTariff(page=Decimal("1.00"), mailing=Decimal("10.00")),
    )
    async with running_gateway(settings) as client:
        made = await create(client, "createMedicalRecordPayment", MEDICAL_RECORD_ARGS)
        assert made["order"]["totalAmount"] == "35.00", made
        too_many = await create(
            client, "createMedicalRecordPayment", MEDICAL_RECORD_ARGS.replace("pages: 25", "pages: 501")
        )
        assert too_many["code"] == "PARAMETER_RANGE"
    with pytest.raises(ValueError, match="page"):
        MedicalRecordTariff(page=Decimal("0.005"))


# -- issue 10 item 1 on the paying path: the request's guard ---------------------------------------------------

CREATE_CARD = """
mutation {
  createHealthCard(hospitalId: "253", name: "李四", sex: MALE, birthDate: "1990-03-07", phone: "13900000001",
                   idCardNumber: "11010119900307803X") {
    __typename ... on AccountCard { medicalCardNumber origin }
  }
}"""


async def test_a_created_cards_holder_pays_with_that_card(
    gateway_253: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 10 item 1: the guard refuses what the caller has not proven, not the card the caller created: its
    holder recharges it, pays, and the hospital is told (7.1.2), the typed ID number being sent nowhere."""
    app = gateway_253._transport.app  # type: ignore[attr-defined]
    token = await sign_in_patient(app, openid="test:creator", cards=())
    headers = {"Authorization": f"Bearer {token}"}

    async def ask(query: str, **variables: Any) -> dict[str, Any]:
        body = (
            await gateway_253.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        ).json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    created = (await ask(CREATE_CARD))["createHealthCard"]
    assert created["origin"] == "CREATED", created
    card = created["medicalCardNumber"]
    made = (
        await ask(
            f'mutation($card: String!) {{ createRechargePayment(hospitalId: "253", medicalCardNumber: $card, '
            f'amount: "50.00") {{ {CREATED} }} }}',
            card=card,
        )
    )["createRechargePayment"]
    number = made["order"]["outTradeNo"]
    assert (await ask(PAY, no=number))["payInSandbox"]["state"] == "PAID"
    await drive(gateway_253)
    assert (await ask(STATE, no=number))["paymentOrder"]["state"] == "NOTIFIED"
    told = calls(sim_admin, method="hospital.interface.paySuccess")
    assert [c["body"]["medicalCardNumber"] for c in told] == [card]
    # Someone else's card, through the same mutation: refused as a card that does not exist.
    other = (
        await ask(
            f'mutation($card: String!) {{ createRechargePayment(hospitalId: "253", medicalCardNumber: $card, '
            f'amount: "50.00") {{ {CREATED} }} }}',
            card=DEMO_CARD,
        )
    )["createRechargePayment"]
    assert other["code"] == "CARD_NOT_FOUND_20215"


async def test_the_guard_refuses_before_sending_and_is_absent_outside_requests(
    region: Registry, sim_admin: httpx.Client
) -> None:
    """issue 10 item 1: inside a guard (what GraphQL opens per request) a call naming a card the caller has not
    proven is refused before it is sent, with the usual 20215; outside one (jobs, shims, the payment worker)
    the same call goes out."""
    principal = PatientPrincipal(account_id=1)
    held = HeldCards(frozenset({FREE_CARD}), frozenset())

    async def check(method: str, request: HisRequest) -> None:
        check_principal_may_name(principal, held, method, request)

    async with HisClient(region) as his:
        sim_admin.delete("/admin/calls")
        with call_guard(check):
            with pytest.raises(NotFound) as refused:
                await his.call(
                    QUERY_WAIT_PAY, HOSPITAL, QueryWaitPayRequest(medical_card_number=DEMO_CARD), deadline=None
                )
            assert refused.value.extensions == {"code": "20215"}
            with pytest.raises(NotFound):
                await his.call(
                    QUERY_WAIT_PAY,
                    HOSPITAL,
                    QueryWaitPayRequest(medical_card_number=FREE_CARD, id_card=DEMO_ID_NUMBER),
                    deadline=None,
                )
            assert calls(sim_admin) == []
            await his.call(QUERY_WAIT_PAY, HOSPITAL, QueryWaitPayRequest(medical_card_number=FREE_CARD), deadline=None)
        await his.call(QUERY_WAIT_PAY, HOSPITAL, QueryWaitPayRequest(medical_card_number=DEMO_CARD), deadline=None)
    assert [c["body"]["medicalCardNumber"] for c in calls(sim_admin)] == [FREE_CARD, DEMO_CARD]
