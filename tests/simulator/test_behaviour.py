"""State changes, validation and idempotency, observed through HTTP like a gateway would."""

from __future__ import annotations

import httpx

from tests.simulator.helpers import entry

CARD = "001000056254587"
WAIT_PAY = "hospital.interface.queryWaitPay"
PAY = "hospital.interface.clinicPayment"


def _pay_body(out_trade_no: str, *, amount: str = "120") -> dict[str, object]:
    body = dict(entry("3.1.2").request_example)
    body.update({"outTradeNo": out_trade_no, "amount": amount})
    return body


def test_missing_required_param_is_20001(client: httpx.Client) -> None:
    reply = client.post(f"/his/253/{WAIT_PAY}", json={"hospitalId": "253"}).json()
    assert (reply["success"], reply["code"]) == (False, "20001")
    assert "medicalcardnumber" in reply["msg"].lower()
    assert "data" in reply


def test_malformed_date_is_20003(client: httpx.Client) -> None:
    body = dict(entry("16.1.1", "检验报告").request_example, startTime="2018/01/01")
    reply = client.post("/his/253/hospital.interface.laboratoryReport", json=body).json()
    assert reply["code"] == "20003"


def test_invalid_id_card_and_amount_are_20003(client: httpx.Client) -> None:
    bad_id = {"hospitalId": "253", "medicalCardNumber": CARD, "idCard": "370102197913325236"}
    assert client.post(f"/his/253/{WAIT_PAY}", json=bad_id).json()["code"] == "20003"
    assert client.post(f"/his/253/{PAY}", json=_pay_body("T-1", amount="12o")).json()["code"] == "20003"


def test_unknown_card_and_unknown_hospital(client: httpx.Client) -> None:
    reply = client.post(f"/his/253/{WAIT_PAY}", json={"medicalCardNumber": "999"}).json()
    assert reply["code"] == "20215"
    assert client.post(f"/his/999/{WAIT_PAY}", json={"medicalCardNumber": CARD}).json()["code"] == "60001"


def test_paying_removes_the_bills_and_applies_once(client: httpx.Client) -> None:
    before = client.post(f"/his/253/{WAIT_PAY}", json={"medicalCardNumber": CARD}).json()["data"]
    assert {"001", "002", "003", "004"} <= {row["id"] for row in before["detail"]}
    first = client.post(f"/his/253/{PAY}", json=_pay_body("ZJZF-TEST-1")).json()
    second = client.post(f"/his/253/{PAY}", json=_pay_body("ZJZF-TEST-1")).json()
    assert first["success"] is True
    assert second == first
    after = client.post(f"/his/253/{WAIT_PAY}", json={"medicalCardNumber": CARD}).json()["data"]
    assert not {"001", "002", "003", "004"} & {row["id"] for row in after["detail"]}
    assert client.get("/admin/applied").json()["253"]["ZJZF-TEST-1"] == 1
    refundable = client.post(
        "/his/253/hospital.interface.refundQuery", json={"medicalCardNumber": CARD, "outTradeNo": "ZJZF-TEST-1"}
    )
    assert refundable.json()["data"] == "nonrefundable"
    trades = client.post(
        "/his/253/hospital.interface.reconciliation.queryByOutTradeNo", json={"tradeNo": "ZJZF-TEST-1"}
    ).json()
    assert trades["data"][0]["amount"] == "120.00"


def test_paying_the_wrong_amount_is_60103(client: httpx.Client) -> None:
    reply = client.post(f"/his/253/{PAY}", json=_pay_body("ZJZF-TEST-2", amount="119")).json()
    assert reply["code"] == "60103"
    assert "ZJZF-TEST-2" not in client.get("/admin/applied").json()["253"]


def test_recharge_raises_the_balance(client: httpx.Client) -> None:
    balance = client.post("/his/254/hospital.interface.queryBalance", json={"medicalCardNumber": CARD}).json()["data"][
        "balance"
    ]
    body = dict(entry("7.1.2").request_example, outTradeNo="JZKCZ-TEST-1", payAmount="100")
    client.post("/his/254/hospital.interface.paySuccess", json=body)
    client.post("/his/254/hospital.interface.paySuccess", json=body)
    after = client.post("/his/254/hospital.interface.queryBalance", json={"medicalCardNumber": CARD}).json()["data"][
        "balance"
    ]
    from decimal import Decimal

    assert Decimal(after) - Decimal(balance) == Decimal("100")


def test_deposit_adds_a_record(client: httpx.Client) -> None:
    body = dict(entry("10.1.2").request_example, outTradeNo="ZYYJ-TEST-1", amount="500")
    assert client.post("/his/255/hospital.interface.paymentOfDeposit", json=body).json()["success"] is True
    records = client.post(
        "/his/255/hospital.interface.getDepositRecord",
        json=entry("39.1.1").request_example | {"medicalCardNumber": CARD},
    ).json()
    assert "ZYYJ-TEST-1" in {row["outTradeNo"] for row in records["data"]}


def test_registering_takes_a_slot_and_cancelling_returns_it(client: httpx.Client) -> None:
    remain_body = {"departmentId": "228", "doctorId": "511", "regClassId": "1082-286968"}

    def remaining() -> int:
        rows = client.post("/his/253/hospital.interface.todayRegisterGetRemain", json=remain_body).json()["data"]
        return sum(int(row["appNum"]) for row in rows)

    before = remaining()
    # registrationFee is the online part (20.1.7's table); the example's balance and unified parts would
    # make it 23.03 against the hospital's 23.00, so this registration is paid wholly online.
    body = dict(
        entry("20.1.7").request_example,
        todayRegisterId="reg-test-1",
        payId="DRGH-TEST-1",
        balancePayment="0",
        unifiedAmount="0",
    )
    registered = client.post("/his/253/hospital.interface.todayRegisterToRegister", json=body).json()
    assert registered["success"] is True
    assert remaining() == before - 1
    cancel = {"todayRegisterId": "reg-test-1", "hisRegistrationId": registered["data"]["hisRegistrationId"]}
    cancelled = client.post("/his/253/hospital.interface.todayRegisterCancleRegister", json=cancel).json()
    assert cancelled["data"]["refundNo"]
    assert remaining() == before


def test_regional_multi_hospital_call_returns_both_hospitals(client: httpx.Client) -> None:
    body = dict(entry("16.1.1", "检验报告").request_example, medicalCardNumber=CARD, hospitalId="256,257")
    body.update({"startTime": "2000-01-01 00:00:00", "endTime": "2099-01-01 00:00:00"})
    reports = client.post("/regional/hospital.interface.laboratoryReport", json=body).json()["data"]["report"]
    assert {row["hospitalId"] for row in reports} == {"256", "257"}


def test_regional_endpoint_tells_hospitals_apart(client: httpx.Client) -> None:
    body = {"hospitalId": "256", "medicalCardNumber": CARD, "outTradeNo": "ZJZF-REG-1"}
    client.post(f"/regional/{PAY}", json=_pay_body("ZJZF-REG-1") | body)
    applied = client.get("/admin/applied").json()
    assert applied["256"].get("ZJZF-REG-1") == 1
    assert "ZJZF-REG-1" not in applied["257"]
    assert (
        client.post(f"/regional/{WAIT_PAY}", json={"hospitalId": "253", "medicalCardNumber": CARD}).json()["code"]
        == "60001"
    )


def test_calls_are_recorded(client: httpx.Client) -> None:
    client.delete("/admin/calls")
    client.post(f"/his/254/{WAIT_PAY}", json={"medicalCardNumber": CARD})
    calls = client.get("/admin/calls", params={"method": WAIT_PAY, "hospitalId": "254"}).json()
    assert [call["body"]["medicalCardNumber"] for call in calls] == [CARD]
    assert set(calls[0]) == {"hospitalId", "method", "body", "at"}
