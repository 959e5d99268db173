"""Memory holds still (issue 13 item 4): a gateway worker's RSS over 100,000 mixed requests.

    .venv/bin/python bench/memory.py [--requests 100000] [--clients 16] [--samples 20] [--tracemalloc]

One run starts, on loopback only, the simulated region (`hisgraph simulate`: 253-257, HTTP and SOAP, the
regional endpoint) and the gateway as production runs it (`hisgraph serve --workers 1 --metrics-port`,
production mode on SQLite, sessions, rate limits with high ceilings, masking, persisted queries), then sends
``--requests`` requests from ``--clients`` clients, a fixed pseudo-random mix:

- a signed-in patient's pending bills at 1-5 hospitals (50 accounts; 254 answers every one with 40001);
- today's departments at 1-2 hospitals (reference data: the HIS cache);
- automatic persisted queries: a known hash alone, a new query registered with its hash (every one different,
  so the APQ store fills and evicts), an unknown hash (PersistedQueryNotFound);
- errors: syntax, validation, an unknown hospital, no session; made-up operation names (each one different);
- the spec's shim getPatientInfo at a random hospital, with the demo card or a random unknown one;
- each request with its own X-Request-Id and, through the trusted proxy, one of 5,000 client addresses.

It samples the worker's RSS (/proc/<pid>/status) ``--samples`` times, reports it against the RSS after the
warm-up (the first 10% of the requests), and scrapes /metrics (on the metrics port) after the warm-up and at
the end: the number of series, the size gauges, and that no card number or request id became a label.
With ``--tracemalloc`` the worker runs under tracemalloc and prints the 15 source lines whose allocations
grew most between the end of the warm-up and the end (slower: use it with fewer requests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout_overhead import free_port  # noqa: E402

CARD = "001000056254587"
HOSPITALS = ("253", "254", "255", "256", "257")
SECRET = "bench-memory-session-secret-0123456789"
ACCOUNTS = 50
ADDRESSES = 5_000
PENDING = (
    'query PendingBills($h: String!) { patient(medicalCardNumber: "' + CARD + '") '
    "{ pendingPayments(hospitalId: $h) { hospitalId totalAmount items { name amount } } } }"
)
TODAY = (
    "query TodayRegistration($h: String!) { hospitals(hospitalId: $h) { id name "
    "todayDepartments { name departments { id name } } } }"
)
KNOWN_APQ = [f"query Known{n} {{ __typename }}" for n in range(20)]

# The gateway under tracemalloc: SIGUSR1 takes a snapshot; the first is the baseline, the next compares.
TRACED = """
import os, signal, sys, tracemalloc
tracemalloc.start(1)
out = sys.argv.pop(1)
first = []
def snapshot(signum, frame):
    snap = tracemalloc.take_snapshot().filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
    if not first:
        first.append(snap)
        return
    with open(out + ".part", "w") as f:
        for stat in snap.compare_to(first[0], "lineno")[:15]:
            f.write(f"{stat}\\n")
    os.replace(out + ".part", out)
signal.signal(signal.SIGUSR1, snapshot)
from api.cli import main
sys.exit(main(sys.argv[1:]))
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def registry_toml(sim_port: int) -> str:
    """hospitals.example.toml (the simulated region) pointed at this run's simulator."""
    return (
        (ROOT / "hospitals.example.toml").read_text(encoding="utf-8").replace("127.0.0.1:9100", f"127.0.0.1:{sim_port}")
    )


def gateway_env(workdir: Path) -> dict[str, str]:
    bucket = {"PER_MINUTE": "10000000", "BURST": "1000000"}
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith(("HISGRAPH_", "PROMETHEUS_"))},
        "HISGRAPH_MODE": "production",
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/gateway.sqlite3",
        "HISGRAPH_SESSION_SECRET": SECRET,
        "HISGRAPH_FILE_LINK_SECRET": SECRET,
        "HISGRAPH_RUN_JOBS": "false",
        "HISGRAPH_RUN_PAYMENT_WORKER": "false",
        "HISGRAPH_ALLOW_SANDBOX_PAYMENTS": "true",
        "HISGRAPH_ALLOW_FAKE_SMS": "true",
        "HISGRAPH_ALLOW_LOOPBACK_PUBLIC_URL": "true",
        # The bench's requests come through "the balancer": X-Forwarded-For names one of ADDRESSES clients.
        "HISGRAPH_TRUSTED_PROXIES": '["127.0.0.1"]',
        **{f"HISGRAPH_RATE_LIMITS__PER_IP__{k}": v for k, v in bucket.items()},
        **{f"HISGRAPH_RATE_LIMITS__PER_ACCOUNT__{k}": v for k, v in bucket.items()},
    }


async def prepare_accounts(database_url: str) -> list[str]:
    """The store migrated, and ACCOUNTS accounts holding the demo card: their session tokens."""
    from services.identity.accounts import AccountService
    from services.identity.principal import PatientPrincipal, SessionTokens
    from store.db import Database

    db = Database(database_url)
    tokens = SessionTokens(SECRET.encode())
    try:
        await db.migrate()
        accounts = AccountService(db=db, his=None, sms=None, wechat=None)  # type: ignore[arg-type]
        issued = []
        for n in range(ACCOUNTS):
            account = await accounts.account_for(openid=f"bench-memory-{n}")
            await accounts.grant(account_id=account.id, medical_card_number=CARD, hospital_id=None, how="created")
            issued.append(tokens.issue(PatientPrincipal(account_id=account.id)))
        return issued
    finally:
        await db.dispose()


def sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


class Mix:
    """The n-th request of the run: (kind, path, JSON body, headers), the same for the same seed."""

    def __init__(self, tokens: list[str], seed: int) -> None:
        self.tokens = tokens
        self.random = random.Random(seed)

    def request(self, n: int) -> tuple[str, str, dict[str, Any], dict[str, str]]:
        r = self.random
        address = r.randrange(ADDRESSES)
        headers = {
            "X-Request-Id": f"bench-{n:07d}-{r.getrandbits(32):08x}",
            "X-Forwarded-For": f"10.77.{address // 250}.{address % 250}",
        }
        signed = {**headers, "Authorization": f"Bearer {r.choice(self.tokens)}"}
        roll = r.random()
        hospitals = ",".join(sorted(r.sample(HOSPITALS, r.randint(1, 5))))
        if roll < 0.30:
            return "pending bills", "/graphql", {"query": PENDING, "variables": {"h": hospitals}}, signed
        if roll < 0.45:
            some = ",".join(sorted(r.sample(HOSPITALS, r.randint(1, 2))))
            return "departments", "/graphql", {"query": TODAY, "variables": {"h": some}}, headers
        if roll < 0.60:
            persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(r.choice(KNOWN_APQ))}}
            return "APQ hit", "/graphql", {"extensions": persisted}, headers
        if roll < 0.65:
            query = f"query New{n} {{ __typename }}"
            persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
            return "APQ new", "/graphql", {"query": query, "extensions": persisted}, headers
        if roll < 0.68:
            persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(f"unknown {n}")}}
            return "APQ unknown", "/graphql", {"extensions": persisted}, headers
        if roll < 0.71:
            return "syntax error", "/graphql", {"query": "query { patient( "}, headers
        if roll < 0.74:
            return "validation error", "/graphql", {"query": f"query V{n} {{ noSuchField{n} }}"}, headers
        if roll < 0.77:
            body = {"query": PENDING, "variables": {"h": f"{r.randrange(900, 999)},253"}}
            return "unknown hospital", "/graphql", body, signed
        if roll < 0.80:
            return "no session", "/graphql", {"query": PENDING, "variables": {"h": hospitals}}, headers
        if roll < 0.85:
            return "operation names", "/graphql", {"query": f"query Made{n}Up {{ __typename }}"}, headers
        card = CARD if r.random() < 0.5 else f"0010{r.randrange(10**11):011d}"
        body = {"hospitalId": r.choice(HOSPITALS[:3]), "medicalCardNumber": card}
        # A hospital calls the shims itself: no forwarded address (its own, loopback, is in allowed_ips).
        return "shim", "/prefront/patient/getPatientInfo", body, {"X-Request-Id": headers["X-Request-Id"]}


def series(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def gauge(text: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


async def run(args: argparse.Namespace) -> int:
    python = sys.executable
    workdir = Path(tempfile.mkdtemp(prefix="hisgraph-memory-"))
    sim_port, gw_port, metrics_port = free_port(), free_port(), free_port()
    (workdir / "hospitals.toml").write_text(registry_toml(sim_port), encoding="utf-8")
    env = gateway_env(workdir)
    tokens = await prepare_accounts(env["HISGRAPH_DATABASE_URL"])
    simulator = subprocess.Popen(  # noqa: ASYNC220 - started once, before the load
        [python, "-m", "api.cli", "simulate", "--port", str(sim_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    traced, log = workdir / "tracemalloc.txt", workdir / "gateway.log"
    launcher = [python, "-c", TRACED, str(traced)] if args.tracemalloc else [python, "-m", "api.cli"]
    command = ["serve", "--config", str(workdir / "hospitals.toml"), "--port", str(gw_port), "--workers", "1"]
    gateway = subprocess.Popen(  # noqa: ASYNC220 - started once, before the load
        [*launcher, *command, "--no-migrate", "--metrics-port", str(metrics_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),  # a file, not a pipe nobody reads: a full pipe would stall the worker's loop
    )
    base, metrics_url = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{metrics_port}/metrics"
    print(f"simulator on {sim_port}, gateway on {base}, metrics on {metrics_url}", file=sys.stderr, flush=True)
    statuses: Counter[str] = Counter()
    samples: list[tuple[int, int]] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for what, url, process in (
                ("simulator", f"http://127.0.0.1:{sim_port}/admin/faults", simulator),
                ("gateway", f"{base}/healthz", gateway),
            ):
                for _ in range(3000):  # a loaded machine, or tracemalloc, makes the imports slow
                    if process.poll() is not None:
                        raise RuntimeError(f"{what} exited; its log: {log}")
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with session.get(url) as reply:
                            if reply.status < 500:
                                break
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"{what} did not answer at {url}; the gateway's log: {log}")
            # 254 refuses every pending-bills call with 40001 (系统繁忙): errors in every such fan-out that asks it.
            fault = {"hospitalId": "254", "method": "hospital.interface.queryWaitPay", "kind": "code", "code": "40001"}
            async with session.post(f"http://127.0.0.1:{sim_port}/admin/faults", json=fault) as reply:
                reply.raise_for_status()
            for query in KNOWN_APQ:  # the persisted queries the clients know, registered once
                extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}
                async with session.post(f"{base}/graphql", json={"query": query, "extensions": extensions}) as reply:
                    await reply.read()

            mix = Mix(tokens, args.seed)
            total, every = args.requests, max(1, args.requests // args.samples)
            warmup = total // 10
            issued = 0
            done = 0
            scraped: dict[str, str] = {}
            started = time.monotonic()

            async def checkpoint() -> None:
                at = done
                samples.append((at, rss_kib(gateway.pid)))
                print(f"  {at} requests, RSS {samples[-1][1] / 1024:.1f} MiB", file=sys.stderr, flush=True)
                if at in (warmup, total):
                    async with session.get(metrics_url) as reply:
                        scraped["warm-up" if at == warmup else "end"] = await reply.text()
                    if args.tracemalloc:
                        gateway.send_signal(signal.SIGUSR1)

            async def client() -> None:
                nonlocal issued, done
                while issued < total:
                    n = issued
                    issued += 1
                    kind, path, body, headers = mix.request(n)
                    try:
                        async with session.post(base + path, json=body, headers=headers) as reply:
                            payload = await reply.read()
                            status = str(reply.status)
                            if reply.status == 200 and path == "/graphql" and b'"errors"' in payload:
                                status = "200 with errors"
                    except (aiohttp.ClientError, OSError) as error:
                        status = type(error).__name__
                    statuses[f"{kind}: {status}"] += 1
                    done += 1
                    if done % every == 0 or done in (warmup, total):
                        await checkpoint()

            samples.append((0, rss_kib(gateway.pid)))
            await asyncio.gather(*(client() for _ in range(args.clients)))
            elapsed = time.monotonic() - started
            if args.tracemalloc:
                for _ in range(300):
                    if traced.exists():
                        break
                    await asyncio.sleep(0.1)
    finally:
        for process in (gateway, simulator):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()

    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")
    print(
        f"{total} requests from {args.clients} clients in {elapsed:.0f} s ({total / elapsed:.0f} req/s), one worker\n"
    )
    base_rss = next(rss for n, rss in samples if n >= warmup)
    print("| requests | RSS | vs after warm-up |")
    print("|---:|---:|---:|")
    for n, rss in sorted(set(samples)):
        print(f"| {n} | {rss / 1024:.1f} MiB | {(rss - base_rss) / base_rss * 100:+.1f}% |")
    after = [rss for n, rss in samples if n >= warmup]
    end = samples[-1][1]
    growth = (end - base_rss) / base_rss * 100
    peak = (max(after) - base_rss) / base_rss * 100
    print(
        f"\nRSS after warm-up ({warmup} requests) {base_rss / 1024:.1f} MiB, at the end {end / 1024:.1f} MiB: "
        f"{growth:+.1f}% (peak {peak:+.1f}%)"
    )
    for when, text in scraped.items():
        print(
            f"/metrics {when}: {series(text)} series; apq_cache_entries {gauge(text, 'apq_cache_entries')}, "
            f"his_cache_entries {gauge(text, 'his_cache_entries')}, "
            f"rate_limit_buckets {gauge(text, 'rate_limit_buckets')}"
        )
    # Label sets only: a float sample value (a histogram's sum: 12.00103456789012345) may hold any digits.
    leaked = [
        labels
        for text in scraped.values()
        for labels in re.findall(r"\{[^}]*\}", text)
        if "bench-0" in labels or re.search(r"0010\d{11}", labels)
    ]
    print("labels: no request id or card number" if not leaked else "labels: A REQUEST ID OR CARD NUMBER IS A LABEL")
    for labels in leaked[:5]:
        print(f"  {labels}")
    print("\nanswers by kind:")
    for key, count in sorted(statuses.items()):
        print(f"  {key}: {count}")
    if args.tracemalloc and traced.exists():
        print("\ntracemalloc, the 15 lines that grew most from the warm-up to the end:")
        print(traced.read_text())
    # With tracemalloc its snapshots are in the worker's RSS: the figure to judge is tracemalloc's then.
    held = leaked or (not args.tracemalloc and abs(growth) > args.max_growth)
    if held:
        print(f"\nFAILED: the gateway's log and store are in {workdir}")
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--tracemalloc", action="store_true", help="trace the worker's allocations (slower)")
    parser.add_argument("--max-growth", type=float, default=10.0, help="exit 1 when RSS grew more (percent)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: the simulator and gateway stop too
    raise SystemExit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
