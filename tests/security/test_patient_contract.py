"""What a front-end team relies on (issue 12 items 11, 12, 14): whose card, whose stay, one unknown hospital
nulls only its own entry, and refusals a client can act on. Through the real ASGI app and the simulator."""

from __future__ import annotations

from datetime import date

import httpx

from services.identity.principal import PatientPrincipal
from tests.conftest import DEMO_CARD, calls, run_graphql

INPATIENT_INFO = "hospital.interface.queryInpatientInfo"


async def test_a_stay_under_another_name_is_not_shown(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 12 item 11: inpatientStays(patientName: "李四") on 张三's card gives no stay (it gave 张三's)."""
    query = """query ($name: String, $card: String!) { patient(medicalCardNumber: $card) {
      inpatientStays(hospitalId: "253", patientName: $name) { hospitalId stay { registeredName admissionNumber } }
    } }"""
    other = await run_graphql(gateway, query, name="李四", card=DEMO_CARD)
    assert "errors" not in other
    assert other["data"]["patient"]["inpatientStays"] == [{"hospitalId": "253", "stay": None}]
    own = await run_graphql(gateway, query, name="张三", card=DEMO_CARD)
    assert own["data"]["patient"]["inpatientStays"][0]["stay"]["registeredName"] == "张三"


async def test_the_name_is_taken_from_the_card_when_left_out(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 11: patientName is optional where the card's holder is known; the call carries the name."""
    query = """query ($card: String!) { patient(medicalCardNumber: $card) {
      inpatientStays(hospitalId: "253") { stay { registeredName deposits { amount } } }
      depositRecords(hospitalId: "253") { deposits { amount } }
    } }"""
    body = await run_graphql(gateway, query, card=DEMO_CARD)
    assert "errors" not in body, body
    assert body["data"]["patient"]["inpatientStays"][0]["stay"]["registeredName"] == "张三"
    sent = calls(sim_admin, method=INPATIENT_INFO)
    assert sent
    assert sent[-1]["body"]["patientName"] == "张三"


async def test_an_account_card_says_whose_and_where(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 11: AccountCard gives the holder's name masked (张*) and the hospitals that know the card."""
    app = gateway._transport.app  # type: ignore[attr-defined]
    services = app.state.services
    account = await services.accounts.account_for(openid="test:whose-card")
    created = await services.accounts.create_card(
        account_id=account.id,
        hospital_id="254",
        name="王小明",
        gender="1",
        birthdate=date(1990, 1, 2),
        phone="13800001111",
        id_number=None,
    )
    gateway.headers["Authorization"] = f"Bearer {services.sessions.issue(PatientPrincipal(account_id=account.id))}"
    body = await run_graphql(gateway, "{ me { cards { medicalCardNumber holderName hospitals { id name } } } }")
    assert "errors" not in body, body
    [card] = body["data"]["me"]["cards"]
    assert card["medicalCardNumber"] == created.medical_card_number
    assert card["holderName"] == "王**"
    assert [h["id"] for h in card["hospitals"]] == ["254"]
    assert "王小明" not in str(body)


async def test_an_unknown_hospital_id_nulls_its_own_entry_only(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 12: hospitalId "253,999" keeps the patient and 253's entry; 999 is its own error (60001)."""
    query = """query ($card: String!) { patient(medicalCardNumber: $card) {
      medicalCardNumber
      inpatientStays(hospitalId: "253,999") { hospitalId stay { admissionNumber } }
      labReports(hospitalId: "999,253") { hospitalId }
    } }"""
    body = await run_graphql(gateway, query, card=DEMO_CARD)
    patient = body["data"]["patient"]
    assert patient["medicalCardNumber"] == DEMO_CARD
    assert patient["inpatientStays"][0]["hospitalId"] == "253"
    assert patient["inpatientStays"][1] is None
    assert patient["labReports"][0] is None
    assert patient["labReports"][1]["hospitalId"] == "253"
    paths = sorted(tuple(e["path"]) for e in body["errors"])
    assert paths == [("patient", "inpatientStays", 1), ("patient", "labReports", 0)]
    for error in body["errors"]:
        assert error["extensions"]["code"] == "60001"
        assert error["extensions"]["hospitalId"] == "999"
        assert "医院" in error["message"]


async def test_not_signed_in_is_one_code_on_queries_and_mutations(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 14: without a session, a query and a payment mutation answer the same UNAUTHENTICATED with
    a Chinese message (a payment mutation answered 20004 金额不正确)."""
    gateway.headers.pop("Authorization", None)
    query = await run_graphql(
        gateway, "query ($card: String!) { patient(medicalCardNumber: $card) { medicalCardNumber } }", card=DEMO_CARD
    )
    mutation = await run_graphql(
        gateway,
        """mutation ($card: String!) {
          createRechargePayment(hospitalId: "253", medicalCardNumber: $card, amount: "100.00") {
          ... on Refusal { code message } } }""",
        card=DEMO_CARD,
    )
    for body in (query, mutation):
        [error] = body["errors"]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert "登录" in error["message"]


async def test_the_demo_says_where_codes_appear_and_how_to_pay() -> None:
    """issue 12 item 15: the banner names the console's SMS codes, logInForDevelopment(withCard: false) and
    payInSandbox."""
    from api.demo import DEMO_HOW_TO

    assert "demo SMS to" in DEMO_HOW_TO
    assert "withCard: false" in DEMO_HOW_TO
    assert "payInSandbox" in DEMO_HOW_TO


def test_the_simulators_card_lists_hold_no_placeholder_numbers(sim_admin: httpx.Client) -> None:
    """issue 12 item 15: 2.1.x's card list for 张三 holds real card numbers only, not "253", "123" or "用户卡号"."""
    reply = sim_admin.post(
        "/his/253/hospital.interface.selHisCardListByNameAndIdCard",
        json={"name": "张三", "idCard": "370102197907025236"},
    ).json()
    cards = {row["medicalCardNumber"] for row in reply["data"]}
    assert "001000056254587" in cards
    assert not cards & {"253", "123", "用户卡号"}


async def test_every_name_taking_field_takes_it_from_the_card(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 11 (siblings): the fields whose request requires the patient's name take it from the card
    when patientName is left out (records, fees, prescriptions, stays, discharges)."""
    query = """query ($card: String!) { patient(medicalCardNumber: $card) {
      outpatientFees(hospitalId: "253", from: "2020-01-01T00:00:00", to: "2030-12-31T00:00:00") { hospitalId }
      prescriptions(hospitalId: "253", from: "2020-01-01T00:00:00", to: "2030-12-31T00:00:00") { hospitalId }
      medicalRecords(hospitalId: "253", from: "2020-01-01T00:00:00", to: "2030-12-31T00:00:00") { hospitalId }
      hospitalizations(hospitalId: "253", from: "2020-01-01T00:00:00", to: "2030-12-31T00:00:00") { hospitalId }
      discharges(hospitalId: "253", idCardNumber: "370102197907025236") { hospitalId }
    } }"""
    body = await run_graphql(gateway, query, card=DEMO_CARD)
    assert "errors" not in body, body
    for method in (
        "hospital.interface.queryOutpatientCostDetail",
        "hospital.interface.getPrescriptionRecord",
        "hospital.interface.electronicMedicalRecord",
        "hospital.interface.queryHospitalizationRecord",
        "hospital.interface.getOutOfHospitalHistory",
    ):
        sent = calls(sim_admin, method=method)
        assert sent, method
        assert sent[-1]["body"]["patientName"] == "张三", method


async def test_a_missing_argument_is_20001_in_chinese_not_a_masked_error(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 14: pastStays without an ID number or admission number is a 20001 refusal with a Chinese
    message (it was a plain error, masked in production; dailyFees without an ID number is refused the same way)."""
    query = """query ($card: String!) { patient(medicalCardNumber: $card) {
      pastStays(hospitalId: "253") { hospitalId }
    } }"""
    body = await run_graphql(gateway, query, card=DEMO_CARD)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "20001", "field": "idCardNumber"}
    assert "身份证号" in error["message"]


async def test_orders_list_only_the_accounts_own_cards(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 10: me.orders lists the orders of the cards the account holds, none of another account's."""
    made = await run_graphql(
        gateway,
        """mutation ($card: String!) { createRechargePayment(hospitalId: "253", medicalCardNumber: $card,
          amount: "100.00") { ... on CreatedPayment { order { outTradeNo } } ... on Refusal { code } } }""",
        card=DEMO_CARD,
    )
    out_trade_no = made["data"]["createRechargePayment"]["order"]["outTradeNo"]
    orders = "{ me { orders(first: 5) { edges { node { outTradeNo paidFor status } } } } }"
    mine = (await run_graphql(gateway, orders))["data"]["me"]["orders"]["edges"]
    assert [e["node"] for e in mine] == [{"outTradeNo": out_trade_no, "paidFor": "RECHARGE", "status": "UNPAID"}]
    app = gateway._transport.app  # type: ignore[attr-defined]
    account = await app.state.services.accounts.account_for(openid="test:someone-else")
    gateway.headers["Authorization"] = (
        f"Bearer {app.state.services.sessions.issue(PatientPrincipal(account_id=account.id))}"
    )
    theirs = (await run_graphql(gateway, orders))["data"]["me"]["orders"]["edges"]
    assert theirs == []
