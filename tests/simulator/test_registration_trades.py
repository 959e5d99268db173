"""Paid registrations (20.1.7, 21.2.4) and their cancellations (20.1.8, 21.2.3) are trades the hospital's
reconciliation records (14.2.1-14.2.3) answer for, as outpatient bills, recharges and deposits are; and a
doctor can prescribe more for a card (the chaos run's bills)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.simulator.helpers import entry

CARD = "001000056254587"
DAY = {"startTime": "2000-01-01 00:00:00", "endTime": "2099-12-31 23:59:59"}


def post(client: httpx.Client, method: str, body: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = client.post(f"/his/253/hospital.interface.{method}", json=body).json()
    return reply


def trades(client: httpx.Client, trade_no: str) -> list[dict[str, Any]]:
    rows = post(client, "reconciliation.detail", DAY)["data"]
    return [row for row in rows if row["tradeNo"] == trade_no]


def test_todays_registration_and_its_cancellation_are_recorded(client: httpx.Client) -> None:
    # registrationFee is the online part (20.1.7's table); the example's balance and unified parts would
    # make it 23.03 against the hospital's 23.00, so this registration is paid wholly online.
    body = dict(
        entry("20.1.7").request_example,
        todayRegisterId="reg-trade-1",
        payId="DRGH-TRADE-1",
        balancePayment="0",
        unifiedAmount="0",
    )
    registered = post(client, "todayRegisterToRegister", body)
    assert registered["success"] is True
    (paid,) = trades(client, "DRGH-TRADE-1")
    assert (Decimal(paid["amount"]), paid["refundNo"], paid["complete"]) == (Decimal("23.00"), "", True)
    (by_number,) = post(client, "reconciliation.queryByOutTradeNo", {"tradeNo": "DRGH-TRADE-1"})["data"]
    assert Decimal(by_number["amount"]) == Decimal("23.00")

    cancel = {"todayRegisterId": "reg-trade-1", "hisRegistrationId": registered["data"]["hisRegistrationId"]}
    refund_no = post(client, "todayRegisterCancleRegister", cancel)["data"]["refundNo"]
    refund = [row for row in trades(client, "DRGH-TRADE-1") if row["refundNo"]]
    assert [(Decimal(row["amount"]), row["refundNo"]) for row in refund] == [(Decimal("-23.00"), refund_no)]
    found = post(
        client, "reconciliation.queryByOutTradeNoAndRefundNo", {"tradeNo": "DRGH-TRADE-1", "refundNo": refund_no}
    )
    assert Decimal(found["data"]["amount"]) == Decimal("23.00")


def test_a_paid_appointment_and_its_cancellation_are_recorded(client: httpx.Client) -> None:
    booking = dict(entry("21.2.2").request_example, recordId="rec-trade-1", date="20991201", hisTimeId="")
    assert post(client, "appointmentInfo", booking)["success"] is True
    pay = dict(
        entry("21.2.4").request_example,
        recordId="rec-trade-1",
        payId="YYGH-TRADE-1",
        deptCode=booking["deptCode"],
        docCode=booking["docCode"],
        arAmt="16.00",
        unifiedAmount="0",
        balancePay="0",
        scheduleDate="20991201",
    )
    paid = post(client, "yyghRegister", pay)
    assert paid["success"] is True, paid
    (row,) = trades(client, "YYGH-TRADE-1")
    assert Decimal(row["amount"]) == Decimal("16.00")

    cancelled = post(client, "cancelAppointment", dict(entry("21.2.3").request_example, recordId="rec-trade-1"))
    refunds = [row for row in trades(client, "YYGH-TRADE-1") if row["refundNo"]]
    assert [(Decimal(r["amount"]), r["refundNo"]) for r in refunds] == [(Decimal("-16.00"), cancelled["refundNo"])]


def test_an_unpaid_booking_cancelled_records_no_refund(client: httpx.Client) -> None:
    booking = dict(entry("21.2.2").request_example, recordId="rec-trade-2", date="20991202", hisTimeId="")
    assert post(client, "appointmentInfo", booking)["success"] is True
    assert post(client, "cancelAppointment", dict(entry("21.2.3").request_example, recordId="rec-trade-2"))["success"]
    assert trades(client, "rec-trade-2") == []
    assert not [row for row in post(client, "reconciliation.detail", DAY)["data"] if row["refundNo"].startswith("TH")]


def test_a_doctor_prescribes_more_for_a_card(client: httpx.Client) -> None:
    before = post(client, "queryWaitPay", {"medicalCardNumber": CARD})["data"]
    added = client.post("/admin/prescribe", json={"hospitalId": "253", "medicalCardNumber": CARD, "items": 2}).json()[
        "added"
    ]
    after = post(client, "queryWaitPay", {"medicalCardNumber": CARD})["data"]
    new = [item for item in after["detail"] if item["id"] in added]
    assert len(new) == 2
    assert len({item["presCode"] for item in new}) == 1, "one prescription"
    assert Decimal(after["amount"]) == Decimal(before["amount"]) + sum(Decimal(item["itemAmount"]) for item in new)
    unknown = client.post("/admin/prescribe", json={"hospitalId": "253", "medicalCardNumber": "nobody"})
    assert unknown.status_code == 404
