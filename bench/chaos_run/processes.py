"""The chaos run's processes: the simulated region, the WeChat Pay provider, and the gateways it kills.

Each is a child process of the run, with its output in a log file of the run's folder. The simulator
and the provider start once and outlive every gateway; a gateway is killed with SIGKILL and started
again on the same database, port and secrets, so sessions, notifications and jobs carry over. With
several gateways (a region's instances), `hisgraph migrate` runs once, each gateway serves with
`--no-migrate`, and a round-robin TCP proxy on loopback stands in for the load balancer: the patient
and WeChat Pay's notifications reach whichever instance is up.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90.0


def free_port() -> int:
    """A loopback port free now (the gateway keeps it across restarts: the provider notifies it there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Child:
    """One child process, its log file, and how to stop it."""

    name: str
    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            log.write(f"\n--- start {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # the run's own children, each stopped by its pid
                self.args,
                cwd=REPO,
                env=os.environ | {"PYTHONUNBUFFERED": "1"} | self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _STARTED.append(self)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_for_line(self, pattern: str, *, timeout_s: float = STARTUP_TIMEOUT_S) -> re.Match[str]:
        """The first match of `pattern` in what the process printed since it started."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8", errors="replace").rsplit("--- start", 1)[-1]
            found = re.search(pattern, text)
            if found is not None:
                return found
            if not self.alive:
                raise RuntimeError(f"{self.name} exited early; see {self.log}")
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not print {pattern!r} within {timeout_s} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL to the whole process group (its own session): no shutdown hooks, no flushing, exactly
        like a crash, and no worker process left behind to finish anything."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM and a graceful shutdown (SIGKILL if it takes more than 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def start_simulator(folder: Path, *, seed: int) -> tuple[Child, str]:
    child = Child(
        "simulator",
        [sys.executable, "-m", "simulator", "--host", "127.0.0.1", "--port", "0", "--seed", str(seed)],
        folder / "simulator.log",
    )
    child.start()
    url = child.wait_for_line(r"simulated region on (http://\S+)").group(1)
    return child, url


def start_provider(
    folder: Path, *, seed: int, schedule_scale: float, duplicate_rate: float, spread_s: float
) -> tuple[Child, str, dict[str, Any]]:
    """The fake WeChat Pay as its own process; its URL and the merchant config it wrote for the gateway."""
    config_path = folder / "merchant.json"
    child = Child(
        "provider",
        [
            sys.executable, "-m", "simulator.wechatpay", "--port", "0", "--config-out", str(config_path),
            "--schedule-scale", str(schedule_scale), "--duplicate-rate", str(duplicate_rate),
            "--spread-s", str(spread_s), "--refund-settles-after-s", "0.5", "--seed", str(seed),
        ],
        folder / "provider.log",
    )  # fmt: skip
    child.start()
    url = child.wait_for_line(r"fake WeChat Pay on (http://\S+)").group(1)
    return child, url, json.loads(config_path.read_text(encoding="utf-8"))


def write_registry(folder: Path, simulator_url: str) -> Path:
    """The shipped example registry, pointed at this run's simulator, each hospital with the hosCode its
    schedule uploads (21.1.4) carry: `0531_<id>` (an upload naming no registered hosCode is refused)."""
    example = (REPO / "hospitals.example.toml").read_text(encoding="utf-8")
    example = re.sub(r'(?m)^id = "(\d+)"$', r'id = "\1"\nhos_code = "0531_\1"', example)
    path = folder / "hospitals.toml"
    path.write_text(example.replace("127.0.0.1:9100", simulator_url.removeprefix("http://")), encoding="utf-8")
    return path


_STARTED: list[Child] = []
"""Every child started in this process: whatever a run left alive (it failed, or a test was interrupted) is
killed when the process exits, so no gateway outlives the run that started it (each is in its own session,
so the run's own exit would not reach it)."""


@atexit.register
def _kill_leftovers() -> None:
    for child in _STARTED:
        with contextlib.suppress(Exception):
            child.kill()


@dataclass
class Gateway:
    """`hisgraph serve` on a fixed port, database and secrets: killed and started again at will."""

    child: Child
    url: str
    kills: int = 0

    @classmethod
    def prepare(
        cls,
        folder: Path,
        *,
        registry: Path,
        database_url: str,
        merchant: dict[str, Any],
        session_secret: str,
        retry_scale: float,
        lease_s: float,
        public_url: str | None = None,
        name: str = "gateway",
        instance_of_many: bool = False,
    ) -> Gateway:
        """One gateway on a port of its own. `public_url` is where patients and WeChat reach it (the
        proxy in front of many instances; by default this gateway itself). `instance_of_many`: no
        migrations at start (`hisgraph migrate` ran once before)."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        public = public_url or url
        env = {
            "HISGRAPH_MODE": "dev",
            "HISGRAPH_DATABASE_URL": database_url,
            "HISGRAPH_PAYMENT_PROVIDER": "wechatpay",
            "HISGRAPH_WECHATPAY": json.dumps(merchant | {"notify_url": f"{public}/payments/notify"}),
            "HISGRAPH_PUBLIC_BASE_URL": public,
            "HISGRAPH_SESSION_SECRET": session_secret,
            "HISGRAPH_PAYMENT_RETRY_SCALE": str(retry_scale),
            "HISGRAPH_PAYMENT_WORKER_LEASE_S": str(lease_s),
            "HISGRAPH_REQUEST_DEADLINE_S": "10",
        }
        # One worker process: the run kills gateways, not uvicorn's supervisor (which, on a loaded machine,
        # replaces workers slow to answer its pings and so can take minutes to come up).
        args = [
            sys.executable, "-m", "api.cli", "--log-level", "WARNING", "--log-format", "text",
            "serve", "--config", str(registry), "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ]  # fmt: skip
        if instance_of_many:
            args.append("--no-migrate")
        return cls(Child(name, args, folder / f"{name}.log", env), url)

    async def start(self, *, timeout_s: float = STARTUP_TIMEOUT_S) -> float:
        """Start and wait until /readyz answers (migrations done, store reachable); seconds it took."""
        began = time.monotonic()
        self.child.start()
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < began + timeout_s:
                if not self.child.alive:
                    raise RuntimeError(f"{self.child.name} exited at start; see {self.child.log}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.child.name} was not ready within {timeout_s} s; see {self.child.log}")

    def kill(self) -> None:
        self.child.kill()
        self.kills += 1


def migrate(folder: Path, database_url: str) -> None:
    """`hisgraph migrate`, once, before any instance starts (instances then serve with --no-migrate)."""
    with (folder / "migrate.log").open("ab") as log:
        subprocess.run(  # the run's own child, waited for
            [sys.executable, "-m", "api.cli", "migrate", "--database-url", database_url],
            cwd=REPO,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=STARTUP_TIMEOUT_S,
        )


class RoundRobinProxy:
    """The load balancer: a TCP proxy on loopback handing each new connection to the next instance,
    skipping one that refuses the connection (killed, or not started again yet). A connection whose
    instance is killed under it is cut, as a real balancer's would be; the client tries again."""

    def __init__(self, backends: list[str]) -> None:
        self._backends: list[tuple[str, int]] = []
        self._next = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections: list[int] = []
        self.url = ""
        self.set_backends(backends)

    def set_backends(self, backends: list[str]) -> None:
        self._backends = [(url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1])) for url in backends]
        self.connections = [0] * len(backends)

    def reserve(self) -> str:
        """The proxy's URL before it starts (the gateways are configured with it first)."""
        self.url = f"http://127.0.0.1:{free_port()}"
        return self.url

    async def start(self) -> None:
        port = int(self.url.rsplit(":", 1)[1])
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for _ in range(len(self._backends) * 3):
            index = self._next % len(self._backends)
            self._next += 1
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(*self._backends[index]), timeout=2.0)
            except (OSError, TimeoutError):
                if self._next % len(self._backends) == 0:
                    await asyncio.sleep(0.1)  # every instance refused: one is starting again
                continue
            self.connections[index] += 1
            break
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer)),
            asyncio.create_task(self._pump(up_reader, writer)),
        ]
        for pump in pumps:
            self._tasks.add(pump)
            pump.add_done_callback(self._tasks.discard)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for stream in (writer, up_writer):
            stream.close()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass


async def create_postgres_database(server_url: str, name: str) -> str:
    """A new database `name` on the PostgreSQL server; its SQLAlchemy URL."""
    import asyncpg
    from sqlalchemy import make_url

    url = make_url(server_url)
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


async def drop_postgres_database(server_url: str, name: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    url = make_url(server_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
