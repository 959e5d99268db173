"""Running the simulator: blocking (`serve`) or in a background thread (`start_in_thread`)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette

from simulator.app import create_simulator_app

STARTUP_TIMEOUT_S = 10.0


def serve(*, host: str, port: int, seed: int = 7) -> None:
    """Serve the default region (253-255 standalone, 256/257 regional) over HTTP and SOAP until interrupted.

    Port 0 takes any free port; the line printed at start names the one taken.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    base = f"http://{host}:{sock.getsockname()[1]}"
    print(f"simulated region on {base}", flush=True)
    print(
        f"  WebService: {base}/soap/methods/his/<id>?wsdl (per_method), {base}/soap/dispatch/his/<id>?wsdl"
        " (dispatch); /regional for the regional endpoint",
        flush=True,
    )
    config = uvicorn.Config(create_simulator_app(seed=seed), log_level="warning")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


@dataclass
class RunningSimulator:
    """A simulator serving in a background thread; `stop()` shuts it down."""

    app: Starlette
    host: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def start_in_thread(*, host: str = "127.0.0.1", port: int = 0, **app_kwargs: Any) -> RunningSimulator:
    """Start uvicorn on `port` (0: any free port) in a daemon thread and wait until it listens."""
    app = create_simulator_app(**app_kwargs)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)

    def run() -> None:
        asyncio.run(server.serve())

    thread = threading.Thread(target=run, name=f"simulator-{host}:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("simulator did not start")
        time.sleep(0.01)
    bound_port = port
    for listener in server.servers:
        for sock in listener.sockets:
            bound_port = sock.getsockname()[1]
            break
    return RunningSimulator(app=app, host=host, port=bound_port, _server=server, _thread=thread)
