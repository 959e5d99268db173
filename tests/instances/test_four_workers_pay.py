"""`hisgraph serve --workers 4` on one PostgreSQL database: every paid order is told to its hospital once
(issue 13, "Done when").

Four worker processes share one port, and each runs the payments' outbox worker. The provider is the fake
WeChat Pay in its own process (simulator.wechatpay), as a real one is outside the gateway, and it sends half of
its payment notifications twice, so one payment's notifications may reach two workers at once. A patient creates
several card recharges (7.1.x), each over a new connection so the kernel spreads them over the workers, and pays
them at the provider. The outbox jobs that tell the hospital (7.1.2 paySuccess) are claimed in the store: the
simulated hospital must receive exactly one paySuccess per order, and every order must end NOTIFIED. SIGTERM then
stops the four and their supervisor cleanly.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.fanout_overhead import prepare_account
from services.identity.principal import PatientPrincipal, SessionTokens
from simulator.server import RunningSimulator
from tests.conftest import DEMO_CARD, calls, free_port
from tests.store.conftest import DatabaseFactory, database_factory

__all__ = ["database_factory"]

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
SECRET = "four-workers-session-secret-0123456789"
WORKERS = 4
ORDERS = 8
RECHARGE = """
mutation($card: String!) {
  createRechargePayment(hospitalId: "253", medicalCardNumber: $card, amount: "20.00") {
    ... on CreatedPayment { order { outTradeNo state } }
    ... on Refusal { code message }
  }
}"""
PROVIDER = [sys.executable, "-m", "simulator.wechatpay", "--port", "0", "--duplicate-rate", "0.5"]
PROVIDER += ["--schedule-scale", "0.05", "--seed", "13"]
"""The fake WeChat Pay: half its notifications sent twice, its re-sends 20 times sooner than WeChat's."""
SERVE = (sys.executable, "-m", "api.cli", "--log-level", "INFO", "serve")
STATE = "query($no: String!) { paymentOrder(outTradeNo: $no) { state } }"


async def prepared(database_factory: DatabaseFactory) -> tuple[str, int]:
    """A PostgreSQL database migrated once (as `hisgraph migrate`), and an account holding the demo card."""
    url = await database_factory.create("postgres")
    return url, await prepare_account(url)  # the benchmarks' own set-up: their card is the demo card


def ask(url: str, token: str, query: str, **variables: str) -> dict[str, object]:
    """One GraphQL request over a new connection (no keep-alive: the next may reach another worker)."""
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}", "Connection": "close"}) as client:
        body = client.post(url, json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    data: dict[str, object] = body["data"]
    return data


async def test_four_workers_tell_the_hospital_of_each_paid_order_once(
    database_factory: DatabaseFactory, simulator: RunningSimulator, sim_admin: httpx.Client, tmp_path: Path
) -> None:
    database_url, account_id = await prepared(database_factory)
    registry = tmp_path / "hospitals.toml"
    registry.write_text(
        '[[hospitals]]\nid = "253"\nname = "医院253"\nregion = "济南市"\n'
        f'base_url = "{simulator.base_url}/his/253"\ntimeout_s = 5.0\n'
    )
    port = free_port()
    provider_log = tmp_path / "provider.log"
    stack = contextlib.ExitStack()
    with stack:
        provider = _started(
            stack,
            [*PROVIDER, "--config-out", str(tmp_path / "merchant.json")],
            log=provider_log,
        )
        provider_url = _wait_for(provider, provider_log, r"fake WeChat Pay on (http://\S+)")
        states, numbers, process, stderr = _pay_through_four_workers(
            stack, tmp_path, database_url, account_id, registry, port, provider_url
        )
    assert states == dict.fromkeys(numbers, "NOTIFIED"), stderr[-3000:]
    told = Counter(call["body"]["outTradeNo"] for call in calls(sim_admin, method="hospital.interface.paySuccess"))
    assert told == Counter(numbers)  # each paid order told once, whichever of the four workers took it
    assert process.returncode == 0, stderr[-2000:]
    started = {line for line in stderr.splitlines() if "Started server process" in line}
    assert len(started) >= WORKERS  # uvicorn's supervisor may replace a worker slow to answer its ping


def _started(
    stack: contextlib.ExitStack, command: list[str], *, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A child process writing to ``log``, killed (with its group) when ``stack`` closes."""
    output = stack.enter_context(log.open("wb"))
    child = subprocess.Popen(
        command, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}, start_new_session=True,
    )  # fmt: skip
    stack.callback(_stop, child)
    return child


def _stop(child: subprocess.Popen[Any]) -> None:
    if child.poll() is None:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _wait_for(child: subprocess.Popen[bytes], log: Path, pattern: str) -> str:
    """The first group of ``pattern`` once the child's log shows it (a bound of 60 s on a loaded machine)."""
    for _ in range(600):
        found = re.search(pattern, log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        assert child.poll() is None, log.read_text(encoding="utf-8", errors="replace")[-2000:]
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never showed in {log}")


def _pay_through_four_workers(
    stack: contextlib.ExitStack,
    tmp_path: Path,
    database_url: str,
    account_id: int,
    registry: Path,
    port: int,
    provider_url: str,
) -> tuple[dict[str, str], list[str], subprocess.Popen[bytes], str]:
    """(each order's final state, the orders, the stopped `serve` process, what it wrote on stderr)."""
    public = f"http://127.0.0.1:{port}"
    merchant = json.loads((tmp_path / "merchant.json").read_text(encoding="utf-8"))
    bucket = {"PER_MINUTE": "100000", "BURST": "10000"}
    env = {
        "HISGRAPH_MODE": "dev",
        "HISGRAPH_DATABASE_URL": database_url,
        "HISGRAPH_SESSION_SECRET": SECRET,
        "HISGRAPH_MIGRATE_ON_START": "false",
        "HISGRAPH_RUN_JOBS": "false",
        "HISGRAPH_RUN_PAYMENT_WORKER": "true",
        "HISGRAPH_PAYMENT_PROVIDER": "wechatpay",
        "HISGRAPH_WECHATPAY": json.dumps(merchant | {"notify_url": f"{public}/payments/notify"}),
        "HISGRAPH_PUBLIC_BASE_URL": public,
        "HISGRAPH_PAYMENT_RETRY_SCALE": "0.05",
        **{f"HISGRAPH_RATE_LIMITS__PER_IP__{k}": v for k, v in bucket.items()},
        **{f"HISGRAPH_RATE_LIMITS__PER_ACCOUNT__{k}": v for k, v in bucket.items()},
    }
    log = tmp_path / "serve.log"
    process = _started(
        stack, [*SERVE, "--config", str(registry), "--port", str(port), "--workers", str(WORKERS)], log=log, env=env
    )
    for _ in range(1200):  # until every worker has started its app (a bound of 120 s on a loaded machine)
        written = log.read_text(encoding="utf-8", errors="replace")
        if written.count("Application startup complete") >= WORKERS:
            break
        assert process.poll() is None, written[-3000:]
        time.sleep(0.1)
    else:
        raise AssertionError(f"the {WORKERS} workers did not start: {written[-3000:]}")
    graphql = f"http://127.0.0.1:{port}/graphql"
    token = SessionTokens(SECRET.encode()).issue(PatientPrincipal(account_id=account_id))
    numbers: list[str] = []
    for _ in range(ORDERS):
        created = ask(graphql, token, RECHARGE, card=DEMO_CARD)["createRechargePayment"]
        assert isinstance(created, dict), created
        assert "order" in created, created
        numbers.append(created["order"]["outTradeNo"])
    for number in numbers:  # the payer pays in WeChat; the provider notifies the gateway (some twice)
        paid = httpx.post(f"{provider_url}/admin/pay", json={"outTradeNo": number}, timeout=30)
        assert paid.status_code == 200, paid.text
    states: dict[str, str] = {}
    for _ in range(600):  # a bound on a loaded machine, not a timing assertion
        states = {
            number: ask(graphql, token, STATE, no=number)["paymentOrder"]["state"]  # type: ignore[index]
            for number in numbers
        }
        if set(states.values()) == {"NOTIFIED"}:
            break
        assert process.poll() is None, log.read_text(encoding="utf-8", errors="replace")[-3000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    return states, numbers, process, log.read_text(encoding="utf-8", errors="replace")
