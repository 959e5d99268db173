"""The chaos run's processes: the simulated region, the WeChat Pay provider, and the gateway it kills.

Each is a child process of the run, with its output in a log file of the run's folder. The simulator
and the provider start once and outlive every gateway; the gateway is killed with SIGKILL and started
again on the same database, port and secrets, so sessions, notifications and jobs carry over.
"""

from __future__ import annotations

import asyncio
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
        """SIGKILL: no shutdown hooks, no flushing, exactly like a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
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
    """The shipped example registry, pointed at this run's simulator."""
    example = (REPO / "hospitals.example.toml").read_text(encoding="utf-8")
    path = folder / "hospitals.toml"
    path.write_text(example.replace("127.0.0.1:9100", simulator_url.removeprefix("http://")), encoding="utf-8")
    return path


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
    ) -> Gateway:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "HISGRAPH_MODE": "dev",
            "HISGRAPH_DATABASE_URL": database_url,
            "HISGRAPH_PAYMENT_PROVIDER": "wechatpay",
            "HISGRAPH_WECHATPAY": json.dumps(merchant | {"notify_url": f"{url}/payments/notify"}),
            "HISGRAPH_PUBLIC_BASE_URL": url,
            "HISGRAPH_SESSION_SECRET": session_secret,
            "HISGRAPH_PAYMENT_RETRY_SCALE": str(retry_scale),
            "HISGRAPH_PAYMENT_WORKER_LEASE_S": str(lease_s),
            "HISGRAPH_REQUEST_DEADLINE_S": "10",
        }
        args = [
            sys.executable, "-m", "api.cli", "--log-level", "WARNING", "--log-format", "text",
            "serve", "--config", str(registry), "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
        return cls(Child("gateway", args, folder / "gateway.log", env), url)

    async def start(self, *, timeout_s: float = STARTUP_TIMEOUT_S) -> float:
        """Start and wait until /readyz answers (migrations done, store reachable); seconds it took."""
        began = time.monotonic()
        self.child.start()
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < began + timeout_s:
                if not self.child.alive:
                    raise RuntimeError(f"the gateway exited at start; see {self.child.log}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return time.monotonic() - began
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the gateway was not ready within {timeout_s} s; see {self.child.log}")

    def kill(self) -> None:
        self.child.kill()
        self.kills += 1
