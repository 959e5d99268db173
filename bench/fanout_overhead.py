"""Fan-out overhead: gateway latency minus the slowest hospital's own latency, at 1, 10 and 50 hospitals.

    .venv/bin/python bench/fanout_overhead.py [--requests 40] [--backends aiohttp,httpcore]

The simulator runs in its own process with N standalone hospitals, hospital k answering after a
fixed latency spread over 20-200 ms; the gateway runs in another process (uvicorn, one worker).
One GraphQL request at a time asks pendingPayments of all N hospitals. The baseline is the same
HTTP call made directly to the slowest hospital; overhead = gateway p50 - baseline p50.
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
from pathlib import Path

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
        database_url=f"sqlite+aiosqlite:///{db_dir}/bench-{port}.sqlite3",
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


def latency_of(index: int, width: int) -> int:
    return 20 if width == 1 else 20 + round(180 * index / (width - 1))


async def measure(width: int, backend: str, requests: int, db_dir: str) -> tuple[float, float, float]:
    hospital_ids = [str(300 + i) for i in range(width)]
    sim_port, gw_port = free_port(), free_port()
    ctx = multiprocessing.get_context("spawn")
    simulator = ctx.Process(target=run_simulator, args=(sim_port, hospital_ids), daemon=True)
    simulator.start()
    gateway = ctx.Process(target=run_gateway, args=(gw_port, sim_port, hospital_ids, backend, db_dir), daemon=True)
    gateway.start()
    try:
        sim_url, gw_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{gw_port}"
        await wait_up(sim_url + "/admin/calls")
        await wait_up(gw_url + "/healthz")
        async with httpx.AsyncClient(timeout=30.0) as client:
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
            direct, through = [], []
            for _ in range(requests):
                started = time.perf_counter()
                await client.post(f"{sim_url}/his/{slowest}/{WAIT_PAY}", json=body)
                direct.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                reply = await client.post(gw_url + "/graphql", json=payload)
                through.append((time.perf_counter() - started) * 1000)
                assert len(reply.json()["data"]["patient"]["pendingPayments"]) == width
            await client.delete(sim_url + "/admin/calls")  # keep its record small
        p50_direct, p50_through = statistics.median(direct), statistics.median(through)
        p90_through = statistics.quantiles(through, n=10)[-1]
        return p50_direct, p50_through, p90_through
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
    print(f"{'backend':<10}{'width':>6}{'slowest p50':>14}{'gateway p50':>14}{'gateway p90':>14}{'overhead p50':>15}")
    with tempfile.TemporaryDirectory() as db_dir:
        for backend in args.backends.split(","):
            for width in (int(w) for w in args.widths.split(",")):
                direct, p50, p90 = await measure(width, backend, args.requests, db_dir)
                print(f"{backend:<10}{width:>6}{direct:>12.1f}ms{p50:>12.1f}ms{p90:>12.1f}ms{p50 - direct:>13.1f}ms")


if __name__ == "__main__":
    asyncio.run(main())
