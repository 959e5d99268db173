"""Attacks on the operators' dashboard page (issue 15, "the page").

- Production serves the page with a strict policy: scripts, styles and requests from the gateway only, no inline
  script or style, never inside a frame (CSP frame-ancestors and X-Frame-Options), no sniffing, no referrer.
- Only the listed asset files are served: no path from the request reaches the file system.
- The page holds no data: it is the same for everyone, and every figure comes through the operator API.
- The page's code writes no HTML from data (no innerHTML, no eval), reaches no other origin, and keeps the session
  token in sessionStorage, never localStorage or a cookie.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from api.dashboard import ASSETS, STATIC_DIR
from his_clients.registry import Registry
from tests.conftest import running_gateway
from tests.security.test_offline_pages import production


async def test_production_serves_the_page_with_a_strict_policy(region: Registry, tmp_path: Path) -> None:
    """issue 15, the page: in production mode the page and its assets carry the CSP, X-Frame-Options DENY and
    nosniff; the page names only its own modules and stylesheet, runs no inline script and carries no data."""
    async with running_gateway(production(region, tmp_path), signed_in=False) as client:
        page = await client.get("/dashboard")
        assert page.status_code == 200
        policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == "'self'"
        assert policy["style-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["form-action"] == "'none'"
        assert "unsafe" not in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "no-referrer"
        # Every script is a module by URL; nothing inline, no style attribute, nothing of the region in it.
        [script] = re.findall(r"<script[^>]*>", page.text)
        assert re.fullmatch(r'<script type="module" src="/dashboard/static/main\.js\?v=[0-9a-f]{16}">', script)
        assert "style=" not in page.text
        for word in ("253", "token", "Bearer"):
            assert word not in page.text
        named = re.findall(r'(?:src|href)="(/dashboard/static/[^"?]+)', page.text)
        assert named == ["/dashboard/static/dashboard.css", "/dashboard/static/main.js"]
        for name in ASSETS:
            asset = await client.get(f"/dashboard/static/{name}")
            assert asset.status_code == 200
            assert asset.headers["x-content-type-options"] == "nosniff"
            assert asset.headers["content-type"].startswith(("text/javascript", "text/css"))
        assert (await client.post("/dashboard")).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/static/..%2Fdashboard.py",
        "/dashboard/static/..%2F..%2Fpyproject.toml",
        "/dashboard/static/%2e%2e%2Fsettings.py",
        "/dashboard/static/MAIN.JS",
        "/dashboard/static/main.js.map",
        "/dashboard/static/",
        "/dashboard/static/..%2Fgraphiql%2Fgraphiql.min.js",
    ],
)
async def test_only_the_listed_assets_are_served(region: Registry, tmp_path: Path, path: str) -> None:
    """issue 15, the page: a request names an asset, never a file: anything but the list is 404."""
    async with running_gateway(production(region, tmp_path), signed_in=False) as client:
        response = await client.get(path)
        assert response.status_code == 404, (path, response.text[:200])


def test_the_page_code_writes_no_html_and_keeps_the_token_in_the_tab() -> None:
    """issue 15, the page: data reaches the DOM as text only (no innerHTML, insertAdjacentHTML, document.write,
    eval or Function), requests go to this origin only (no absolute URL), and the session token is kept in
    sessionStorage (no localStorage, no cookie); every file in the folder is one the gateway serves."""
    assert {p.name for p in STATIC_DIR.iterdir()} == set(ASSETS)
    code = {name: (STATIC_DIR / name).read_text(encoding="utf-8") for name in ASSETS if name.endswith(".js")}
    for name, text in code.items():
        text = text.replace('"http://www.w3.org/2000/svg"', "")  # SVG's namespace: a name, never fetched
        for forbidden in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "Function(",
            "localStorage.setItem",
            "document.cookie",
            "http://",
            "https://",
        ):
            assert forbidden not in text, (name, forbidden)
    assert "sessionStorage.setItem" in code["api.js"]
    assert 'fetch("/graphql"' in code["api.js"]
    assert 'credentials: "omit"' in code["api.js"]
