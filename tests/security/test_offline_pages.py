"""Attacks on the offline pages: GraphiQL's vendored assets (issue 12 item 2) and the shims' OpenAPI document
and docs page (issue 16 item 1).

- Only the listed asset files are served: no path from the request reaches the file system.
- Production serves neither GraphiQL nor its assets.
- The GraphiQL page runs no inline script and loads nothing from another origin (its CSP says so, and the page
  names only the gateway's own versioned URLs); the docs page runs no script at all.
- The OpenAPI document and page carry nothing of the registry: no hospital's key, secret or address list.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from api.graphiql import ASSETS, IMMUTABLE, STATIC_DIR
from api.openapi import DOCS_PATH, OPENAPI_PATH
from api.settings import Settings
from his_clients.registry import Registry
from tests.conftest import running_gateway


def production(region: Registry, tmp_path: Path, **given: Any) -> Settings:
    return Settings(
        mode="production",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'production.sqlite3'}",
        registry=region,
        session_secret="s" * 40,
        file_link_secret="f" * 40,
        allow_sandbox_payments=True,
        allow_fake_sms=True,
        allow_loopback_public_url=True,
        **given,
    )


def dev(region: Registry, tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'dev.sqlite3'}", registry=region)


@pytest.mark.parametrize(
    "path",
    [
        "/graphql/static/..%2Fgraphiql.py",
        "/graphql/static/..%2F..%2Fpyproject.toml",
        "/graphql/static/%2e%2e%2Fsettings.py",
        "/graphql/static/README.md",  # in the folder, not in the list
        "/graphql/static/LICENSE.react",
        "/graphql/static/graphiql.min.js.map",
        "/graphql/static/",
        "/graphql/static/GRAPHIQL.MIN.JS",
    ],
)
async def test_only_the_listed_assets_are_served(region: Registry, tmp_path: Path, path: str) -> None:
    """issue 12 item 2: a request names an asset, never a file: anything but the list is 404 (never 200)."""
    async with running_gateway(dev(region, tmp_path), signed_in=False) as client:
        response = await client.get(path)
        assert response.status_code == 404, (path, response.text[:200])


async def test_assets_are_cached_by_version_and_not_sniffed(region: Registry, tmp_path: Path) -> None:
    """issue 12 item 2: long cache under a content-hash URL, ETag revalidation, nosniff, the right type, gzip."""
    async with running_gateway(dev(region, tmp_path), signed_in=False) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        named = re.findall(r'(?:src|href)="(/graphql/static/[^"]+)"', page.text)
        assert {url.split("?")[0].rsplit("/", 1)[1] for url in named} == set(ASSETS)
        for url in named:
            assert re.search(r"\?v=[0-9a-f]{16}$", url), url
            response = await client.get(url)
            assert response.status_code == 200
            assert response.headers["cache-control"] == IMMUTABLE
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["content-type"].startswith(("text/javascript", "text/css"))
            assert response.headers["content-encoding"] == "gzip"  # httpx accepts gzip, as browsers do
            name = url.split("?")[0].rsplit("/", 1)[1]
            assert response.content == (STATIC_DIR / name).read_bytes()
            again = await client.get(url, headers={"If-None-Match": response.headers["etag"]})
            assert again.status_code == 304
            assert again.content == b""


async def test_the_graphiql_page_allows_no_inline_script_and_no_other_origin(region: Registry, tmp_path: Path) -> None:
    """issue 12 item 2: strict CSP; the page's every src and href is the gateway's own (or an empty data: icon)."""
    async with running_gateway(dev(region, tmp_path), signed_in=False) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "unsafe-eval" not in page.headers["content-security-policy"]
    assert re.search(r"<script>", page.text) is None  # no inline script
    assert "unpkg" not in page.text
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith("/graphql/static/") or url == "data:,", url


async def test_production_serves_no_graphiql_and_no_assets(region: Registry, tmp_path: Path) -> None:
    """issue 12 item 2: GraphiQL is a dev tool: in production neither the page nor its assets answer."""
    async with running_gateway(production(region, tmp_path), signed_in=False) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 405
        assert "graphiql" not in page.text.lower()
        for name in ASSETS:
            assert (await client.get(f"/graphql/static/{name}")).status_code == 404


async def test_the_openapi_document_carries_nothing_of_the_registry(region: Registry, tmp_path: Path) -> None:
    """issue 16 item 1: the contract is public (production too); no hospital's key, secret or addresses in it."""
    key, secret, address = "k" * 24 + "KEYMARK", "s" * 24 + "SECRETMARK", "10.77.88.99"
    hospitals = list(region.hospitals)
    hospitals[0] = hospitals[0].model_copy(
        update={"auth": "hmac", "hmac_secret": SecretStr(secret), "allowed_ips": (address,)}
    )
    hospitals[1] = hospitals[1].model_copy(update={"auth": "api_key", "api_key": SecretStr(key)})
    registry = region.model_copy(update={"hospitals": tuple(hospitals)})
    async with running_gateway(production(registry, tmp_path), signed_in=False) as client:
        document = await client.get(OPENAPI_PATH)
        page = await client.get(DOCS_PATH)
    assert document.status_code == 200
    assert page.status_code == 200
    for text in (document.text, page.text):
        for mark in ("KEYMARK", "SECRETMARK", address):
            assert mark not in text
    assert "<script" not in page.text
    assert "script-src" not in page.headers["content-security-policy"]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
