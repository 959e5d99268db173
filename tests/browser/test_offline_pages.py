"""GraphiQL and the shims' docs in headless Chromium with no network (issue 12 item 2, issue 16 item 1).

The real gateway runs under uvicorn on a loopback port (dev mode, SQLite in tmp_path, the simulated region);
Debian's chromium, driven by Playwright, may reach that gateway and nothing else: every request to another
host is aborted by route interception, and recorded. The page must load, fetch the schema, show it in the docs
explorer and run a query, with no request leaving the gateway and no Content-Security-Policy violation.
A screenshot of each page is kept in the test's tmp dir.

Chromium comes from Debian (``make test`` installs ``chromium``), never from ``playwright install``. Missing,
the tests fail in CI (``CI`` set) and skip locally, saying why.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from api.app import create_app
from api.settings import Settings
from his_clients.registry import Registry

CHROMIUM = os.environ.get("HISGRAPH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _need_chromium() -> None:
    missing = []
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"no chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver; make test does)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("no playwright (pip install -e '.[dev]')")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture
def live_gateway(region: Registry, tmp_path: Path) -> Iterator[str]:
    """The gateway under uvicorn on a port-0 socket, in a thread of its own: its base URL."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        run_payment_worker=False,
    )
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.05)
        assert server.started, "the gateway did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


class Offline:
    """A Chromium page that reaches the gateway and nothing else, recording what it tried and what CSP refused."""

    def __init__(self, base_url: str) -> None:
        self.origin = urlsplit(base_url).netloc
        self.blocked: list[str] = []
        self.console_errors: list[str] = []


@pytest.fixture
async def offline_page(live_gateway: str) -> AsyncIterator[tuple[object, Offline]]:
    _need_chromium()
    from playwright.async_api import ConsoleMessage, Route, async_playwright

    state = Offline(live_gateway)

    async def only_the_gateway(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == state.origin:
            await route.continue_()
        else:
            state.blocked.append(url)
            await route.abort("internetdisconnected")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(service_workers="block")
            await context.route("**/*", only_the_gateway)
            page = await context.new_page()

            def console(message: ConsoleMessage) -> None:
                if message.type == "error":
                    state.console_errors.append(message.text)

            page.on("console", console)
            yield page, state
        finally:
            await browser.close()


async def test_graphiql_loads_shows_the_schema_and_runs_a_query_offline(
    offline_page: tuple[object, Offline], live_gateway: str, tmp_path: Path
) -> None:
    """issue 12 item 2: GraphiQL from the gateway alone: the page, the schema (introspection and the docs
    explorer) and a query's result, with every other host unreachable."""
    from playwright.async_api import Page, expect

    page, state = offline_page
    assert isinstance(page, Page)
    async with page.expect_response(
        lambda r: (
            r.url.endswith("/graphql") and r.request.method == "POST" and "__schema" in (r.request.post_data or "")
        )
    ) as introspection:
        response = await page.goto(f"{live_gateway}/graphql?q=%7B%20__typename%20%7D")
        assert response is not None
        assert response.status == 200
        assert "script-src 'self'" in response.headers["content-security-policy"]
    schema_reply = await (await introspection.value).json()
    assert "errors" not in schema_reply, schema_reply
    assert schema_reply["data"]["__schema"]["queryType"]["name"] == "Query"

    # The docs explorer shows the schema's root types.
    await page.get_by_role("button", name="Show Documentation Explorer").click()
    await expect(page.locator(".graphiql-doc-explorer")).to_contain_text("Query", timeout=30_000)

    # The query runs, and its result appears.
    await page.locator(".graphiql-execute-button").click()
    await expect(page.locator(".result-window")).to_contain_text('"__typename": "Query"', timeout=30_000)

    await page.screenshot(path=str(tmp_path / "graphiql.png"))
    assert state.blocked == [], "GraphiQL reached for another host"
    assert not [e for e in state.console_errors if "Content Security Policy" in e], state.console_errors

    # The assets are cached for a year under versioned URLs.
    asset = await page.request.get(f"{live_gateway}/graphql/static/graphiql.min.js")
    assert asset.status == 200
    assert "immutable" in asset.headers["cache-control"]
    assert (await page.request.get(f"{live_gateway}/graphql/static/..%2Fgraphiql.py")).status == 404


async def test_the_shims_docs_page_loads_offline(
    offline_page: tuple[object, Offline], live_gateway: str, tmp_path: Path
) -> None:
    """issue 16 item 1: /prefront/docs renders in the browser with no other host reachable."""
    from playwright.async_api import Page, expect

    page, state = offline_page
    assert isinstance(page, Page)
    response = await page.goto(f"{live_gateway}/prefront/docs")
    assert response is not None
    assert response.status == 200
    await expect(page.locator("h1")).to_contain_text("前置机接口")
    await expect(page.locator("body")).to_contain_text("/prefront/patient/genCard")
    await page.screenshot(path=str(tmp_path / "prefront-docs.png"), full_page=False)
    assert state.blocked == []
    assert not [e for e in state.console_errors if "Content Security Policy" in e], state.console_errors
