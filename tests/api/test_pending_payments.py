"""The first slice through the top: patient -> pendingPayments across hospitals, over GraphQL."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.conftest import calls, inject

WAIT_PAY = "hospital.interface.queryWaitPay"
ALL = "253,254,255,256,257"

QUERY = """
query ($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    pendingPayments(hospitalId: $hospitals) {
      hospitalId
      hospital { name }
      totalAmount
      discountAmount
      items { id name amount unitPrice quantity }
    }
  }
}
"""


async def ask(gateway: httpx.AsyncClient, hospitals: str, card: str = "001000056254587") -> dict[str, Any]:
    response = await gateway.post(
        "/graphql", json={"query": QUERY, "variables": {"card": card, "hospitals": hospitals}}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_five_hospitals_answer(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    body = await ask(gateway, ALL)
    assert "errors" not in body
    entries = body["data"]["patient"]["pendingPayments"]
    assert [e["hospitalId"] for e in entries] == ["253", "254", "255", "256", "257"]
    for entry in entries:
        assert entry["hospital"]["name"]
        # Money is a decimal string with two places, and the items add up to what the hospital quoted.
        whole, cents = entry["totalAmount"].split(".")
        assert whole.isdigit()
        assert len(cents) == 2
        assert entry["items"]
    assert len(calls(sim_admin, method=WAIT_PAY)) == 5


async def test_one_hanging_hospital_does_not_stall_the_others(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="255", method=WAIT_PAY, kind="hang")
    started = time.monotonic()
    body = await ask(gateway, ALL)
    elapsed = time.monotonic() - started
    # A hanging hospital is cut by its own 2 s timeout (the region's); a generous margin, not a benchmark.
    assert elapsed < 2.0 + 2.0
    entries = body["data"]["patient"]["pendingPayments"]
    answered = [e["hospitalId"] for e in entries if e is not None]
    assert answered == ["253", "254", "256", "257"]
    assert entries[2] is None
    [error] = body["errors"]
    assert error["extensions"]["hospitalId"] == "255"
    assert error["extensions"]["method"] == WAIT_PAY
    assert error["extensions"]["code"] == "HIS_TIMEOUT"
    assert error["path"] == ["patient", "pendingPayments", 2]


async def test_a_business_error_code_arrives_as_that_code(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="256", method=WAIT_PAY, kind="code", code="60101", msg="该卡不允许线上交费")
    body = await ask(gateway, "253,256")
    assert body["data"]["patient"]["pendingPayments"][0]["hospitalId"] == "253"
    [error] = body["errors"]
    assert error["extensions"] == {"hospitalId": "256", "code": "60101", "method": WAIT_PAY}
    assert "该卡不允许线上交费" in error["message"]


async def test_no_data_is_an_empty_result_not_an_error(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="254", method=WAIT_PAY, kind="code", code="10002", msg="未查询到数据")
    body = await ask(gateway, "253,254")
    assert "errors" not in body
    first, nothing = body["data"]["patient"]["pendingPayments"]
    assert first["items"]
    assert nothing == {
        "hospitalId": "254",
        "hospital": {"name": "济南市中心医院"},
        "totalAmount": "0.00",
        "discountAmount": "0.00",
        "items": [],
    }


async def test_an_unknown_hospital_is_an_error_on_its_own_entry(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 12: an unknown id nulls its own entry only (60001), like a failing hospital."""
    body = await ask(gateway, "253,999")
    entries = body["data"]["patient"]["pendingPayments"]
    assert entries[0]["hospitalId"] == "253"
    assert entries[1] is None
    [error] = body["errors"]
    assert error["path"] == ["patient", "pendingPayments", 1]
    assert error["extensions"]["code"] == "60001"
    assert error["extensions"]["hospitalId"] == "999"
    assert "999" in error["message"]
    assert [c["hospitalId"] for c in calls(sim_admin, method=WAIT_PAY)] == ["253"]


async def test_hospitals_are_listed(gateway: httpx.AsyncClient) -> None:
    response = await gateway.post("/graphql", json={"query": "{ hospitals { id name regional } }"})
    hospitals = response.json()["data"]["hospitals"]
    assert [h["id"] for h in hospitals] == ["253", "254", "255", "256", "257"]
    assert [h["regional"] for h in hospitals] == [False, False, False, True, True]


async def test_health_and_readiness(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/healthz")).json() == {"status": "ok"}
    assert (await gateway.get("/readyz")).json() == {"status": "ready"}
