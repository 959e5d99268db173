"""/metrics on its own port (issue 14, "Metrics": the demo serves it on its own port; in production it is off
the public port or protected, as configured), and the in-memory size gauges (APQ, HIS cache, rate limits).

The first two tests start the real server (`hisgraph demo`, `hisgraph serve --workers 2`) and scrape both ports.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.demo import DEMO_HOW_TO, SAMPLE_QUERIES, SIGN_IN
from api.persisted_queries import sha256_of
from his_clients.registry import Registry
from simulator.server import RunningSimulator
from tests.conftest import free_port, inject, running_gateway
from tests.observability.test_metrics_and_traces import PRODUCTION, sample, settings_for

ROOT = Path(__file__).resolve().parents[2]
PENDING_BILLS = SAMPLE_QUERIES[0][1]  # five hospitals
TODAY = next(query for title, query in SAMPLE_QUERIES if title.startswith("Today's departments"))
HOSPITALS = ("253", "254", "255", "256", "257")


def hisgraph(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`hisgraph demo` on free ports, with what it printed until its banner (stdout and stderr together)."""
    process = subprocess.Popen(
        hisgraph("demo", "--port", "0", "--metrics-port", "0", "--data-dir", str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    printed: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:  # until the banner's metrics line
            printed.append(line)
            if line.startswith("  metrics:"):
                break
        yield process, printed
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _wait_for(url: str, process: subprocess.Popen[str]) -> None:
    """Until the server answers (it starts right after printing); not a timing assertion."""
    for _ in range(600):
        assert process.poll() is None, "the server exited"
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered at {url}")


def test_the_demo_serves_metrics_on_its_own_port(demo: tuple[subprocess.Popen[str], list[str]]) -> None:
    """issue 14: the demo's banner names a metrics URL on a port of its own; after the sample queries it has
    every hospital's series; the main port has no /metrics and the metrics port serves nothing else; the banner
    stays the last thing printed."""
    process, printed = demo
    text = "".join(printed)
    graphql = re.search(r"GraphiQL: (http://\S+/graphql)", text)
    metrics = re.search(r"metrics:  (http://\S+/metrics)", text)
    assert graphql, text
    assert metrics, text
    graphql_url, metrics_url = graphql.group(1), metrics.group(1)
    main_base, metrics_base = graphql_url.removesuffix("/graphql"), metrics_url.removesuffix("/metrics")
    assert main_base != metrics_base
    _wait_for(f"{main_base}/healthz", process)
    token = httpx.post(graphql_url, json={"query": SIGN_IN}, timeout=30).json()["data"]["logInForDevelopment"]["token"]
    for _title, query in SAMPLE_QUERIES:
        reply = httpx.post(graphql_url, json={"query": query}, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert reply.status_code == 200
    scraped = httpx.get(metrics_url, timeout=30)
    on_main = httpx.get(f"{main_base}/metrics", timeout=30)
    graphql_on_metrics = httpx.post(f"{metrics_base}/graphql", json={"query": "{ __typename }"}, timeout=30)
    process.send_signal(signal.SIGINT)  # as Ctrl-C at the terminal
    rest, _ = process.communicate(timeout=60)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    for hospital in HOSPITALS:
        count = sample(
            scraped.text, "his_call_seconds_count", hospital=hospital, method="hospital.interface.queryWaitPay"
        )
        assert count is not None, hospital
        assert count >= 1, hospital
    assert (sample(scraped.text, "graphql_operation_seconds_count", operation="PendingBills") or 0) >= 1
    assert sample(scraped.text, "apq_cache_entries") is not None
    assert on_main.status_code == 404
    assert graphql_on_metrics.status_code == 404
    # Whatever came after (schedule uploads, shutdown), the last thing on screen is the banner, naming the port.
    screen = (text + rest).rstrip()
    last_banner = screen[screen.rindex("\nhisgraph demo\n") :]
    assert metrics_url in last_banner
    assert last_banner.endswith(DEMO_HOW_TO.rstrip()), screen[-1500:]


def _registry_toml(simulator: RunningSimulator, hospitals: tuple[str, ...]) -> str:
    base = simulator.base_url.rstrip("/")
    return "".join(
        f'[[hospitals]]\nid = "{h}"\nname = "医院{h}"\nregion = "济南市"\n'
        f'base_url = "{base}/his/{h}"\ntimeout_s = 5.0\n\n'
        for h in hospitals
    )


def _serve(tmp_path: Path, simulator: RunningSimulator, port: int, *extra: str, **env: str) -> subprocess.Popen[str]:
    registry = tmp_path / "hospitals.toml"
    registry.write_text(_registry_toml(simulator, ("253", "254")), encoding="utf-8")
    settings = {f"HISGRAPH_{name.upper()}": str(value) for name, value in PRODUCTION.items()}
    given = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("HISGRAPH_", "PROMETHEUS_"))},
        **settings,
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}",
        "HISGRAPH_RUN_JOBS": "false",
        "HISGRAPH_RUN_PAYMENT_WORKER": "false",
        "HISGRAPH_OVERLOAD_MAX_LAG_MS": "0",  # a loaded test machine's loop lag is not what this test sees
        **env,
    }
    return subprocess.Popen(
        hisgraph("--log-level", "INFO", "serve", "--config", str(registry), "--port", str(port), *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=given,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output or ""


def test_production_serves_metrics_on_the_metrics_port_only(
    tmp_path: Path, simulator: RunningSimulator, sim_admin: httpx.Client
) -> None:
    """issue 14: production with a metrics port (`serve --workers 2 --metrics-port`): the public port answers no
    /metrics, the metrics port answers them (every worker's, with the APQ size) and nothing else."""
    port, metrics_port = free_port(), free_port()
    process = _serve(tmp_path, simulator, port, "--workers", "2", "--metrics-port", str(metrics_port))
    main, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
    try:
        _wait_for(f"{main}/healthz", process)
        apq = {"query": TODAY.replace("253,256", "253,254"), "extensions": {}}
        apq["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(str(apq["query"]))}}
        for _ in range(4):  # new connections: both workers serve some
            reply = httpx.post(f"{main}/graphql", json=apq, timeout=60)
            assert reply.status_code == 200, reply.text[:300]
        public = httpx.get(f"{main}/metrics", timeout=30)
        graphql_on_metrics = httpx.post(f"{metrics}/graphql", json={"query": "{ __typename }"}, timeout=30)
        scrapes = []
        # Each worker sets its size gauges when it answers a scrape and every 5 s, and writes the request path's
        # counts every FLUSH_EVERY_S (api/metrics.py): the other worker's show up within those.
        for _ in range(100):
            scrapes.append(httpx.get(f"{metrics}/metrics", timeout=30))
            text = scrapes[-1].text
            operations = sample(text, "graphql_operation_seconds_count", operation="TodayRegistration")
            if (sample(text, "apq_cache_entries") or 0) >= 1 and operations == 4.0:
                break
            time.sleep(0.2)
    finally:
        output = _stop(process)
    assert f"metrics on http://127.0.0.1:{metrics_port}/metrics" in output
    assert public.status_code == 404
    assert graphql_on_metrics.status_code == 404
    text = scrapes[-1].text
    assert scrapes[-1].status_code == 200, output[-2000:]
    assert (sample(text, "apq_cache_entries") or 0) >= 1, output[-2000:]
    assert sample(text, "graphql_operation_seconds_count", operation="TodayRegistration") == 4.0
    for hospital in ("253", "254"):
        count = sample(
            text, "his_call_seconds_count", hospital=hospital, method="hospital.interface.todayRegisterGetDepts"
        )
        assert count is not None, hospital
        assert sample(text, "his_cache_lookups_total", hospital=hospital, method=_DEPTS, result="hit") is not None


_DEPTS = "hospital.interface.todayRegisterGetDepts"


async def test_a_protected_metrics_port_needs_the_token(region: Registry, tmp_path: Path) -> None:
    """issue 14: protected and on its own port: the token is needed there too; the main port has none."""
    token = "m" * 24
    given = {**PRODUCTION, "metrics": "protected", "metrics_token": token, "metrics_port": 9464}
    async with running_gateway(settings_for(region, tmp_path, **given), signed_in=False) as gateway:
        on_port = "http://gateway.internal:9464/metrics"  # the ASGI scope's server port is the URL's
        anonymous = await gateway.get(on_port)
        right = await gateway.get(on_port, headers={"Authorization": f"Bearer {token}"})
        on_main = await gateway.get(
            "http://gateway.internal:8000/metrics", headers={"Authorization": f"Bearer {token}"}
        )
    assert anonymous.status_code == 401
    assert right.status_code == 200
    assert "his_call_seconds" in right.text
    assert on_main.status_code == 404


async def test_the_size_gauges_count_what_is_held(region: Registry, tmp_path: Path) -> None:
    """issue 14 ("APQ/cache sizes"): persisted queries kept, HIS reference replies cached and rate-limit
    buckets, as this process holds them, read when scraped."""
    given = {**PRODUCTION, "metrics": "public"}
    async with running_gateway(settings_for(region, tmp_path, **given), signed_in=False) as gateway:
        for n in range(3):
            query = f"query Apq{n} {{ __typename }}"
            extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query)}}
            reply = await gateway.post("/graphql", json={"query": query, "extensions": extensions})
            assert reply.status_code == 200, reply.text[:300]
        await gateway.post("/graphql", json={"query": TODAY})
        text = (await gateway.get("/metrics")).text
    assert sample(text, "apq_cache_entries") == 3.0
    assert (sample(text, "his_cache_entries") or 0) >= 2  # departments at 253 and 256, at least
    assert (sample(text, "rate_limit_buckets") or 0) >= 1  # production limits per address


async def test_a_hospitals_own_codes_do_not_grow_the_series(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> None:
    """issue 13 item 4 (label cardinality): a refusal with a code outside 附四 counts as code="other"."""
    method = "hospital.interface.queryWaitPay"
    async with running_gateway(settings_for(region, tmp_path)) as gateway:
        for code in ("X-1", "X-2", "77777"):
            inject(sim_admin, hospitalId="253", method=method, kind="code", code=code)
            await gateway.post("/graphql", json={"query": PENDING_BILLS})
            sim_admin.delete("/admin/faults")
        text = (await gateway.get("/metrics")).text
    # As label values (a timestamp of another series may hold the digits 77777).
    assert '"X-1"' not in text
    assert '"X-2"' not in text
    assert '"77777"' not in text
    assert (sample(text, "his_calls_total", hospital="253", method=method, code="other", kind="rejected") or 0) >= 3


async def test_a_regional_call_counts_under_its_endpoint(region: Registry, tmp_path: Path) -> None:
    """issue 13 item 4 (label cardinality): one call for several hospitals behind a regional endpoint, in
    whatever order a patient lists them, counts under the endpoint's id, never under the list."""
    method = "hospital.interface.laboratoryReport"
    async with running_gateway(settings_for(region, tmp_path)) as gateway:
        for hospitals in ("256,257", "257,256"):
            query = (
                'query Labs { patient(medicalCardNumber: "001000056254587") '
                f'{{ labReports(hospitalId: "{hospitals}") {{ hospitalId }} }} }}'
            )
            reply = await gateway.post("/graphql", json={"query": query})
            assert reply.status_code == 200
        text = (await gateway.get("/metrics")).text
    assert "256,257" not in text
    assert "257,256" not in text
    assert (sample(text, "his_call_seconds_count", hospital="pingyin", method=method) or 0) >= 2
