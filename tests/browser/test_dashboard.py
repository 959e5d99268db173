"""The operators' dashboard page in headless Chromium with no network (issue 15, "the page").

The real gateway runs under uvicorn on a loopback port-0 socket, in the test's own event loop, so the data the
page shows is made through the gateway's real services beside it: paid orders at the simulated hospital 253 (one
of them parked, as the worker parks it), job runs of 12.1.1 with the messages they queue, a call a hospital made
to a shim, and operators with passwords. Debian's chromium, driven by Playwright, may reach that gateway and
nothing else (every other host is aborted and recorded), and no Content-Security-Policy violation may happen.

One browser serves the module; each test opens a context of its own (its own sessionStorage). Screenshots are
kept as the run's artefacts in var/test-artefacts/ (``HISGRAPH_TEST_ARTEFACTS`` names another directory, which CI
may collect); ``HISGRAPH_DASHBOARD_SCREENSHOT=docs/dashboard.png`` also writes the README's one.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.demo import simulated_region
from api.settings import Settings
from services.jobs import JobScheduler, JobsConfig, JobSpec
from services.payments.clock import CHINA_TIME, ManualClock
from simulator.server import RunningSimulator
from store.orders import OrderRepository, OrderState
from tests.browser.test_offline_pages import CHROMIUM, CHROMIUM_ARGS, _need_chromium
from tests.graph.test_operator_console import HOSPITAL, paid_order, park

PASSWORD = "correct horse battery staple"
REGION_OPERATOR = "region.admin"
HOSPITAL_OPERATOR = "hospital.253"
LEAVING = "leaving.colleague"
FORGETFUL = "forgot.password"
MARKUP = "<img src=x onerror=window.__xss=1>"
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}


def artefact(name: str) -> str:
    """Where a screenshot is kept after the run (a test artefact), its directory made."""
    directory = Path(os.environ.get("HISGRAPH_TEST_ARTEFACTS") or Path(__file__).parents[2] / "var" / "test-artefacts")
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory / name)


def assert_png(path: str) -> None:
    with open(path, "rb") as kept:
        assert kept.read(8) == b"\x89PNG\r\n\x1a\n", path


@dataclass
class Dashboard:
    base_url: str
    client: httpx.AsyncClient
    parked: str
    paid: str
    shim_path: str


@pytest.fixture(scope="module")
async def dashboard(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dashboard]:
    """The gateway under uvicorn (dev mode, SQLite, the simulated region, payment worker off) and its data."""
    path = tmp_path_factory.mktemp("dashboard")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{path / 'gateway.sqlite3'}",
        registry=simulated_region(simulator.base_url, timeout_s=10.0),
        request_deadline_s=30.0,
        run_payment_worker=False,
    )
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(600):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the gateway did not start"
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, timeout=30) as client:
            yield await made_data(client, base_url)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=30)
        sock.close()
        httpx.post(f"{simulator.base_url}/admin/reset").raise_for_status()


async def made_data(client: httpx.AsyncClient, base_url: str) -> Dashboard:
    services = client._transport.app.state.services  # type: ignore[attr-defined]
    for username, role, hospital in (
        (REGION_OPERATOR, "region", None),
        (HOSPITAL_OPERATOR, "hospital", HOSPITAL),
        (LEAVING, "hospital", "254"),
        (FORGETFUL, "hospital", "255"),
    ):
        await services.operators.create(username=username, password=PASSWORD, role=role, hospital_id=hospital)
    parked = await paid_order(client)
    await park(client, parked)
    paid = await paid_order(client)
    # 12.1.1 bill notices for two hospitals: job runs, and the messages they queue.
    clock = ManualClock(datetime.now(UTC).replace(hour=0, minute=30, second=0, microsecond=0) - timedelta(days=1))
    jobs = JobsConfig(jobs=(JobSpec(name="bills", task="12.1.1", at=time(8, 0), hospitals=("253", "254")),))
    scheduler = JobScheduler(
        db=services.db, his=services.his, config=jobs, survey_links=services.surveys.links, clock=clock
    )
    await scheduler.tick()
    clock.advance(timedelta(days=1))
    await scheduler.tick()
    # A hospital asks about a payment (14.1.x through the shim): recorded in the inbound ledger.
    shim_path = "/prefront/reconciliation/paymentRecord"
    body = json.dumps({"hospitalId": HOSPITAL, "outTradeNo": paid}).encode()
    assert (await client.post(shim_path, content=body)).status_code == 200
    # A call whose body carries markup: the page shows it as text, never as HTML.
    hostile = json.dumps({"hospitalId": HOSPITAL, "outTradeNo": MARKUP}).encode()
    assert (await client.post(shim_path, content=hostile)).status_code == 200
    return Dashboard(base_url=base_url, client=client, parked=parked, paid=paid, shim_path=shim_path)


@dataclass
class Watch:
    origin: str
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.blocked == [], "the dashboard reached for another host"
        assert not [e for e in self.console_errors if "Content Security Policy" in e], self.console_errors


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    _need_chromium()
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=30_000)  # a loaded machine: what the page shows is asserted, not how soon
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Any, dashboard: Dashboard) -> AsyncIterator[tuple[Any, Watch]]:
    """A fresh context (no session) that reaches the gateway and nothing else."""
    from playwright.async_api import ConsoleMessage, Route

    watch = Watch(urlsplit(dashboard.base_url).netloc)

    async def only_the_gateway(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("data", "blob") or url.netloc == watch.origin:
            await route.continue_()
        else:
            watch.blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    context = await browser.new_context(service_workers="block", viewport=LAPTOP, locale="zh-CN")
    context.set_default_timeout(30_000)
    try:
        await context.route("**/*", only_the_gateway)
        opened = await context.new_page()

        def console(message: ConsoleMessage) -> None:
            if message.type == "error":
                watch.console_errors.append(message.text)

        opened.on("console", console)
        yield opened, watch
    finally:
        await context.close()


async def sign_in(page: Any, base_url: str, username: str, password: str = PASSWORD) -> None:
    from playwright.async_api import expect

    response = await page.goto(f"{base_url}/dashboard")
    assert response is not None
    assert response.status == 200
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page.get_by_test_id("who")).to_contain_text(username)


async def open_view(page: Any, title: str) -> Any:
    """Click the view's link and wait until that view is drawn. The shell is redrawn with the link marked current
    as soon as the view starts (``aria-current``), so the wait cannot end on the previous view's finished content;
    a click the page did not take (seen once in CI: the previous view stayed for 30 s) is given again."""
    from playwright.async_api import expect

    link = page.get_by_role("navigation").get_by_role("link", name=title, exact=True)
    current = page.locator("nav a[aria-current='page']")
    for attempt in range(3):
        await link.click()
        try:
            await expect(current).to_have_text(title, timeout=10_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    content = page.locator("main.content")
    await expect(content).to_have_attribute("aria-busy", "false")
    return content


async def fits(page: Any) -> bool:
    """Nothing wider than the window: the page scrolls down, never sideways (wide tables scroll in their box)."""
    width: bool = await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    return width


async def test_the_page_is_served_with_a_strict_policy(dashboard: Dashboard) -> None:
    """issue 15, the page: /dashboard and its assets come from the gateway alone, never in a frame, no inline
    script; a name outside the asset list is 404 (no path from the request is ever read)."""
    async with httpx.AsyncClient(base_url=dashboard.base_url) as http:
        page = await http.get("/dashboard")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        for directive in ("default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"):
            assert directive in policy
        assert "unsafe-inline" not in policy
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in page.text  # the only script is the module named by its URL
        asset = await http.get("/dashboard/static/main.js")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith("text/javascript")
        again = await http.get("/dashboard/static/main.js", headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304
        for name in ("..%2Fdashboard.py", "nothing.js", "%2E%2E%2F%2E%2E%2Fsettings.py"):
            assert (await http.get(f"/dashboard/static/{name}")).status_code == 404


async def test_a_region_operator_signs_in_and_every_view_shows_the_region(
    page: tuple[Any, Watch], dashboard: Dashboard, browser: Any
) -> None:
    """issue 15, the page: sign-in with logInOperator (the token in sessionStorage only); the region at a glance;
    parked orders, reconciliation by day, statistics, messages, inbound calls (a hospital's markup shown as text,
    never run), jobs, the audit log and operators (a colleague disabled) each rendered from the simulator's data;
    it fits a laptop and a tablet; screenshots kept."""
    from playwright.async_api import expect

    browser_page, watch = page
    screenshots = [artefact(f"dashboard-{name}.png") for name in ("home", "statistics", "messages", "tablet")]
    for kept in screenshots:
        Path(kept).unlink(missing_ok=True)  # this run's, not an earlier one's
    await sign_in(browser_page, dashboard.base_url, REGION_OPERATOR)
    stored = await browser_page.evaluate("[sessionStorage.length, localStorage.length, document.cookie]")
    assert stored == [1, 0, ""]

    home = browser_page.locator("main.content")
    await expect(home).to_have_attribute("aria-busy", "false")
    glance = browser_page.get_by_test_id("glance")
    await expect(glance).to_contain_text("今日支付金额")
    await expect(glance.locator(".stat.bad", has_text="待人工处理订单")).to_be_visible()  # not zero
    await expect(home).to_contain_text("医院健康状况")
    for hospital in ("253", "254", "255"):
        await expect(home.locator("table").first).to_contain_text(f"({hospital})")
    await expect(home.locator("table").first.locator("th", has_text="参考数据")).to_be_visible()  # its cache's age
    assert await fits(browser_page)
    await browser_page.screenshot(path=artefact("dashboard-home.png"), full_page=True)
    if target := os.environ.get("HISGRAPH_DASHBOARD_SCREENSHOT"):
        await browser_page.screenshot(path=target)

    parked = await open_view(browser_page, "待处理订单")
    order = parked.locator(f"[data-order='{dashboard.parked}']")
    await expect(order).to_contain_text("13.1.1 answered 'nonrefundable'")
    await expect(order).to_contain_text("门诊缴费")  # what it paid for (PaidFor.BILLS), in Chinese
    await expect(order.locator("button[data-outcome]")).to_have_count(3)
    assert await fits(browser_page)
    # Paid orders only on request (each read is audited per patient); one still in its retry window is not listed.
    await expect(parked.locator(f"[data-order='{dashboard.paid}']")).to_have_count(0)
    await parked.locator("[data-action='show-paid']").click()
    await expect(parked.locator("[data-action='show-paid']")).to_have_count(0)
    await expect(parked.locator(f"[data-order='{dashboard.parked}']")).to_be_visible()
    await expect(parked.locator(f"[data-order='{dashboard.paid}']")).to_have_count(0)

    reconciliation = await open_view(browser_page, "每日对账")
    await expect(reconciliation.locator("table").first).to_contain_text("253")
    await expect(reconciliation.locator("table").first).to_contain_text("255")
    await expect(reconciliation.locator("table").first).to_contain_text(REGION_OPERATOR)  # who checked the day

    statistics = await open_view(browser_page, "统计")
    await expect(statistics.locator("svg.chart rect.bar").first).to_be_attached()
    await expect(statistics).to_contain_text("各医院")
    await expect(statistics.locator("table").first).to_contain_text(HOSPITAL)
    hospitals_own = statistics.locator(".card", has_text="医院上报统计")  # the hospitals' own figures (chapter 30)
    await expect(hospitals_own.locator("table").first).to_contain_text("254")
    await expect(hospitals_own.locator("svg.chart rect.bar").first).to_be_attached()  # the region's total per day
    # 30.1.2 over the whole range (StatisticsSeries.window): one row per hospital with its appointments.
    counted = statistics.locator(".card", has_text="30.1.2")
    for hospital in ("253", "254", "255"):
        await expect(counted.locator("table")).to_contain_text(f"({hospital})")
    await expect(counted.locator("th", has_text="预约挂号数")).to_be_visible()
    # Grouped by month: each row's bucket is the month.
    await statistics.locator("select[name='bucket']").select_option("MONTH")
    await statistics.get_by_role("button", name="查看").click()
    await expect(statistics).to_have_attribute("aria-busy", "false")
    first_month = (datetime.now(CHINA_TIME).date() - timedelta(days=13)).strftime("%Y-%m")  # the range's start
    await expect(hospitals_own.locator("td[data-label='时段']").first).to_have_text(first_month)
    await browser_page.screenshot(path=artefact("dashboard-statistics.png"), full_page=True)

    messages = await open_view(browser_page, "消息")
    await expect(messages.locator("table tbody tr").first).to_be_visible()
    await expect(messages.locator("table").last).to_contain_text("待发送")
    # Nothing delivers them in this gateway (no worker, no official account), and the page says so.
    await expect(browser_page.get_by_test_id("delivery-off")).to_contain_text("投递进程未运行")
    await expect(browser_page.get_by_test_id("delivery-off")).to_contain_text("公众号未配置")
    await browser_page.screenshot(path=artefact("dashboard-messages.png"))

    inbound = await open_view(browser_page, "医院调用")
    await expect(inbound.locator("table")).to_contain_text(dashboard.shim_path)
    await expect(inbound.locator("button[data-replay]").first).to_be_visible()
    await inbound.locator("details").first.click()
    await expect(inbound.locator("pre", has_text=MARKUP).first).to_be_visible()  # shown as text
    assert await inbound.locator("img").count() == 0
    assert await browser_page.evaluate("window.__xss") is None
    # Filtered by section and reply code, then a call replayed from the page: the replay is listed as such.
    await inbound.locator("input[name='section']").fill("14.1.3")
    await inbound.locator("input[name='replyCode']").fill("10001")
    await inbound.get_by_role("button", name="筛选").click()
    await expect(browser_page).to_have_url(re.compile(r"section=14\.1\.3.*replyCode=10001"))
    await expect(inbound.locator("tbody tr").first).to_contain_text("14.1.3")
    first_call = await inbound.locator("button[data-replay]").first.get_attribute("data-replay")
    await inbound.locator(f"button[data-replay='{first_call}']").click()
    await browser_page.get_by_role("dialog").get_by_role("button", name="确认重放").click()
    await expect(browser_page.locator(".flash.ok")).to_contain_text(f"已重放调用 {first_call}")
    await expect(inbound.locator("tbody tr").first).to_contain_text(f"重放自 {first_call}（{REGION_OPERATOR}）")

    jobs = await open_view(browser_page, "定时任务")
    await expect(jobs.locator("table")).to_contain_text("bills (12.1.1)")

    audit = await open_view(browser_page, "审计日志")
    await expect(audit.locator("table")).to_contain_text(REGION_OPERATOR)

    operators = await open_view(browser_page, "操作员")
    await expect(operators.locator("table")).to_contain_text(LEAVING)
    await operators.locator(f"button[data-disable='{LEAVING}']").click()
    await browser_page.get_by_role("dialog").get_by_role("button", name="确认停用").click()
    await expect(browser_page.locator(".flash.ok")).to_contain_text(f"已停用 {LEAVING}")
    await expect(operators.locator("tr", has_text=LEAVING)).to_contain_text("已停用")
    # A colleague who forgot their password: reset, its one-time password shown once, and it signs them in.
    await operators.locator(f"button[data-reset='{FORGETFUL}']").click()
    await browser_page.get_by_role("dialog").get_by_role("button", name="确认重置").click()
    one_time = await browser_page.get_by_test_id("one-time-password").inner_text()
    assert len(one_time) == 20
    await browser_page.get_by_role("dialog").get_by_role("button", name="已记下").click()
    await expect(browser_page.locator(".flash.ok")).to_contain_text(f"已重置 {FORGETFUL} 的密码")
    await expect(browser_page.get_by_test_id("one-time-password")).to_have_count(0)
    elsewhere = await browser.new_context(service_workers="block", viewport=LAPTOP, locale="zh-CN")
    try:
        theirs = await elsewhere.new_page()
        await sign_in(theirs, dashboard.base_url, FORGETFUL, one_time)
        # ... and they change it at once (changeOperatorPassword), then sign in with their own.
        await theirs.locator("[data-action='change-password']").click()
        changing = theirs.get_by_role("dialog")
        await changing.get_by_label("当前密码").fill(one_time)
        await changing.get_by_label("新密码（至少 12 位）").fill(PASSWORD + " again")
        await changing.get_by_label("再次输入新密码").fill(PASSWORD + " agian")
        await changing.get_by_role("button", name="修改密码").click()
        await expect(changing).to_contain_text("两次输入的新密码不一致")
        await changing.get_by_label("再次输入新密码").fill(PASSWORD + " again")
        await changing.get_by_role("button", name="修改密码").click()
        await expect(theirs.locator(".flash.ok")).to_contain_text("密码已修改")
        await expect(theirs.get_by_role("dialog")).to_have_count(0)
        await theirs.locator("[data-action='sign-out']").click()
        await sign_in(theirs, dashboard.base_url, FORGETFUL, PASSWORD + " again")
    finally:
        await elsewhere.close()
    # The audit log, filtered to one action and today: the reset, by this operator, in Chinese.
    audit = await open_view(browser_page, "审计日志")
    await audit.locator("select[name='action']").select_option("password-reset")
    await audit.locator("input[name='from']").fill(datetime.now(CHINA_TIME).date().isoformat())
    await audit.get_by_role("button", name="筛选").click()
    await expect(browser_page).to_have_url(re.compile(r"action=password-reset"))
    await expect(audit.locator("tbody tr")).to_have_count(1)
    await expect(audit.locator("tbody tr")).to_contain_text("重置密码")
    await expect(audit.locator("tbody tr")).to_contain_text(FORGETFUL)
    await expect(audit.locator("tbody tr")).to_contain_text(REGION_OPERATOR)

    # A tablet: the navigation goes on top, nothing runs off the side.
    await browser_page.set_viewport_size(TABLET)
    await open_view(browser_page, "区域概览")
    await expect(browser_page.get_by_test_id("glance")).to_be_visible()
    assert await fits(browser_page)
    await browser_page.screenshot(path=artefact("dashboard-tablet.png"), full_page=True)
    for kept in screenshots:
        assert_png(kept)
    watch.assert_clean()


async def test_resolving_a_parked_order_from_the_page(page: tuple[Any, Watch], dashboard: Dashboard) -> None:
    """issue 15 item 2 from the page: the 14.2.2 evidence is shown and a note asked for before anything is done;
    cancelling does nothing; confirming refunds the parked order through resolveParkedOrder."""
    from playwright.async_api import expect

    browser_page, watch = page
    await sign_in(browser_page, dashboard.base_url, REGION_OPERATOR)
    parked = await open_view(browser_page, "待处理订单")
    order = parked.locator(f"[data-order='{dashboard.parked}']")

    await order.locator("button[data-outcome='REFUND']").click()
    dialog = browser_page.get_by_role("dialog")
    await expect(dialog).to_contain_text("14.2.2")
    await expect(dialog).to_contain_text("医院没有这笔支付的记录")  # the simulated hospital was never told
    await dialog.get_by_role("button", name="取消").click()
    await expect(dialog).to_have_count(0)
    assert await state_of(dashboard, dashboard.parked) is OrderState.PARKED

    await order.locator("button[data-outcome='REFUND']").click()
    await dialog.get_by_role("button", name="确认退款").click()
    await expect(dialog).to_contain_text("请填写备注")  # no note, nothing done
    await dialog.get_by_role("textbox").fill("已与医院信息科核对，医院未收到该笔支付")
    await dialog.get_by_role("button", name="确认退款").click()
    await expect(browser_page.locator(".flash.ok")).to_contain_text(f"订单 {dashboard.parked} 已处理")
    await expect(parked.locator(f"[data-order='{dashboard.parked}']")).to_have_count(0)
    assert await state_of(dashboard, dashboard.parked) is OrderState.REFUNDING
    watch.assert_clean()


async def state_of(dashboard: Dashboard, out_trade_no: str) -> OrderState:
    services = dashboard.client._transport.app.state.services  # type: ignore[attr-defined]
    async with services.db.session() as session:
        order = await OrderRepository(session).get(out_trade_no)
    assert order is not None
    return OrderState(order.state)


async def test_a_hospital_operator_sees_only_their_hospital_and_signs_out(
    page: tuple[Any, Watch], dashboard: Dashboard
) -> None:
    """issue 15, the page: a hospital operator's dashboard shows their hospital alone and no region-only action
    (no operators view, no REFUND); signing out ends the session at the gateway (logOutOperator), not only in
    the tab."""
    from playwright.async_api import expect

    browser_page, watch = page
    mine = await paid_order(dashboard.client)
    await park(dashboard.client, mine)
    await sign_in(browser_page, dashboard.base_url, HOSPITAL_OPERATOR)
    await expect(browser_page.get_by_test_id("who")).to_contain_text(f"医院操作员（{HOSPITAL}）")
    nav = browser_page.get_by_role("navigation")
    await expect(nav.get_by_role("link", name="操作员", exact=True)).to_have_count(0)
    home = browser_page.locator("main.content")
    await expect(home).to_have_attribute("aria-busy", "false")
    health = home.locator("table").first
    await expect(health.locator("tbody tr")).to_have_count(1)
    await expect(health).to_contain_text(f"({HOSPITAL})")

    parked = await open_view(browser_page, "待处理订单")
    await expect(parked.locator(f"[data-order='{mine}']")).to_be_visible()
    await expect(parked.locator("button[data-outcome='REFUND']")).to_have_count(0)
    await expect(parked.locator("button[data-outcome='RETRY_NOTIFY']").first).to_be_visible()
    reconciliation = await open_view(browser_page, "每日对账")
    await expect(reconciliation.locator("table").first.locator("tbody tr")).to_have_count(1)
    statistics = await open_view(browser_page, "统计")
    counted = statistics.locator(".card", has_text="30.1.2")  # the hospital's own counts, no other hospital's
    await expect(counted.locator("tbody tr")).to_have_count(1)
    await expect(counted.locator("tbody tr")).to_contain_text(f"({HOSPITAL})")

    # The page asked for the operators view directly: the region-only view is not drawn.
    await browser_page.evaluate("location.hash = '#operators'")
    await expect(home).to_have_attribute("data-view", "home")

    token = await browser_page.evaluate("sessionStorage.getItem('hisgraph.operator.token')")
    await browser_page.locator("[data-action='sign-out']").click()
    await expect(browser_page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    assert await browser_page.evaluate("sessionStorage.length") == 0
    after = await dashboard.client.post(
        "/graphql",
        json={"query": "{ operator { hospitalHealth { hospitalId } } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    watch.assert_clean()
