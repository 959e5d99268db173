"""The WSDL's soap:address is where the server is reached, not a fixed port 8000 (issue 14).

Served by uvicorn on a free port (no public_base_url): zeep reads the WSDL and its call reaches that port.
Over the ASGI transport: a configured public_base_url wins; X-Forwarded-Host/-Proto count only from a
trusted proxy; a Host header that is not a plain host[:port] is not repeated.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
import zeep

from api.app import create_app
from api.settings import Settings
from api.webservice import PATH
from his_clients.registry import Registry
from tests.conftest import running_gateway

LOCATION = re.compile(r'<soap:address location="([^"]*)"')


def location(wsdl: str) -> str:
    found = LOCATION.search(wsdl)
    assert found, wsdl[:300]
    return found.group(1)


@pytest.fixture
def served_without_public_url(region: Registry, tmp_path: Path) -> Iterator[str]:
    """The gateway on a free loopback port, public_base_url left unset."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'wsdl.sqlite3'}", registry=region)
    assert "public_base_url" not in settings.model_fields_set
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(create_app(settings), lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="wsdl-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("gateway did not start")
        time.sleep(0.02)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def test_the_wsdl_names_the_port_the_server_runs_on(served_without_public_url: str) -> None:
    """issue 14: the WSDL advertises the port the server was reached at, and a client built from it calls
    that server (not 127.0.0.1:8000)."""
    base = served_without_public_url
    assert location(httpx.get(f"{base}{PATH}?wsdl").text) == f"{base}{PATH}"
    client = zeep.Client(f"{base}{PATH}?wsdl")
    reply = json.loads(client.service.getPatientInfo(param=json.dumps({"medicalCardNumber": ""})))
    assert reply["success"] is False  # answered by this server (a refusal of the empty card), not unreachable


async def wsdl_location(settings: Settings, **headers: str) -> str:
    async with running_gateway(settings, signed_in=False) as client:
        response = await client.get(f"{PATH}?wsdl", headers=headers)
    assert response.status_code == 200
    return location(response.text)


async def test_a_configured_public_base_url_wins(region: Registry, tmp_path: Path) -> None:
    """issue 14: with public_base_url set, the WSDL gives it whatever Host the request carried."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.sqlite3'}",
        registry=region,
        public_base_url="https://his.example.cn/gw",
    )
    assert await wsdl_location(settings, host="elsewhere:9999") == f"https://his.example.cn/gw{PATH}"


async def test_forwarded_host_counts_only_from_a_trusted_proxy(region: Registry, tmp_path: Path) -> None:
    """issue 14 (and issue 10 item 6): X-Forwarded-Host/-Proto from an untrusted peer change nothing; from a
    trusted proxy (the ASGI test peer 127.0.0.1) they give the public address."""
    forwarded = {"host": "10.0.0.5:8080", "x-forwarded-host": "his.example.cn", "x-forwarded-proto": "https"}
    untrusted = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'u.sqlite3'}", registry=region)
    assert await wsdl_location(untrusted, **forwarded) == f"http://10.0.0.5:8080{PATH}"
    trusted = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 't.sqlite3'}", registry=region, trusted_proxies=("127.0.0.1",)
    )
    assert await wsdl_location(trusted, **forwarded) == f"https://his.example.cn{PATH}"


@pytest.mark.parametrize("host", ['evil"/><x a="', "a b", "host/path", ""])
async def test_a_host_header_that_is_no_host_is_not_repeated(region: Registry, tmp_path: Path, host: str) -> None:
    """issue 14: a Host that is not host[:port] falls back to public_base_url; nothing is injected into the WSDL."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}", registry=region)
    assert await wsdl_location(settings, host=host) == f"{settings.public_base_url}{PATH}"
