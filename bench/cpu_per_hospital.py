"""Gateway CPU per hospital in a fan-out (issue 13 item 2), measured without depending on the machine's load.

    .venv/bin/python bench/cpu_per_hospital.py [--widths 1,10,50] [--requests 200]
    .venv/bin/python bench/cpu_per_hospital.py --instructions [--widths 1,50] [--requests 10]
    .venv/bin/python bench/cpu_per_hospital.py --profile out.prof --widths 50 --requests 100
    .venv/bin/python bench/cpu_per_hospital.py --gc-freeze     (gc.freeze() after start-up, before measuring)

The real app (``create_app`` in production mode: a signed-in patient's session, the authorisation of every
HIS call, rate limits with ceilings this bench never meets, error masking, the per-request loader, metrics)
runs in this process, asked through httpx's ASGI transport, one request at a time: a patient's pending bills
(``pendingPayments``) at N hospitals. The hospitals are a separate process answering at once with the bytes
the simulator gives for that card (``fake_hospitals``), so their CPU is not this process's.

Two measures:
- CPU time (``time.process_time``) of this process (moved far less by other load than wall time, yet moved)
  over ``--requests`` requests per width, after a warm-up: CPU per request, and per extra hospital, the slope
  between the narrowest and the widest width;
- ``--instructions``: each width run under ``valgrind --tool=callgrind``, counting (through callgrind's client
  requests) only the measured requests, and leaving out the cyclic garbage collector's instructions (its CPU
  time is the first measure's "of which ... garbage collection"): instructions per request, and per extra
  hospital. Counted, not timed: what else runs on the machine does not move it.
Logging is configured as ``hisgraph serve`` configures it by default (WARNING, masked JSON lines; ``--log-level
INFO`` as ``serve --log-level INFO``, a line per HIS call), written to /dev/null.
The overload guard's lag bound is lifted (under valgrind the loop runs slowly by design); its check still runs
on every request.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fanout_overhead import CARD, WAIT_PAY, free_port, prepare_account  # noqa: E402
from bench.load import HOSPITALS, QUERY, gateway_env, registry_toml, session_token  # noqa: E402

# -- the hospitals: another process, answering at once -------------------------------------------------


FAKE_HOSPITALS = r"""
import asyncio, json, sys
import httpx
from simulator.app import create_simulator_app

port, card, method, hospitals = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].split(",")

async def capture():
    app = create_simulator_app(standalone=hospitals, regional=(), webservice=False)
    replies = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        for h in hospitals:
            reply = await client.post(f"/his/{h}/{method}", json={"hospitalId": h, "medicalCardNumber": card})
            replies[f"/his/{h}/{method}".encode()] = reply.content
    return replies

class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            self.buffer = self.buffer[head_end + 4 + length:]
            path = head[0].split(b" ")[1]
            body = REPLIES.get(path, b'{"success":false,"code":"10002","msg":"no data"}')
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body
            )

async def main():
    global REPLIES
    REPLIES = await capture()
    server = await asyncio.get_running_loop().create_server(Http, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    await server.serve_forever()

try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""


def start_hospitals(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-c", FAKE_HOSPITALS, str(port), CARD, WAIT_PAY, ",".join(HOSPITALS)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError("the fake hospitals did not start")
    return process


# -- the gateway: this process ----------------------------------------------------------------------------


GC_SECONDS = [0.0, 0.0]
"""CPU seconds spent in the cyclic garbage collector so far, and when the running collection started."""
GC_BY_WIDTH: dict[int, float] = {}


def _note_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        if CALLGRIND.counting:
            CALLGRIND.toggle()  # the collector's instructions are left out (its CPU time is reported apart)
        GC_SECONDS[1] = time.process_time()
    else:
        GC_SECONDS[0] += time.process_time() - GC_SECONDS[1]
        if CALLGRIND.counting:
            CALLGRIND.toggle()


CALLGRIND_C = r"""
#include <valgrind/callgrind.h>
void window_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void window_stop(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_STOP_INSTRUMENTATION; }
void toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
"""


class Callgrind:
    """Callgrind's client requests (valgrind/callgrind.h), so that only the measured requests are counted:
    valgrind runs with instrumentation and collection off until ``start`` (start-up is ~5x slower, not ~50x)."""

    def __init__(self) -> None:
        self.lib: object | None = None
        self.counting = False

    def load(self, path: str) -> None:
        import ctypes

        self.lib = ctypes.CDLL(path)

    def start(self) -> None:
        if self.lib is not None:
            self.lib.window_start()  # type: ignore[attr-defined]
            self.counting = True

    def stop(self) -> None:
        if self.lib is not None:
            self.counting = False
            self.lib.window_stop()  # type: ignore[attr-defined]

    def toggle(self) -> None:
        self.lib.toggle()  # type: ignore[union-attr]


CALLGRIND = Callgrind()


async def measure(
    port: int, widths: list[int], requests: int, warmup: int, profile: str | None, gc_freeze: bool = False
) -> dict[int, float]:
    """CPU seconds per request at each width (the app built once, every hospital warmed first)."""
    import httpx

    from api.app import create_app
    from api.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="hisgraph-cpu-"))
    try:
        (workdir / "hospitals.toml").write_text(registry_toml(port), encoding="utf-8")
        env = gateway_env(workdir)
        env["HISGRAPH_REGISTRY_PATH"] = str(workdir / "hospitals.toml")
        env["HISGRAPH_OVERLOAD_MAX_LAG_MS"] = "60000"  # the check runs; under valgrind the loop is slow by design
        env["HISGRAPH_REQUEST_DEADLINE_S"] = "60"
        os.environ.update(env)
        token = session_token(await prepare_account(env["HISGRAPH_DATABASE_URL"]))
        app = create_app(Settings())
        headers = {"Authorization": f"Bearer {token}"}
        results: dict[int, float] = {}
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=600) as client,
        ):

            async def ask(width: int) -> None:
                payload = {"query": QUERY, "variables": {"h": ",".join(HOSPITALS[:width])}}
                reply = await client.post("/graphql", json=payload, headers=headers)
                data = json.loads(reply.content)
                entries = ((data.get("data") or {}).get("patient") or {}).get("pendingPayments") or []
                if reply.status_code != 200 or "errors" in data or len(entries) != width:
                    raise RuntimeError(f"unexpected answer: {reply.status_code} {reply.text[:400]}")

            for _ in range(max(1, warmup)):
                await ask(max(widths))  # every hospital's connection and breaker made, every code path warm
            for width in widths:
                for _ in range(warmup):
                    await ask(width)
                profiler = None
                if profile:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                if gc_freeze:
                    import gc

                    gc.collect()
                    gc.freeze()  # what a worker could do once started: start-up's objects out of every collection
                gc_before = GC_SECONDS[0]
                started = time.process_time()
                CALLGRIND.start()
                for _ in range(requests):
                    await ask(width)
                CALLGRIND.stop()
                results[width] = (time.process_time() - started) / requests
                GC_BY_WIDTH[width] = (GC_SECONDS[0] - gc_before) / requests
                if profiler is not None:
                    assert profile  # a profiler is made only when a file for it was named
                    profiler.disable()
                    profiler.dump_stats(profile if len(widths) == 1 else f"{profile}.{width}")
        return results
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the bench's database and registry


def run_inner(args: argparse.Namespace) -> None:
    """One measurement in this process: the hospitals started (unless given), CPU per request printed."""
    import gc

    from api.logs import configure_logging

    configure_logging(args.log_level, json_lines=True)  # as `hisgraph serve` does (its --log-level), masked
    if importlib.util.find_spec("sniffio") is None:
        # httpx's ASGI transport (this bench's client) imports sniffio on every request; not installed, each import
        # searched sys.path again (8 stats, ~5% of a 5-hospital request's instructions), counted as the gateway's.
        sys.modules["sniffio"] = None  # type: ignore[assignment]  # fails at once, as it did, without the search
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process
    gc.callbacks.append(_note_gc)
    if args.callgrind_lib:
        CALLGRIND.load(args.callgrind_lib)
    widths = [int(w) for w in args.widths.split(",")]
    hospitals = None
    port = args.port
    if port is None:
        port = free_port()
        hospitals = start_hospitals(port)
    try:
        runner: Callable[[Coroutine[Any, Any, dict[int, float]]], dict[int, float]]
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # pragma: no cover
            runner = asyncio.run
        results = runner(measure(port, widths, int(args.requests), args.warmup, args.profile, args.gc_freeze))
    finally:
        if hospitals is not None:
            hospitals.terminate()
            hospitals.wait(10)
    for width, cpu in results.items():
        gc_ms = GC_BY_WIDTH.get(width, 0.0) * 1000
        print(
            f"width {width}: {cpu * 1000:.3f} ms CPU per request (of which {gc_ms:.3f} ms garbage collection)",
            flush=True,
        )
    if len(results) > 1:
        low, high = min(results), max(results)
        slope = (results[high] - results[low]) / (high - low)
        print(f"CPU per extra hospital: {slope * 1000:.3f} ms ({low} -> {high} hospitals)", flush=True)


def callgrind_count(width: int, requests: int, port: int, warmup: int, lib: str, log_level: str) -> int:
    """Instructions of ``requests`` requests at ``width`` (the garbage collector's left out), after a warm-up."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--collect-atstart=no",
            f"--callgrind-out-file={out}/callgrind.out",
            sys.executable,
            __file__,
            "--inner",
            "--callgrind-lib",
            lib,
            "--port",
            str(port),
            "--widths",
            str(width),
            "--requests",
            str(requests),
            "--warmup",
            str(warmup),
            "--log-level",
            log_level,
        ]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        match = re.search(r"Collected : (\d+)", finished.stderr)
        if finished.returncode != 0 or match is None:
            raise RuntimeError(f"callgrind run failed: {finished.stdout[-1000:]} {finished.stderr[-2000:]}")
        return int(match.group(1))


def build_callgrind_lib(directory: str) -> str:
    source, lib = Path(directory, "window.c"), Path(directory, "window.so")
    source.write_text(CALLGRIND_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(lib), str(source)], check=True)
    return str(lib)


def run_instructions(args: argparse.Namespace) -> None:
    widths = [int(w) for w in args.widths.split(",")]
    requests = int(args.requests)
    port = free_port()
    hospitals = start_hospitals(port)
    per_request: dict[int, float] = {}
    try:
        with tempfile.TemporaryDirectory() as build:
            lib = build_callgrind_lib(build)
            for width in widths:
                per_request[width] = callgrind_count(width, requests, port, args.warmup, lib, args.log_level) / requests
                print(f"width {width}: {per_request[width] / 1e6:.2f} M instructions per request", flush=True)
    finally:
        hospitals.terminate()
        hospitals.wait(10)
    if len(per_request) > 1:
        low_w, high_w = min(per_request), max(per_request)
        slope = (per_request[high_w] - per_request[low_w]) / (high_w - low_w)
        print(f"instructions per extra hospital: {slope / 1e6:.3f} M ({low_w} -> {high_w} hospitals)", flush=True)


def _serve_log_level() -> str:
    from api.cli import _LOGGING

    return _LOGGING.level


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", default=None, help="hospitals per request (default 1,10,50; 1,50 with valgrind)")
    parser.add_argument("--requests", default=None, help="requests per width (default 200; 10 under valgrind)")
    parser.add_argument("--warmup", type=int, default=5, help="requests before measuring, per width")
    parser.add_argument("--instructions", action="store_true", help="count instructions under callgrind")
    parser.add_argument("--profile", help="cProfile the measured requests into this file")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() before measuring: what the collector costs without start-up's objects",
    )
    parser.add_argument(
        "--log-level",
        default=_serve_log_level(),
        help="the gateway's log level (default: hisgraph serve's default; INFO logs every HIS call)",
    )
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)  # the hospitals, already running
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-lib", help=argparse.SUPPRESS)  # counting under callgrind: its client requests
    args = parser.parse_args()
    if args.instructions:
        args.widths = args.widths or "1,50"
        args.requests = args.requests or "10"
        run_instructions(args)
    else:
        args.widths = args.widths or "1,10,50"
        args.requests = args.requests or "200"
        run_inner(args)


if __name__ == "__main__":
    socket.setdefaulttimeout(None)
    main()
