"""Fan-out overhead: gateway latency minus the slowest hospital's own latency, at 1, 10 and 50 hospitals.

    .venv/bin/python bench/fanout_overhead.py [--requests 40] [--backends aiohttp,httpcore]

The simulator runs in its own process with N standalone hospitals, hospital k answering after a
fixed latency spread over 20-200 ms; the gateway runs in another process (uvicorn, one worker).
One GraphQL request at a time asks pendingPayments of all N hospitals. Two baselines, each the
p50 of the same number of requests, interleaved with the gateway's:
- slowest: the same HIS call made directly to the slowest hospital alone;
- direct fan-out: the bench itself calls all N hospitals at once (plain aiohttp, the fastest client
  at hand) and waits for the last, so the simulator is exactly as busy as it is behind the gateway.
overhead = gateway p50 - baseline p50.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CARD = "001000056254587"
WAIT_PAY = "hospital.interface.queryWaitPay"
QUERY = (
    'query($h:String!){patient(medicalCardNumber:"' + CARD + '")'
    "{pendingPayments(hospitalId:$h){hospitalId totalAmount items{id amount}}}}"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_simulator(port: int, hospital_ids: list[str]) -> None:
    import uvicorn

    from simulator.app import create_simulator_app

    app = create_simulator_app(standalone=hospital_ids, regional=())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


SESSION_SECRET = "bench-session-secret"


async def prepare_account(database_url: str) -> int:
    """The store migrated, and an account holding the bench card (patient queries need one)."""
    from services.identity.accounts import AccountService
    from store.db import Database

    db = Database(database_url)
    try:
        await db.migrate()
        accounts = AccountService(db=db, his=None, sms=None, wechat=None)  # type: ignore[arg-type]
        account = await accounts.account_for(openid="bench")
        await accounts.grant(account_id=account.id, medical_card_number=CARD, hospital_id=None, how="created")
        return account.id
    finally:
        await db.dispose()


def session_token(account_id: int) -> str:
    from services.identity.principal import PatientPrincipal, SessionTokens

    return SessionTokens(SESSION_SECRET.encode()).issue(PatientPrincipal(account_id=account_id))


def run_gateway(port: int, simulator_port: int, hospital_ids: list[str], backend: str, db_dir: str) -> None:
    import uvicorn

    from api.app import create_app
    from api.settings import Settings
    from his_clients.registry import Hospital, Registry

    registry = Registry(
        hospitals=tuple(
            Hospital(id=h, name=f"医院{h}", base_url=f"http://127.0.0.1:{simulator_port}/his/{h}", timeout_s=5.0)
            for h in hospital_ids
        )
    )
    settings = Settings(
        mode="production",
        registry=registry,
        http_backend=backend,
        request_deadline_s=10.0,
        database_url=f"sqlite+aiosqlite:///{db_dir}/bench.sqlite3",
        session_secret=SESSION_SECRET,
        run_payment_worker=False,
        # A benchmark on this machine: the sandbox, the fake SMS sender and a loopback URL are expected.
        file_link_secret=SESSION_SECRET,
        allow_sandbox_payments=True,
        allow_fake_sms=True,
        allow_loopback_public_url=True,
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def post(session: aiohttp.ClientSession, url: str, body: dict[str, str]) -> bytes:
    async with session.post(url, json=body) as response:
        return await response.read()


def latency_of(index: int, width: int) -> int:
    return 20 if width == 1 else 20 + round(180 * index / (width - 1))


@dataclass(frozen=True)
class Row:
    slowest: float
    direct_fan_out: float
    gateway: float
    gateway_p90: float


async def measure(width: int, backend: str, requests: int, db_dir: str) -> Row:
    hospital_ids = [str(300 + i) for i in range(width)]
    sim_port, gw_port = free_port(), free_port()
    token = session_token(await prepare_account(f"sqlite+aiosqlite:///{db_dir}/bench.sqlite3"))
    ctx = multiprocessing.get_context("spawn")
    simulator = ctx.Process(target=run_simulator, args=(sim_port, hospital_ids), daemon=True)
    simulator.start()
    gateway = ctx.Process(target=run_gateway, args=(gw_port, sim_port, hospital_ids, backend, db_dir), daemon=True)
    gateway.start()
    try:
        sim_url, gw_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{gw_port}"
        await wait_up(sim_url + "/admin/calls")
        await wait_up(gw_url + "/healthz")
        async with (
            httpx.AsyncClient(timeout=30.0, headers={"Authorization": f"Bearer {token}"}) as client,
            aiohttp.ClientSession() as raw,
        ):
            for index, hospital_id in enumerate(hospital_ids):
                ms = latency_of(index, width)
                await client.post(
                    sim_url + "/admin/latency", json={"hospitalId": hospital_id, "minMs": ms, "maxMs": ms}
                )
            slowest = hospital_ids[-1]
            body = {"hospitalId": slowest, "medicalCardNumber": CARD}
            payload = {"query": QUERY, "variables": {"h": ",".join(hospital_ids)}}
            for _ in range(3):  # warm both sides' connections
                await client.post(f"{sim_url}/his/{slowest}/{WAIT_PAY}", json=body)
                reply = await client.post(gw_url + "/graphql", json=payload)
                assert "errors" not in reply.json(), reply.text[:500]
            direct, fanned, through = [], [], []
            bodies = [(h, {"hospitalId": h, "medicalCardNumber": CARD}) for h in hospital_ids]
            for _ in range(requests):
                started = time.perf_counter()
                await client.post(f"{sim_url}/his/{slowest}/{WAIT_PAY}", json=body)
                direct.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                await asyncio.gather(*(post(raw, f"{sim_url}/his/{h}/{WAIT_PAY}", b) for h, b in bodies))
                fanned.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                reply = await client.post(gw_url + "/graphql", json=payload)
                through.append((time.perf_counter() - started) * 1000)
                assert len(reply.json()["data"]["patient"]["pendingPayments"]) == width
            await client.delete(sim_url + "/admin/calls")  # keep its record small
        return Row(
            slowest=statistics.median(direct),
            direct_fan_out=statistics.median(fanned),
            gateway=statistics.median(through),
            gateway_p90=statistics.quantiles(through, n=10)[-1],
        )
    finally:
        for process in (gateway, simulator):
            process.terminate()
            process.join(5)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--widths", default="1,10,50")
    parser.add_argument("--backends", default="aiohttp,httpcore")
    args = parser.parse_args()
    print(
        "| backend | hospitals | slowest alone p50 | direct fan-out p50 | gateway p50 | gateway p90 "
        "| overhead vs slowest | overhead vs direct fan-out |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as db_dir:
        for backend in args.backends.split(","):
            for width in (int(w) for w in args.widths.split(",")):
                r = await measure(width, backend, args.requests, db_dir)
                print(
                    f"| {backend} | {width} | {r.slowest:.1f} ms | {r.direct_fan_out:.1f} ms | {r.gateway:.1f} ms "
                    f"| {r.gateway_p90:.1f} ms | {r.gateway - r.slowest:.1f} ms "
                    f"| {r.gateway - r.direct_fan_out:.1f} ms |",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main())
