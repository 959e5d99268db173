"""The morning rush, measured (issue 13 item 5): the gateway under load against latency-controlled hospitals.

    .venv/bin/python bench/load.py [--requests 2000] [--duration 60] [--clients 32] [--single 40] [--mesh]
    .venv/bin/python bench/load.py --rounds 1 --requests 300 --single 300 --latency 32,32 --mesh

One run starts, on loopback only:
- the simulator: 50 standalone hospitals (ids 300..349), each answering after 24-40 ms, in 2 processes;
- the gateway: ``hisgraph serve --workers 2`` (uvloop, httptools) in production mode on SQLite, every
  control on (sessions, authorisation, rate limits with high ceilings, masking, the per-request loader),
  asked by a signed-in patient;
- the floor: bench/floor_server.py, a bare aiohttp fan-out (2 processes, uvloop) calling the same hospitals;
- GraphQL Mesh with ``--mesh``, when ``npx`` can install ``@graphql-mesh/cli`` (bench/mesh/).
Then, for each server in turn:
(a) ``--clients`` clients back to back, each asking a patient's pending bills at 5 hospitals, for
    ``--requests`` requests or ``--duration`` seconds, whichever ends first: throughput, p50/p99, errors,
    and the server's CPU per request (its processes' own CPU time, /proc/<pid>/stat, not wall time);
(b) one request at a time at N = 1, 10 and 50 hospitals, interleaved with a direct aiohttp fan-out to the
    same N hospitals from this process: p50, the overhead over that direct fan-out, and CPU per request.
The load generator, the hospitals and the servers share the machine's cores, as they did in the issue.

``--latency LOW,HIGH`` sets the hospitals' latency (the issue's 24-40 ms by default). One at a time, a p50 of
requests to hospitals answering anywhere in 24-40 ms moves by a millisecond or two from run to run, with the
hospitals' draws and not with the servers (at N = 1, the median of a hundred draws has a standard error near
0.6 ms, and the overhead is the difference of two of them); with every hospital answering in the same time
(``--latency 32,32``) what is left of the overhead is the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout_overhead import CARD, WAIT_PAY, free_port, prepare_account  # noqa: E402

HOSPITALS = [str(300 + i) for i in range(50)]
LATENCY_MS = (24, 40)
"""The hospitals' latency, from this to that many milliseconds, drawn per call (``--latency``)."""
QUERY = (
    'query Pending($h: String!) { patient(medicalCardNumber: "' + CARD + '") '
    "{ pendingPayments(hospitalId: $h) { hospitalId totalAmount items { id amount } } } }"
)
SECRET = "bench-load-session-secret-0123456789"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FLOOR = "floor (aiohttp fan-out)"
MESH = "GraphQL Mesh"
"""The baselines' names in the tables (bench/mesh.py names its server MESH): the ratios are taken against them."""
FAILURES: dict[str, int] = {}
"""What went wrong, by server, status and the start of the body: printed at the end."""


# -- processes -------------------------------------------------------------------------------------


def cpu_s(pid: int) -> float:
    """The process's own CPU time (user + system) so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found.append(int(child))
                found.extend(descendants(int(child)))
    return found


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    body: Callable[[list[str]], dict[str, object]]
    headers: dict[str, str] = field(default_factory=dict)
    ok: Callable[[int, bytes, int], bool] = lambda status, body, width: status == 200

    def pids(self) -> list[int]:
        return [self.process.pid, *descendants(self.process.pid)]

    def cpu(self) -> float:
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self) -> dict[int, float]:
        """Each of its processes' CPU seconds so far (a supervisor's, its workers')."""
        by_pid: dict[int, float] = {}
        for pid in self.pids():
            with contextlib.suppress(OSError):
                by_pid[pid] = cpu_s(pid)
        return by_pid


def start(argv: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def wait_up(session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(600):
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace")[-2000:] if process.stderr else ""
            raise RuntimeError(f"{what} exited ({process.returncode}): {err}")
        with contextlib.suppress(aiohttp.ClientError, OSError):
            async with session.get(url) as reply:
                if reply.status < 500:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not come up at {url}")


SIMULATOR = """
import socket, sys, uvicorn
from simulator.app import create_simulator_app
port, low, high = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
app = create_simulator_app(standalone=[str(300 + i) for i in range(50)], regional=(), webservice=False)
app.state.simulator.latency.set(hospital_id="*", min_ms=low, max_ms=high)
sock = socket.socket(); sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); sock.bind(("127.0.0.1", port)); sock.listen(1024)
config = uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning", access_log=False, lifespan="on")
uvicorn.Server(config).run(sockets=[sock])
"""


GATEWAY = """
import sys
from uvicorn.supervisors import Multiprocess
from api.cli import _bind, uvicorn_config
from api.settings import Settings
port, workers = int(sys.argv[1]), int(sys.argv[2])
settings = Settings()
settings.check_production()
# What `hisgraph serve --workers N` runs (api/cli.py: uvloop, httptools, the app factory per worker), with a
# longer start-up health check: on a loaded machine a worker's imports outlast uvicorn's default 5 s.
config = uvicorn_config("api.cli:worker_app", settings=settings, factory=True, workers=workers,
                        timeout_worker_healthcheck=120, log_level="warning")
Multiprocess(config, sockets=[_bind("127.0.0.1", port)]).run()
"""


def registry_toml(sim_port: int) -> str:
    return "".join(
        f'[[hospitals]]\nid = "{h}"\nname = "医院{h}"\nregion = "济南市"\n'
        f'base_url = "http://127.0.0.1:{sim_port}/his/{h}"\ntimeout_s = 5.0\nmax_connections = 100\n\n'
        for h in HOSPITALS
    )


def gateway_env(workdir: Path) -> dict[str, str]:
    bucket = {"PER_MINUTE": "10000000", "BURST": "1000000"}
    return {
        "HISGRAPH_MODE": "production",
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/gateway.sqlite3",
        "HISGRAPH_SESSION_SECRET": SECRET,
        "HISGRAPH_FILE_LINK_SECRET": SECRET,
        "HISGRAPH_REQUEST_DEADLINE_S": "10",
        "HISGRAPH_MIGRATE_ON_START": "false",  # done once by prepare_account, as `hisgraph serve` does it
        "HISGRAPH_RUN_JOBS": "false",
        "HISGRAPH_RUN_PAYMENT_WORKER": "false",
        "HISGRAPH_ALLOW_SANDBOX_PAYMENTS": "true",
        "HISGRAPH_ALLOW_FAKE_SMS": "true",
        "HISGRAPH_ALLOW_LOOPBACK_PUBLIC_URL": "true",
        # Rate limits stay on the path, with ceilings a benchmark from one address and one account never meets.
        **{f"HISGRAPH_RATE_LIMITS__PER_IP__{k}": v for k, v in bucket.items()},
        **{f"HISGRAPH_RATE_LIMITS__PER_ACCOUNT__{k}": v for k, v in bucket.items()},
    }


def metrics_env(env: dict[str, str], workdir: Path, name: str) -> dict[str, str]:
    """A gateway's environment with its own PROMETHEUS_MULTIPROC_DIR, as `hisgraph serve --workers N` sets one: its
    workers then record metrics in shared files (api/metrics.py), which costs more per call than in-process."""
    directory = workdir / f"metrics-{name}"
    directory.mkdir(exist_ok=True)
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(directory)}


def session_token(account_id: int) -> str:
    from services.identity.principal import PatientPrincipal, SessionTokens

    return SessionTokens(SECRET.encode()).issue(PatientPrincipal(account_id=account_id))


def graphql_ok(status: int, body: bytes, width: int) -> bool:
    if status != 200:
        return False
    data = json.loads(body)
    return "errors" not in data and len(data["data"]["patient"]["pendingPayments"]) == width


def floor_ok(status: int, body: bytes, width: int) -> bool:
    return status == 200 and len(json.loads(body)) == width


# -- measuring ---------------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    cpu_s: float
    latencies_ms: list[float]
    split: list[float] = field(default_factory=list)
    """The busy processes' shares of the CPU (%), largest first: how evenly the workers shared the load."""

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_s * 1000 / max(1, self.requests)


async def one(session: aiohttp.ClientSession, server: Server, width: int) -> tuple[float, bool]:
    """One request: its milliseconds, and whether it was answered in full. A failure (an error status, a wrong
    answer, a dropped connection) is counted in ``FAILURES`` under the server's name, never raised."""
    hospitals = HOSPITALS[:width]
    started = time.perf_counter()
    failure = None
    try:
        async with session.post(server.url, json=server.body(hospitals), headers=server.headers) as reply:
            body = await reply.read()
            if not server.ok(reply.status, body, width):
                failure = f"HTTP {reply.status} {body[:160]!r}"
    except (aiohttp.ClientError, OSError) as exc:
        failure = f"{type(exc).__name__}: {str(exc)[:160]}"
    if failure is not None:  # described only when it failed: the load generator shares the servers' cores
        key = f"{server.name}: {failure}"
        FAILURES[key] = FAILURES.get(key, 0) + 1
    return (time.perf_counter() - started) * 1000, failure is None


async def concurrent(
    session: aiohttp.ClientSession, server: Server, *, clients: int, requests: int, duration_s: float, warmup: int = 0
) -> Load:
    await asyncio.gather(*(one(session, server, 5) for _ in range(clients * 2)))  # warm every connection
    left_warm = warmup

    async def warm() -> None:  # the same load, not measured: a JIT (Mesh's Node) and every cache warmed first
        nonlocal left_warm
        while left_warm > 0:
            left_warm -= 1
            await one(session, server, 5)

    await asyncio.gather(*(warm() for _ in range(clients)))
    latencies: list[float] = []
    errors = 0
    left = requests
    by_process0, t0 = server.cpu_by_process(), time.perf_counter()
    ends = t0 + duration_s

    async def client() -> None:
        nonlocal left, errors
        while left > 0 and time.perf_counter() < ends:
            left -= 1
            ms, ok = await one(session, server, 5)
            latencies.append(ms)
            errors += not ok

    await asyncio.gather(*(client() for _ in range(clients)))
    seconds, by_process = time.perf_counter() - t0, server.cpu_by_process()
    used = {pid: by_process[pid] - by_process0.get(pid, 0.0) for pid in by_process}
    cpu = sum(used.values())
    split = sorted((100 * each / cpu for each in used.values() if cpu and each / cpu >= 0.01), reverse=True)
    return Load(len(latencies), errors, seconds, cpu, latencies, split)


async def direct_fanout(session: aiohttp.ClientSession, his_base: str, width: int) -> float:
    started = time.perf_counter()

    async def call(h: str) -> None:
        async with session.post(f"{his_base}/{h}/{WAIT_PAY}", json={"hospitalId": h, "medicalCardNumber": CARD}) as r:
            await r.read()

    await asyncio.gather(*(call(h) for h in HOSPITALS[:width]))
    return (time.perf_counter() - started) * 1000


@dataclass
class Single:
    p50_ms: float
    direct_p50_ms: float
    cpu_ms_per_request: float
    errors: int


async def one_at_a_time(session: aiohttp.ClientSession, server: Server, his_base: str, width: int, n: int) -> Single:
    for _ in range(3):
        await one(session, server, width)
    mine: list[float] = []
    direct: list[float] = []
    errors = 0
    before = server.cpu()  # the direct fan-outs interleaved below cost the server nothing
    for _ in range(n):
        direct.append(await direct_fanout(session, his_base, width))
        ms, ok = await one(session, server, width)
        mine.append(ms)
        errors += not ok
    cpu = server.cpu() - before
    return Single(statistics.median(mine), statistics.median(direct), cpu * 1000 / n, errors)


# -- the run -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def running(processes: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    try:
        yield
    finally:
        for process in reversed(processes):
            stop(process)


async def run(args: argparse.Namespace, workdir: Path) -> None:
    python = sys.executable
    sim_port, gw_port, floor_port = free_port(), free_port(), free_port()
    his_base = f"http://127.0.0.1:{sim_port}/his"
    processes: list[subprocess.Popen[bytes]] = []
    with running(processes):
        simulators = [
            start([python, "-c", SIMULATOR, str(sim_port), *map(str, args.latency)]) for _ in range(args.sim_processes)
        ]
        processes += simulators
        (workdir / "hospitals.toml").write_text(registry_toml(sim_port), encoding="utf-8")
        env = gateway_env(workdir)
        os.environ.update(env)  # prepare_account migrates the same store
        token = session_token(await prepare_account(env["HISGRAPH_DATABASE_URL"]))
        env["HISGRAPH_REGISTRY_PATH"] = str(workdir / "hospitals.toml")
        gateway = start([python, "-c", GATEWAY, str(gw_port), str(args.workers)], metrics_env(env, workdir, "hisgraph"))
        processes.append(gateway)
        before = None
        if args.before:
            # The same gateway from another checkout (``git worktree add <dir> <commit>``), for before/after.
            before_port = free_port()
            before = start(
                [python, "-c", GATEWAY, str(before_port), str(args.workers)],
                metrics_env(env, workdir, "before"),
                cwd=Path(args.before),
            )
            processes.append(before)
        floor = start([python, "bench/floor_server.py", "--port", str(floor_port), "--his-base", his_base])
        processes.append(floor)
        servers = [
            Server(
                "hisgraph",
                gateway,
                f"http://127.0.0.1:{gw_port}/graphql",
                lambda hs: {"query": QUERY, "variables": {"h": ",".join(hs)}},
                {"Authorization": f"Bearer {token}"},
                graphql_ok,
            ),
            Server(
                FLOOR,
                floor,
                f"http://127.0.0.1:{floor_port}/fanout",
                lambda hs: {"hospitals": hs, "medicalCardNumber": CARD},
                ok=floor_ok,
            ),
        ]
        if before is not None:
            servers.insert(
                1,
                Server(
                    f"hisgraph before ({args.before})",
                    before,
                    f"http://127.0.0.1:{before_port}/graphql",
                    lambda hs: {"query": QUERY, "variables": {"h": ",".join(hs)}},
                    {"Authorization": f"Bearer {token}"},
                    graphql_ok,
                ),
            )
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_up(session, f"http://127.0.0.1:{sim_port}/admin/faults", simulators[0], "simulator")
            await wait_up(session, f"http://127.0.0.1:{gw_port}/healthz", gateway, "gateway")
            await wait_up(session, f"http://127.0.0.1:{floor_port}/healthz", floor, "floor")
            if before is not None:
                await wait_up(session, f"http://127.0.0.1:{before_port}/healthz", before, "gateway before")
            if args.mesh:
                from bench.mesh import start_mesh

                mesh = await start_mesh(session, workdir, his_base, HOSPITALS[:50], CARD, processes)
                if isinstance(mesh, str):
                    print(f"GraphQL Mesh skipped: {mesh}", flush=True)
                else:
                    servers.append(mesh)
            load_avg = os.getloadavg()
            print(
                f"machine: {os.cpu_count()} cores, load average before the run {load_avg[0]:.2f} "
                f"{load_avg[1]:.2f} {load_avg[2]:.2f}; {args.workers} gateway workers",
                flush=True,
            )
            rounds: dict[str, list[Load]] = {server.name: [] for server in servers}
            for round_ in range(args.rounds):
                for server in servers:
                    spy = None
                    if args.profile and server.name == "hisgraph" and round_ == 0:
                        # py-spy on one worker for the concurrent scenario (the other worker is its twin).
                        worker = max(descendants(server.process.pid))
                        spy = subprocess.Popen(  # noqa: ASYNC220 - started once, before the load, not on its path
                            [
                                str(Path(python).with_name("py-spy")),
                                "record",
                                "--pid",
                                str(worker),
                                "--rate",
                                "250",
                                "--format",
                                args.profile_format,
                                "-o",
                                args.profile,
                                "--nonblocking",
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                        await asyncio.sleep(1.0)
                    rounds[server.name].append(
                        await concurrent(
                            session,
                            server,
                            clients=args.clients,
                            requests=args.requests,
                            duration_s=args.duration,
                            warmup=args.warmup if round_ == 0 else 0,
                        )
                    )
                    if spy is not None:
                        spy.send_signal(2)  # SIGINT: py-spy writes what it has
                        spy.wait(60)
                        print(f"profile of one gateway worker under the concurrent load: {args.profile}", flush=True)
            print(
                f"\n{args.clients} clients back to back, pending bills at 5 hospitals ({args.latency[0]}-"
                f"{args.latency[1]} ms each)\n"
            )
            if args.rounds > 1:
                print(f"{args.rounds} rounds, the servers taking turns; each figure is the median of its rounds\n")
            print("| server | requests | errors | throughput | p50 | p99 | CPU per request |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for name, runs in rounds.items():
                median = statistics.median
                print(
                    f"| {name} | {sum(r.requests for r in runs)} | {sum(r.errors for r in runs)} "
                    f"| {median(r.throughput for r in runs):.0f} req/s | {median(r.pct(50) for r in runs):.0f} ms "
                    f"| {median(r.pct(99) for r in runs):.0f} ms "
                    f"| {median(r.cpu_ms_per_request for r in runs):.2f} ms |",
                    flush=True,
                )
            if args.rounds > 1:
                print()
                for name, runs in rounds.items():
                    each = ", ".join(
                        f"{r.throughput:.0f} req/s {r.cpu_ms_per_request:.2f} ms"
                        + (f" (CPU split {'/'.join(f'{share:.0f}' for share in r.split)}%)" if len(r.split) > 1 else "")
                        for r in runs
                    )
                    print(f"{name}, round by round: {each}")
                print_paired_ratios(rounds)
            widths = [int(w) for w in args.widths.split(",")] if args.single > 0 else []
            print(
                "\none request at a time; overhead = p50 - p50 of a direct aiohttp fan-out to the same hospitals "
                f"({args.latency[0]}-{args.latency[1]} ms each)\n"
            )
            print("| server | hospitals | p50 | direct fan-out p50 | overhead | CPU per request | errors |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            cpu_by_width: dict[str, dict[int, float]] = {}
            for server in servers:
                for width in widths:
                    single = await one_at_a_time(session, server, his_base, width, args.single)
                    cpu_by_width.setdefault(server.name, {})[width] = single.cpu_ms_per_request
                    print(
                        f"| {server.name} | {width} | {single.p50_ms:.1f} ms | {single.direct_p50_ms:.1f} ms "
                        f"| {single.p50_ms - single.direct_p50_ms:.1f} ms | {single.cpu_ms_per_request:.2f} ms "
                        f"| {single.errors} |",
                        flush=True,
                    )
            print()
            for name, by_width in cpu_by_width.items():
                if len(by_width) > 1:
                    low, high = min(by_width), max(by_width)
                    slope = (by_width[high] - by_width[low]) / (high - low)
                    print(f"{name}: CPU per extra hospital {slope:.3f} ms ({low} -> {high} hospitals)")
            for failure, count in sorted(FAILURES.items(), key=lambda item: -item[1])[:10]:
                print(f"failed {count}x: {failure}")
            load_avg = os.getloadavg()
            print(f"load average after the run {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")


def print_paired_ratios(rounds: dict[str, list[Load]]) -> None:
    """Each gateway's ratios to the floor and to Mesh, round by round (the servers of a round run one after the
    other, seconds apart), and their medians: on a machine whose speed drifts over a run, a round's servers share
    its speed, so the ratios within rounds move less than the ratio of the medians (the issue's goals beside)."""
    goals = {
        FLOOR: (("throughput", 0.9, ">="), ("CPU per request", 1.5, "<="), ("p99", 1.25, "<=")),
        MESH: (("throughput", 1.25, ">="), ("CPU per request", 0.75, "<=")),
    }
    measures: dict[str, Callable[[Load], float]] = {
        "throughput": lambda load: load.throughput,
        "CPU per request": lambda load: load.cpu_ms_per_request,
        "p99": lambda load: load.pct(99),
    }
    print("\nratios within each round, then their median (the issue's goal):")
    for name, runs in rounds.items():
        if name in goals:
            continue
        for baseline, checks in goals.items():
            base_runs = rounds.get(baseline)
            if not base_runs:
                continue
            parts = []
            for measure, goal, sense in checks:
                read = measures[measure]
                ratios = [read(mine) / read(theirs) for mine, theirs in zip(runs, base_runs, strict=True)]
                listed = " ".join(f"{ratio:.2f}" for ratio in ratios)
                parts.append(f"{measure} {listed} -> {statistics.median(ratios):.2f} (goal {sense} {goal})")
            print(f"{name} / {baseline}: " + "; ".join(parts))


def latency_ms(text: str) -> tuple[int, int]:
    """``LOW,HIGH`` milliseconds (``32`` alone: always 32)."""
    low, _, high = text.partition(",")
    try:
        bounds = int(low), int(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not LOW,HIGH milliseconds: {text!r}") from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"not 0 <= LOW <= HIGH: {text!r}")
    return bounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests of the concurrent scenario, per server")
    parser.add_argument("--duration", type=float, default=60.0, help="at most this many seconds of it, per server")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=3, help="concurrent runs per server, the servers taking turns; medians shown"
    )
    parser.add_argument(
        "--warmup", type=int, default=500, help="unmeasured requests of the concurrent load per server, first round"
    )
    parser.add_argument(
        "--single", type=int, default=40, help="requests per width, one at a time (0: skip that scenario)"
    )
    parser.add_argument("--widths", default="1,10,50")
    parser.add_argument(
        "--latency",
        type=latency_ms,
        default=LATENCY_MS,
        help="the hospitals' latency in ms, LOW,HIGH, drawn per call (default 24,40; 32,32: the same every time)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gateway worker processes")
    parser.add_argument("--sim-processes", type=int, default=2, help="simulator processes (one port)")
    parser.add_argument("--before", help="also run the gateway from this checkout (a git worktree), for before/after")
    parser.add_argument("--profile", help="py-spy a gateway worker during the concurrent scenario, into this file")
    parser.add_argument("--profile-format", default="flamegraph", help="py-spy's format: flamegraph, raw, speedscope")
    parser.add_argument(
        "--mesh", action="store_true", help="also GraphQL Mesh via npx (bench/mesh.py; skipped, saying why, if not)"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hisgraph-load-"))
    try:
        asyncio.run(run(args, workdir))
    finally:  # this run's database, registry and metrics files
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
