"""`hisgraph probe` (services/probe.py) against the simulator, over HTTP and over SOAP (issue 16 item 4)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.cli import main
from api.demo import simulated_region
from his_clients import catalog
from his_clients.client import HisClient
from his_clients.method import Access
from his_clients.registry import Registry
from his_clients.transport import RawReply
from services.probe import ProbeReport, probe
from simulator.server import RunningSimulator
from tests.conftest import calls, inject

DEPTS = catalog.by_section("20.1.1")
DOCTORS = catalog.by_section("20.1.2")
WAIT_PAY = catalog.by_section("3.1.1")
BALANCE = catalog.by_section("7.1.1")


def _result(report: ProbeReport, method: str) -> Any:
    return next(r for r in report.results if r.method == method)


async def test_every_opened_method_of_253_passes_over_http(region: Registry, sim_admin: httpx.Client) -> None:
    """issue 16 item 4: the probe against the simulator passes every opened method of 253 over HTTP; writes are
    only called with --writes, and reads retried nowhere (one call each)."""
    report = await probe(region, "253")
    deviations = [(r.section, r.deviations) for r in report.results if r.status == "deviation"]
    assert deviations == []
    assert report.passed
    called = [r for r in report.results if r.status in ("pass", "no_data")]
    assert len(called) > 90
    assert all(r.access == "read" for r in called)
    skipped_writes = [r for r in report.results if r.access == Access.WRITE.value]
    assert skipped_writes
    assert all(r.status == "skipped" for r in skipped_writes)
    received = {call["method"] for call in sim_admin.get("/admin/calls").json()}
    assert not received & {m.name for m in catalog.ALL_METHODS if m.access is Access.WRITE}
    # the chain: 20.1.2 asked for doctors of a department 20.1.1 answered, not the spec's example "0235"
    doctors_call = next(c for c in sim_admin.get("/admin/calls").json() if c["method"] == DOCTORS.name)
    assert doctors_call["body"]["departmentId"] != "0235"


async def test_every_method_of_255_passes_over_soap(region: Registry, sim_admin: httpx.Client) -> None:
    """issue 16 item 4: over WebService (255 speaks SOAP 1.1 in the simulated region) every read passes too."""
    report = await probe(region, "255")
    assert report.transport == "webservice"
    assert [(r.section, r.deviations) for r in report.results if r.status == "deviation"] == []
    assert sum(r.status == "pass" for r in report.results) > 90


async def test_methods_not_opened_are_listed_and_never_called(
    simulator: RunningSimulator, sim_admin: httpx.Client
) -> None:
    """issue 16 item 4: a hospital's registry `opened` decides what is called; the rest reads not_opened."""
    full = simulated_region(simulator.base_url, timeout_s=2.0)
    opened = frozenset({DEPTS.name, DOCTORS.name})
    hospitals = tuple(h.model_copy(update={"opened": opened}) if h.id == "253" else h for h in full.hospitals)
    registry = Registry(hospitals=hospitals, endpoints=full.endpoints)
    report = await probe(registry, "253")
    assert {r.method for r in report.results if r.status == "pass"} == opened
    assert sum(r.status == "not_opened" for r in report.results) == len(catalog.ALL_METHODS) - 2
    assert {call["method"] for call in sim_admin.get("/admin/calls").json()} == opened


@pytest.mark.parametrize("hospital", ["253", "255"], ids=["http", "soap"])
async def test_injected_faults_are_each_reported(region: Registry, sim_admin: httpx.Client, hospital: str) -> None:
    """issue 16 item 4: with faults injected (a business code, invalid JSON, an HTTP 500) the probe reports each as a
    deviation naming what was expected and what came, over HTTP (253) and over SOAP (255)."""
    inject(sim_admin, hospitalId=hospital, method=DEPTS.name, kind="code", code="10003", msg="系统错误")
    inject(sim_admin, hospitalId=hospital, method=WAIT_PAY.name, kind="invalid_json")
    inject(sim_admin, hospitalId=hospital, method=BALANCE.name, kind="http500")
    # 10 s per call: this proves what is reported, not speed (a stalled test loop once spent 2 s: GATEWAY_BUSY).
    report = await probe(region, hospital, methods=[DEPTS, DOCTORS, WAIT_PAY, BALANCE], timeout_s=10.0)
    assert report.transport == ("webservice" if hospital == "255" else "http")
    depts = _result(report, DEPTS.name)
    assert depts.status == "deviation"
    assert [(d.field, d.received) for d in depts.deviations] == [("code", "10003 系统错误")]
    wait_pay = _result(report, WAIT_PAY.name)
    assert wait_pay.status == "deviation"
    assert wait_pay.deviations[0].expected.startswith("a JSON object")
    balance = _result(report, BALANCE.name)
    assert balance.status == "deviation"
    assert "500" in balance.deviations[0].received
    assert _result(report, DOCTORS.name).status == "pass"  # the example's department, as nothing was learned


async def test_a_slow_method_is_a_deviation_naming_timeout_s(region: Registry, sim_admin: httpx.Client) -> None:
    """issue 16 item 4: each call has its own deadline; one that does not answer in time is a deviation (not
    absorbed) naming the registry setting that would absorb it (timeout_s), and the next call goes on."""
    inject(sim_admin, hospitalId="253", method=DEPTS.name, kind="latency", latencyMs=1500)
    report = await probe(region, "253", methods=[DEPTS, DOCTORS], timeout_s=0.3)
    depts = _result(report, DEPTS.name)
    assert depts.status == "deviation"
    assert [(d.field, d.absorbed) for d in depts.deviations] == [("<call>", False)]
    assert (depts.deviations[0].absorbed_by or "").startswith("timeout_s")
    assert _result(report, DOCTORS.name).status == "pass"
    assert not report.passed


async def test_time_lost_in_the_probe_itself_is_asked_again(
    simulator: RunningSimulator, sim_admin: httpx.Client
) -> None:
    """A call whose time ran out in the probe's own process (GATEWAY_BUSY: queued behind its own connection, or a
    stalled loop on a loaded machine) says nothing about the HIS: it is asked again, and only the hospital's
    answer is judged. Seen in CI: 255's first SOAP call reported "the gateway's loop stalled" as a deviation."""
    full = simulated_region(simulator.base_url, timeout_s=2.0)
    hospitals = tuple(h.model_copy(update={"max_connections": 1}) if h.id == "253" else h for h in full.hospitals)
    registry = Registry(hospitals=hospitals, endpoints=full.endpoints)
    inject(sim_admin, hospitalId="253", method=WAIT_PAY.name, kind="latency", latencyMs=700)
    async with HisClient(registry) as client:
        # The hospital's one connection is held 0.7 s by another call; each probe call may wait 0.5 s for it.
        bills = WAIT_PAY.request.model_validate({"medicalCardNumber": "001000056254587"})
        holding = asyncio.create_task(client.call(WAIT_PAY, "253", bills, deadline=None))
        await asyncio.sleep(0.05)
        report = await probe(registry, "253", methods=[DEPTS], client=client, timeout_s=0.5)
        await holding
    assert _result(report, DEPTS.name).status == "pass"
    assert len(calls(sim_admin, hospitalId="253", method=DEPTS.name)) == 1  # the first try never left the gateway


class _Canned:
    """A HIS transport answering one canned body, for replies the simulator cannot be made to send."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = json.dumps(body, ensure_ascii=False).encode()

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply:
        return RawReply(200, self.body, "application/json")

    async def get(self, url: str, params: dict[str, str], *, timeout_s: float) -> RawReply:
        return RawReply(200, self.body, "application/json")

    async def aclose(self) -> None:
        return None


async def test_missing_fields_formats_dictionaries_and_codes(region: Registry) -> None:
    """issue 16 item 4: a required field left out, a time in another format, a code outside its dictionary and a
    code outside 附四 are each a deviation; a key spelt with a space is absorbed by the lenient reading."""
    reply = {
        "success": "true",
        "msg": "",
        "code": "10001",
        "data": [
            {"deptTypeName": "内科", "dept": [{"departmentName": "神经内科", "departmentId ": "sjnk"}]},
        ],
    }
    async with HisClient(region, transports={"hospital:253": _Canned(reply)}) as client:
        report = await probe(region, "253", methods=[DEPTS], client=client)
    found = {(d.field, not d.absorbed) for d in _result(report, DEPTS.name).deviations}
    assert ("data[*].deptTypeId", True) in found  # required by the spec, absent
    assert ("success", False) in found  # "true" as a string: read leniently
    assert ("data[*].dept[*].departmentId", False) in found
    assert _result(report, DEPTS.name).status == "deviation"

    by_trade = catalog.by_section("14.2.2")
    record = {"tradeNo": "T1", "amount": "65.10", "tradeTime": "2019-04-01 17:32", "payType": "UnionPay"}
    odd = {"success": True, "msg": "", "code": "10001", "data": [record]}
    async with HisClient(region, transports={"hospital:253": _Canned(odd)}) as client:
        report = await probe(region, "253", methods=[by_trade], client=client)
    trade_found = {(d.field, d.expected, d.absorbed) for d in _result(report, by_trade.name).deviations}
    assert ("data[*].payType", "a code of dictionaries.pay_types", False) in trade_found
    assert ("data[*].tradeTime", "yyyy-MM-dd HH:mm:ss", False) in trade_found

    odd_code = {"success": False, "msg": "x", "code": "77777"}
    async with HisClient(region, transports={"hospital:253": _Canned(odd_code)}) as client:
        report = await probe(region, "253", methods=[DEPTS], client=client)
    fields = [(d.field, d.expected) for d in _result(report, DEPTS.name).deviations]
    assert ("code", "a code of 附四") in fields


class _Sequence(_Canned):
    """Answers each canned body in turn (the last one thereafter)."""

    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies = [json.dumps(body, ensure_ascii=False).encode() for body in bodies]

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply:
        reply = self.bodies.pop(0) if len(self.bodies) > 1 else self.bodies[0]
        return RawReply(200, reply, "application/json")


async def test_writes_only_when_asked_only_idempotent_and_twice(region: Registry, sim_admin: httpx.Client) -> None:
    """issue 16 item 4: with --writes the probe calls the writes the spec marks idempotent (7.1.2) and no other
    (2.1.2 bindCard), each twice with the same parameters; a different second answer is a deviation; a 60xxx
    business answer to the example request is `refused`, not a deviation."""
    pay_success, bind_card = catalog.by_section("7.1.2"), catalog.by_section("2.1.2")
    report = await probe(region, "253", writes=True, methods=[pay_success, bind_card])
    assert _result(report, pay_success.name).status == "pass"
    assert _result(report, bind_card.name).status == "skipped"
    assert "not mark idempotent" in _result(report, bind_card.name).note
    sent = [c["body"] for c in calls(sim_admin, hospitalId="253")]
    assert len(sent) == 2
    assert sent[0] == sent[1]

    first = {"success": True, "msg": "", "code": "10001", "data": {"hisOrderNo": "A1"}}
    second = {"success": False, "msg": "重复", "code": "60303"}
    async with HisClient(region, transports={"hospital:253": _Sequence(first, second)}) as client:
        report = await probe(region, "253", writes=True, methods=[pay_success], client=client)
    result = _result(report, pay_success.name)
    assert result.status == "deviation"
    idempotence = [d for d in result.deviations if d.field == "idempotence"]
    assert [(d.received, d.absorbed) for d in idempotence] == [("another code on the second call", False)]

    refusal = {"success": False, "msg": "x", "code": "60202"}
    async with HisClient(region, transports={"hospital:253": _Canned(refusal)}) as client:
        report = await probe(region, "253", writes=True, methods=[catalog.by_section("20.1.7")], client=client)
    result = _result(report, catalog.by_section("20.1.7").name)
    assert result.status == "refused"
    assert "registration_fee" in result.note
    assert report.passed


def test_cli_writes_html_and_json(simulator: RunningSimulator, sim_admin: httpx.Client, tmp_path: Path) -> None:
    """issue 16 item 4: `hisgraph probe --config --hospital 253 --out DIR` writes the report as HTML and JSON and
    exits 0 when every opened method passes, 1 when a fault is injected."""
    config = tmp_path / "hospitals.toml"
    base = simulator.base_url
    config.write_text(
        f'[[hospitals]]\nid = "253"\nname = "济南市第一人民医院"\nbase_url = "{base}/his/253"\n'
        f'opened = ["{DEPTS.name}", "{DOCTORS.name}", "{WAIT_PAY.name}"]\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["probe", "--config", str(config), "--hospital", "253", "--out", str(out)]
    assert main([*args, "--card", "001000056254587"]) == 0
    body = json.loads((out / "probe-253.json").read_text(encoding="utf-8"))
    assert body["counts"]["pass"] == 3
    assert "<table>" in (out / "probe-253.html").read_text(encoding="utf-8")
    inject(sim_admin, hospitalId="253", method=WAIT_PAY.name, kind="code", code="90001")
    assert main(args) == 1
    body = json.loads((out / "probe-253.json").read_text(encoding="utf-8"))
    assert body["counts"]["deviation"] == 1
    assert main(["probe", "--config", str(config), "--hospital", "999"]) == 2
