"""The mini-program's journeys through GraphQL alone (issue 12 items 10 and 14, and the done-when journeys).

Every operation sent here is read from tests/journeys/operations/*.graphql: the same text docs/client-guide.md
quotes (tests/journeys/test_client_guide.py holds the guide to them). The gateway runs without its own worker,
so each test drives the outbox itself and every step is deterministic.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.payments.worker import OutboxWorker
from tests.conftest import DEMO_CARD, running_gateway
from tests.payments.conftest import upload_schedule

OPERATIONS = Path(__file__).parent / "operations"
HOSPITAL = "253"


def document(name: str) -> str:
    """One operations file: the text a client sends (operationName picks the operation)."""
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


async def send(gateway: httpx.AsyncClient, file: str, operation: str, **variables: Any) -> dict[str, Any]:
    response = await gateway.post(
        "/graphql", json={"query": document(file), "operationName": operation, "variables": variables}
    )
    assert response.status_code == 200, response.text[:500]
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture
async def journey_gateway(
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
            await upload_schedule(client._transport.app.state.services.db)  # type: ignore[attr-defined]
            yield client
    finally:
        sim_admin.post("/admin/reset").raise_for_status()


async def drive(gateway: httpx.AsyncClient) -> None:
    """What the payment worker does in the background: tell the hospital, refund."""
    services = gateway._transport.app.state.services  # type: ignore[attr-defined]
    await OutboxWorker(db=services.db, his=services.his, provider=services.payment_provider).run_until_idle()


async def my_orders(gateway: httpx.AsyncClient, first: int = 10, after: str | None = None) -> dict[str, Any]:
    orders: dict[str, Any] = (await send(gateway, "orders", "MyOrders", first=first, after=after))["me"]["orders"]
    return orders


def slot_of(schedule: dict[str, Any]) -> str:
    """What registering takes: a slot's slotId, or the schedule's own where the hospital hands out no slots."""
    slots = schedule["slots"] or []
    return str(slots[0]["slotId"] if slots else schedule["slotId"])


async def today_slot(gateway: httpx.AsyncClient) -> str:
    """Doctor 511's first slot today at 253's department 228, as TodaySlots answers it."""
    slots = await send(gateway, "registration", "TodaySlots", hospitalId=HOSPITAL, departmentId="228")
    [schedule, *_] = [s for s in slots["hospital"]["todaySchedules"] if s["doctor"] and s["doctor"]["id"] == "511"]
    return slot_of(schedule)


async def test_a_registration_is_booked_queued_cancelled_and_refunded_and_its_order_follows(
    journey_gateway: httpx.AsyncClient,
) -> None:
    """issue 12 item 10: the order lists newest first, gives the queue lookup its id, and reads REFUNDED after a
    full refund (the ledger stays NOTIFIED)."""
    gateway = journey_gateway
    slots = await send(gateway, "registration", "TodaySlots", hospitalId=HOSPITAL, departmentId="228")
    schedules = [s for s in slots["hospital"]["todaySchedules"] if s["doctor"] and s["doctor"]["id"] == "511"]
    assert schedules
    assert all(s["slotId"] for s in schedules)
    assert all(slot["slotId"] and slot["from"].endswith("+08:00") for s in schedules for slot in s["slots"])
    created = (
        await send(
            gateway,
            "registration",
            "RegisterToday",
            slotId=slot_of(schedules[0]),
            card=DEMO_CARD,
        )
    )["createTodayRegistrationPayment"]
    out_trade_no = created["order"]["outTradeNo"]
    [unpaid] = (await my_orders(gateway))["edges"]
    assert unpaid["node"]["status"] == "UNPAID"
    assert unpaid["node"]["paidAt"] is None

    paid = (await send(gateway, "registration", "PayInSandbox", outTradeNo=out_trade_no))["payInSandbox"]
    assert paid["state"] == "PAID"
    await drive(gateway)
    [edge] = (await my_orders(gateway))["edges"]
    order = edge["node"]
    assert order["outTradeNo"] == out_trade_no
    assert order["paidFor"] == "REGISTRATION_TODAY"
    assert order["status"] == "COMPLETED"
    assert order["paidAt"] is not None
    assert order["createdAt"] <= order["paidAt"]
    registration = order["registration"]
    assert registration["hospitalId"] == HOSPITAL

    queue = (
        await send(
            gateway,
            "registration",
            "RegistrationQueue",
            card=DEMO_CARD,
            hospitalId=registration["hospitalId"],
            todayRegisterId=registration["todayRegisterId"],
            departmentId=registration["departmentId"],
            doctorId=registration["doctorId"],
        )
    )["patient"]["registrationQueue"]
    assert queue[0]["queued"] is True
    assert queue[0]["queueNumber"]

    cancelled = (await send(gateway, "registration", "CancelRegistration", outTradeNo=out_trade_no))[
        "cancelPaidBooking"
    ]
    assert cancelled["amount"] == order["totalAmount"]
    assert (await my_orders(gateway))["edges"][0]["node"]["status"] == "REFUNDING"
    await drive(gateway)
    [after_refund] = (await my_orders(gateway))["edges"]
    assert after_refund["node"]["status"] == "REFUNDED"
    [refund] = after_refund["node"]["refunds"]
    assert refund["state"] == "SUCCEEDED"
    assert refund["amount"] == order["totalAmount"]


async def test_orders_page_newest_first_with_a_cursor(journey_gateway: httpx.AsyncClient) -> None:
    """issue 12 item 10: me.orders(first, after) pages newest first; a forged cursor is a 20003 refusal."""
    gateway = journey_gateway
    made = []
    for _ in range(3):
        created = (
            await send(
                gateway,
                "registration",
                "RegisterToday",
                slotId=await today_slot(gateway),
                card=DEMO_CARD,
            )
        )["createTodayRegistrationPayment"]
        made.append(created["order"]["outTradeNo"])
    first = await my_orders(gateway, first=2)
    assert [e["node"]["outTradeNo"] for e in first["edges"]] == made[:0:-1]
    assert first["hasNextPage"] is True
    rest = await my_orders(gateway, first=2, after=first["endCursor"])
    assert [e["node"]["outTradeNo"] for e in rest["edges"]] == made[:1]
    assert rest["hasNextPage"] is False

    response = await gateway.post(
        "/graphql",
        json={"query": document("orders"), "operationName": "MyOrders", "variables": {"first": 2, "after": "x!"}},
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "20003"
    too_many = await gateway.post(
        "/graphql", json={"query": document("orders"), "operationName": "MyOrders", "variables": {"first": 500}}
    )
    assert too_many.json()["errors"][0]["extensions"]["code"] == "20004"


async def test_sign_in_with_no_card_and_bind_one_from_zero(journey_gateway: httpx.AsyncClient) -> None:
    """issue 12 item 15 and item 14: logInForDevelopment(withCard: false) holds no card; binding takes the fake
    SMS's code; a wrong code has its own code (SMS_CODE_INVALID), not 20003."""
    gateway = journey_gateway
    gateway.headers.pop("Authorization", None)
    session = (await send(gateway, "identity", "SignIn", name="journey-new", withCard=False))["logInForDevelopment"]
    gateway.headers["Authorization"] = f"Bearer {session['token']}"
    assert (await send(gateway, "identity", "MyCards"))["me"]["cards"] == []

    started = (
        await send(
            gateway,
            "identity",
            "StartBinding",
            hospitalId=HOSPITAL,
            card=DEMO_CARD,
            name="张三",
            idCardNumber="370102197907025236",
        )
    )["startCardBinding"]
    assert started["__typename"] == "CardBindingStarted"
    sms = gateway._transport.app.state.sms  # type: ignore[attr-defined]
    code = sms.sent[-1][1]
    wrong = "000000" if code != "000000" else "111111"
    refused = (await send(gateway, "identity", "ConfirmBinding", hospitalId=HOSPITAL, card=DEMO_CARD, code=wrong))[
        "confirmCardBinding"
    ]
    assert refused["code"] == "SMS_CODE_INVALID"
    assert "验证码" in refused["message"]
    bound = (await send(gateway, "identity", "ConfirmBinding", hospitalId=HOSPITAL, card=DEMO_CARD, code=code))[
        "confirmCardBinding"
    ]
    assert bound["__typename"] == "AccountCard"
    assert bound["holderName"] == "张*"
    assert [h["id"] for h in bound["hospitals"]] == [HOSPITAL]
    [card] = (await send(gateway, "identity", "MyCards"))["me"]["cards"]
    assert card["medicalCardNumber"] == bound["medicalCardNumber"]


async def test_the_home_screen_across_hospitals(journey_gateway: httpx.AsyncClient) -> None:
    """The home screen: cards, bills and stays at several hospitals in one query; an unknown hospital is its own
    entry's error (issue 12 item 12)."""
    body = await journey_gateway.post(
        "/graphql",
        json={
            "query": document("home"),
            "operationName": "Home",
            "variables": {"card": DEMO_CARD, "hospitals": "253,254,999"},
        },
    )
    answer = body.json()
    patient = answer["data"]["patient"]
    assert [e and e["hospitalId"] for e in patient["pendingPayments"]] == ["253", "254", None]
    assert [e and e["hospitalId"] for e in patient["inpatientStays"]] == ["253", "254", None]
    assert {e["extensions"]["code"] for e in answer["errors"]} == {"60001"}
    assert answer["data"]["me"]["cards"][0]["medicalCardNumber"] == DEMO_CARD


async def test_a_bill_is_paid_and_followed_to_its_invoice(journey_gateway: httpx.AsyncClient) -> None:
    """issue 12 item 10: pay the bills, then the order in MyOrders leads to its electronic invoice (31.1.1)."""
    gateway = journey_gateway
    created = (await send(gateway, "bills", "PayBills", hospitalId=HOSPITAL, card=DEMO_CARD))["createOutpatientPayment"]
    out_trade_no = created["order"]["outTradeNo"]
    await send(gateway, "registration", "PayInSandbox", outTradeNo=out_trade_no)
    await drive(gateway)
    [edge] = (await my_orders(gateway))["edges"]
    order = edge["node"]
    assert order["paidFor"] == "BILLS"
    assert order["status"] == "COMPLETED"
    invoice = order["electronicInvoiceInformation"]
    assert invoice is not None
    assert invoice["amount"] == order["totalAmount"]
    assert invoice["electronicInvoice"]["pageUrl"]


async def test_reports_with_a_file_to_download(journey_gateway: httpx.AsyncClient) -> None:
    """Reports across hospitals; the PDF link downloads without a header (wx.downloadFile)."""
    gateway = journey_gateway
    entries = (await send(gateway, "reports", "LabReports", card=DEMO_CARD, hospitals="253,254"))["patient"][
        "labReports"
    ]
    links = [
        r["detail"]["pdf"] for entry in entries for r in entry["reports"] if r["detail"] and r["detail"].get("pdf")
    ]
    assert links
    downloaded = await gateway.get(links[0], headers={"Authorization": ""})
    assert downloaded.status_code == 200
    assert downloaded.content.startswith(b"%PDF")


async def test_the_inpatient_stay_and_a_deposit(journey_gateway: httpx.AsyncClient) -> None:
    """The stay (name from the card), a deposit within its limits, paid and followed in MyOrders."""
    gateway = journey_gateway
    [entry] = (await send(gateway, "inpatient", "Stay", card=DEMO_CARD, hospitalId=HOSPITAL))["patient"][
        "inpatientStays"
    ]
    stay = entry["stay"]
    assert stay["depositAllowed"] is True
    created = (
        await send(
            gateway,
            "inpatient",
            "PayDeposit",
            hospitalId=HOSPITAL,
            card=DEMO_CARD,
            name=stay["registeredName"],
            amount=stay["minimumPayment"],
        )
    )["createDepositPayment"]
    out_trade_no = created["order"]["outTradeNo"]
    await send(gateway, "registration", "PayInSandbox", outTradeNo=out_trade_no)
    await drive(gateway)
    [edge] = (await my_orders(gateway))["edges"]
    assert edge["node"]["paidFor"] == "DEPOSIT"
    assert edge["node"]["status"] == "COMPLETED"
    [after] = (await send(gateway, "inpatient", "Stay", card=DEMO_CARD, hospitalId=HOSPITAL))["patient"][
        "inpatientStays"
    ]
    assert out_trade_no in {d["outTradeNo"] for d in after["stay"]["deposits"]}
