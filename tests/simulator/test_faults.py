"""Injected faults behave as the gateway's resilience tests expect."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from simulator.server import RunningSimulator
from tests.simulator.helpers import entry

CARD = "001000056254587"
WAIT_PAY = "hospital.interface.queryWaitPay"


def _wait_pay(client: httpx.Client, hospital_id: str = "253") -> httpx.Response:
    return client.post(f"/his/{hospital_id}/{WAIT_PAY}", json={"medicalCardNumber": CARD})


def test_latency_delays_then_answers(client: httpx.Client) -> None:
    client.post(
        "/admin/faults", json={"hospitalId": "253", "method": WAIT_PAY, "kind": "latency", "latencyMs": 200, "times": 1}
    )
    started = time.monotonic()
    assert _wait_pay(client).json()["success"] is True
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    _wait_pay(client)
    assert time.monotonic() - started < 0.2


def test_hang_never_answers(client: httpx.Client) -> None:
    client.post("/admin/faults", json={"hospitalId": "253", "method": "*", "kind": "hang"})
    with pytest.raises(httpx.ReadTimeout):
        client.post(f"/his/253/{WAIT_PAY}", json={"medicalCardNumber": CARD}, timeout=0.3)
    assert _wait_pay(client, "254").json()["success"] is True


def test_http500_and_invalid_json(client: httpx.Client) -> None:
    client.post("/admin/faults", json={"hospitalId": "253", "method": WAIT_PAY, "kind": "http500", "times": 1})
    assert _wait_pay(client).status_code == 500
    client.post("/admin/faults", json={"hospitalId": "253", "method": WAIT_PAY, "kind": "invalid_json", "times": 1})
    broken = _wait_pay(client)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert _wait_pay(client).json()["success"] is True


def test_code_fault_answers_the_business_code(client: httpx.Client) -> None:
    client.post(
        "/admin/faults",
        json={"hospitalId": "253", "method": WAIT_PAY, "kind": "code", "code": "60101", "msg": "该卡不允许线上交费"},
    )
    reply = _wait_pay(client).json()
    assert (reply["success"], reply["code"], reply["msg"]) == (False, "60101", "该卡不允许线上交费")
    client.delete("/admin/faults", params={"hospitalId": "253", "method": WAIT_PAY})
    assert _wait_pay(client).json()["success"] is True


def test_lost_reply_applies_but_the_reply_fails(client: httpx.Client) -> None:
    body = dict(entry("3.1.2").request_example, outTradeNo="ZJZF-LOST-1")
    client.post(
        "/admin/faults",
        json={"hospitalId": "253", "method": "hospital.interface.clinicPayment", "kind": "lost_reply", "times": 1},
    )
    assert client.post("/his/253/hospital.interface.clinicPayment", json=body).status_code == 500
    assert client.get("/admin/applied").json()["253"]["ZJZF-LOST-1"] == 1
    retried = client.post("/his/253/hospital.interface.clinicPayment", json=body).json()
    assert retried["success"] is True
    assert client.get("/admin/applied").json()["253"]["ZJZF-LOST-1"] == 1


def test_python_handle(client: httpx.Client, running_simulator: RunningSimulator) -> None:
    simulator = running_simulator.app.state.simulator
    simulator.faults.add(hospital_id="255", method=WAIT_PAY, kind="http500", times=1)
    assert _wait_pay(client, "255").status_code == 500
    assert simulator.calls.list(method=WAIT_PAY, hospital_id="255")


def test_base_latency(client: httpx.Client) -> None:
    client.post("/admin/latency", json={"hospitalId": "254", "minMs": 100, "maxMs": 120})
    started = time.monotonic()
    _wait_pay(client, "254")
    assert time.monotonic() - started >= 0.1
