"""Fixtures shared by the whole suite: a simulated region on a loopback port, and the gateway in front of it.

Servers bind port 0 and databases get names of their own, so two runs on one machine never collide.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from api.app import create_app
from api.demo import simulated_region
from api.logs import masked_handler
from api.settings import Settings
from his_clients.registry import Registry
from services.identity.principal import PatientPrincipal
from simulator.server import RunningSimulator, start_in_thread

# Property tests: `dev` (the default) explores afresh at every run; `ci` is derandomized (the same examples on
# every run, so a red build is reproducible) with no per-example deadline (shared runners stall). `CI` in the
# environment picks `ci`; HYPOTHESIS_PROFILE names a profile outright.
hypothesis_settings.register_profile("dev", max_examples=100, deadline=None)
hypothesis_settings.register_profile(
    "ci",
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

# The loop-lag guard (api/overload.py) is on in production mode. Here the test, the gateway and (through the GIL) the
# simulator share one loop, and a test's own blocking admin call stalls it: that lag is the test's, not a saturated
# gateway's. Off for every Settings a test builds, unless the test sets it (tests/security/test_overload.py does).
os.environ.setdefault("HISGRAPH_OVERLOAD_MAX_LAG_MS", "0")

RUN_LOG = Path(os.environ.get("HISGRAPH_TEST_LOG", Path(tempfile.gettempdir()) / f"hisgraph-test-{os.getpid()}.log"))


@pytest.fixture(scope="session", autouse=True)
def run_log() -> Iterator[Path]:
    """Every log record of the whole run, through the gateway's own masking handler, into one file.

    ``pytest_sessionfinish`` below scans it for ID-card and mobile numbers once every test has run.
    """
    root = logging.getLogger()
    with RUN_LOG.open("w", encoding="utf-8") as stream:
        handler = masked_handler(stream)
        handler.setLevel(logging.DEBUG)
        previous = root.level
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield RUN_LOG
        finally:
            root.removeHandler(handler)
            root.setLevel(previous)


ID_CARD_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE_NUMBER = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


HEX_IDENTIFIER = re.compile(r"(?<![0-9A-Za-z])(?=[0-9]*[a-f])[0-9a-f]{16,}(?![0-9A-Za-z])")
"""A trace or span id (32 or 16 lowercase hex, api/logs.py): its digits may run like a mobile number."""


def personal_numbers(text: str) -> list[str]:
    """Every full ID-card or mobile number in ``text`` (not digits inside a hex trace/span id)."""
    text = HEX_IDENTIFIER.sub("-", text)
    return [m.group(0) for m in ID_CARD_NUMBER.finditer(text)] + [m.group(0) for m in MOBILE_NUMBER.finditer(text)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The whole run's log holds no personal number, whichever tests ran and in whatever order: a leak fails the run."""
    if not RUN_LOG.exists():
        return
    leaks = personal_numbers(RUN_LOG.read_text(encoding="utf-8"))
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"the run's log ({RUN_LOG}) holds {len(leaks)} unmasked personal numbers, e.g. {leaks[0][:4]}..."
        if reporter is not None:
            reporter.write_line(f"LOG LEAK: {message}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def free_port() -> int:
    """A loopback port free right now, for a test that starts `hisgraph serve` in another process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    running = start_in_thread(host="127.0.0.1", port=0)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def sim_admin(simulator: RunningSimulator) -> Iterator[httpx.Client]:
    """The simulator's admin API; faults, the call record and the hospitals' data are reset after each test."""
    with httpx.Client(base_url=simulator.base_url, timeout=30.0) as client:
        client.delete("/admin/faults")
        client.delete("/admin/calls")
        try:
            yield client
        finally:
            client.delete("/admin/faults")
            client.delete("/admin/calls")
            # Payments, bookings and recharges change the simulated hospitals: the next test starts afresh.
            client.post("/admin/reset")


def inject(admin: httpx.Client, **fault: Any) -> None:
    response = admin.post("/admin/faults", json=fault)
    response.raise_for_status()


def calls(admin: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    response = admin.get("/admin/calls", params=filters)
    response.raise_for_status()
    result: list[dict[str, Any]] = response.json()
    return result


@pytest.fixture
def region(simulator: RunningSimulator) -> Registry:
    return simulated_region(simulator.base_url, timeout_s=2.0)


DEMO_CARD = "001000056254587"
DEMO_ID_NUMBER = "370102197907025236"


async def sign_in_patient(app: Any, *, openid: str = "test:patient", cards: tuple[str, ...] = (DEMO_CARD,)) -> str:
    """A session token for an account holding ``cards`` (granted directly: the proofs have tests of their own)."""
    services = app.state.services
    account = await services.accounts.account_for(openid=openid)
    for card in cards:
        await services.accounts.grant(
            account_id=account.id,
            medical_card_number=card,
            hospital_id=None,
            how="created",
            id_card_number=DEMO_ID_NUMBER,
        )
    token: str = services.sessions.issue(PatientPrincipal(account_id=account.id))
    return token


def sign_in_operator(client: httpx.AsyncClient, *, role: str = "region", hospital_id: str | None = None) -> None:
    """Switch a test client to an operator's session: an operator ``test.<role>.<hospital>`` (made if missing)
    with a stored session of theirs (issue 15 item 10).

    This helper is synchronous and the store is not: the operator and session are written by a request hook,
    on the loop, just before the client's next request, which then carries the session's token."""
    app = client._transport.app  # type: ignore[attr-defined]
    services = app.state.services
    placeholder = f"Bearer operator-sign-in-{role}-{hospital_id or 'all'}-{id(client)}"
    token: list[str] = []

    async def start(request: httpx.Request) -> None:
        if request.headers.get("authorization") != placeholder:
            return  # the test switched to another session since
        if not token:
            from sqlalchemy import select

            from store.accounts import Operator

            username = f"test.{role}.{hospital_id or 'all'}"
            async with services.db.session() as session:
                operator = await session.scalar(select(Operator).where(Operator.username == username))
                if operator is None:
                    operator = Operator(username=username, password_hash="none", role=role, hospital_id=hospital_id)
                    session.add(operator)
                    await session.flush()
                principal, _ = services.operators.sessions.start(session, operator)
            token.append(f"Bearer {services.sessions.issue(principal)}")
        request.headers["Authorization"] = token[0]
        if client.headers.get("Authorization") == placeholder:
            client.headers["Authorization"] = token[0]

    client.event_hooks["request"] = [
        hook for hook in client.event_hooks["request"] if not getattr(hook, "operator_sign_in", False)
    ] + [start]
    start.operator_sign_in = True  # type: ignore[attr-defined]
    client.headers["Authorization"] = placeholder


def subject_of(client: httpx.AsyncClient) -> str:
    """The principal subject of the session a test client is signed in with."""
    app = client._transport.app  # type: ignore[attr-defined]
    token = client.headers["Authorization"].removeprefix("Bearer ")
    principal = app.state.services.sessions.read(token)
    assert principal is not None
    subject: str = principal.subject
    return subject


@contextlib.asynccontextmanager
async def running_gateway(settings: Settings, *, signed_in: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app with its lifespan (migrations, clients), spoken to over httpx.

    By default the client is signed in as a patient account holding the spec's example card.
    """
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30.0) as client:
            if signed_in:
                client.headers["Authorization"] = f"Bearer {await sign_in_patient(app)}"
            yield client


@pytest.fixture
def saved_garbage() -> Iterator[list[Any]]:
    """What the collector finds unreachable from here on, kept for the test to look at (gc.DEBUG_SAVEALL)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.fixture
async def gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        # Well above the hospitals' own 2 s timeout: a hanging hospital is cut by its timeout, and on a loaded
        # machine a wide fan-out is not cut by the request's deadline in our own stalled loop (GATEWAY_BUSY).
        request_deadline_s=5.0,
    )
    async with running_gateway(settings) as client:
        yield client


async def run_graphql(gateway: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """POST one operation to /graphql; the decoded body (data and errors)."""
    response = await gateway.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text[:500]
    body: dict[str, Any] = response.json()
    return body
