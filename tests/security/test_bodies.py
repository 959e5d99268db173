"""Attacks with request bodies: cross-site posts, wrong content types, unbounded and streamed bodies.

Through the real app (create_app with its middleware, api/guards.py in front of every route) and a real
SQLite store; bodies are refused before any handler runs, in the envelope of the route they were sent to.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.settings import Settings
from his_clients.registry import Hospital, Registry
from store.inbound import InboundCall
from tests.conftest import running_gateway

CARD = "001000056254587"
REFUND = "/prefront/hospitalizationCosts/hisRefund"
PATIENT_INFO = "/prefront/patient/getPatientInfo"
WEBSERVICE = "/prefront/services/prefrontWebService"
JSON = {"Content-Type": "application/json"}
EVIL = "https://evil.example"
REGISTRY = Registry(
    hospitals=(Hospital(id="253", name="医院253", base_url="http://127.0.0.1:9/his/253", allowed_ips=("127.0.0.1",)),)
)
REFUND_BODY = json.dumps(
    {"medicalCardNumber": CARD, "outTradeNo": "JZKCZ-2511261000009f9f9f9f", "refundNo": "R-1", "amount": "20.00"}
).encode()
QUERY = json.dumps({"query": "{ __typename }"}).encode()


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=REGISTRY,
        run_payment_worker=False,
        **overrides,
    )


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(settings_for(tmp_path), signed_in=False) as client:
        yield client


async def ledger(client: httpx.AsyncClient, path: str) -> list[InboundCall]:
    db = client._transport.app.state.services.db  # type: ignore[attr-defined]
    async with db.session() as session:
        return list((await session.execute(select(InboundCall).where(InboundCall.path == path))).scalars())


def envelope(response: httpx.Response) -> dict[str, Any]:
    reply: dict[str, Any] = response.json()
    assert set(reply) == {"success", "msg", "code", "data"}
    assert reply["success"] is False
    return reply


# -- issue 10 item 7: no cross-site request changes state -----------------------------------------------


async def test_a_cross_site_form_post_to_a_refund_shim_changes_nothing(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 7: a browser's text/plain form post with a foreign Origin, from an allowed address, to the
    refund shim of an auth = "none" hospital: refused before anything runs, nothing recorded."""
    form = {"Content-Type": "text/plain", "Origin": EVIL}
    response = await gateway.post(REFUND, content=REFUND_BODY, headers=form)
    assert response.status_code == 403
    assert envelope(response)["code"] == "50001"
    marked = await gateway.post(REFUND, content=REFUND_BODY, headers={**JSON, "Sec-Fetch-Site": "cross-site"})
    assert (marked.status_code, envelope(marked)["code"]) == (403, "50001")
    plain = await gateway.post(REFUND, content=REFUND_BODY, headers={"Content-Type": "text/plain"})
    assert (plain.status_code, envelope(plain)["code"]) == (415, "20003")
    for kind in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        form_post = await gateway.post(REFUND, content=REFUND_BODY, headers={"Content-Type": kind})
        assert form_post.status_code == 415
    assert await ledger(gateway, REFUND) == []


@pytest.mark.parametrize("kind", ["application/json", "Application/JSON", "APPLICATION/JSON; charset=UTF-8"])
async def test_json_in_any_capitalisation_reaches_the_shim(gateway: httpx.AsyncClient, kind: str) -> None:
    """issue 10 item 7: sloppy but honest callers: application/json in any case, with or without charset."""
    response = await gateway.post(REFUND, content=REFUND_BODY, headers={"Content-Type": kind})
    assert response.status_code == 200
    assert envelope(response)["code"] == "20003"  # reached the handler: no such order (a business answer)
    assert len(await ledger(gateway, REFUND)) == 1


async def test_graphql_refuses_cross_site_and_non_json_posts_with_a_graphql_error(tmp_path: Path) -> None:
    """issue 10 item 7: /graphql takes JSON only, and no foreign Origin; same-origin and allowed origins pass."""
    settings = settings_for(tmp_path, allowed_origins=("https://app.example.cn",))
    async with running_gateway(settings, signed_in=False) as gateway:
        foreign = await gateway.post("/graphql", content=QUERY, headers={**JSON, "Origin": EVIL})
        assert foreign.status_code == 403
        assert foreign.json()["errors"][0]["extensions"]["code"] == "CROSS_SITE_REFUSED"
        marked = await gateway.post("/graphql", content=QUERY, headers={**JSON, "Sec-Fetch-Site": "cross-site"})
        assert marked.status_code == 403
        form = await gateway.post("/graphql", content=QUERY, headers={"Content-Type": "text/plain"})
        assert form.status_code == 415
        assert form.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
        for origin in ("http://gateway", "https://app.example.cn", "HTTPS://APP.EXAMPLE.CN:443"):
            allowed = await gateway.post("/graphql", content=QUERY, headers={**JSON, "Origin": origin})
            assert allowed.status_code == 200, origin
            assert allowed.json()["data"] == {"__typename": "Query"}


async def test_soap_takes_xml_and_notify_takes_json(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 7: the WebService endpoint takes text/xml or application/soap+xml; /payments/notify JSON."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    soap = await gateway.post(WEBSERVICE, content=b"<x/>", headers=form)
    assert soap.status_code == 415
    assert b"<faultcode>soap:Client</faultcode>" in soap.content
    for kind in ("text/xml; charset=utf-8", "application/soap+xml"):
        xml = await gateway.post(WEBSERVICE, content=b"<x/>", headers={"Content-Type": kind})
        assert xml.status_code != 415
    notify = await gateway.post("/payments/notify", content=b"{}", headers={"Content-Type": "text/plain"})
    assert (notify.status_code, notify.json()["code"]) == (415, "FAIL")
    cross = await gateway.post("/payments/notify", content=b"{}", headers={**JSON, "Origin": EVIL})
    assert cross.status_code == 403


async def test_the_survey_keeps_its_form_posts(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 7: the survey page's own form post is not refused for its type (its Origin is its own check)."""
    response = await gateway.post(
        "/survey/not-a-token", content=b"q1=5", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code != 415


# -- issue 10 item 10: bodies are bounded before they are read ------------------------------------------


@pytest.mark.parametrize(
    ("path", "limit", "kind"),
    [
        (PATIENT_INFO, 1024 * 1024, "shim"),
        ("/graphql", 256 * 1024, "graphql"),
        (WEBSERVICE, 2 * 1024 * 1024, "soap"),
        ("/payments/notify", 64 * 1024, "notify"),
    ],
)
async def test_a_body_over_the_limit_is_refused_in_the_routes_envelope(
    gateway: httpx.AsyncClient, path: str, limit: int, kind: str
) -> None:
    """issue 10 item 10: Content-Length over the route's limit: 413 in that route's envelope."""
    content_type = "text/xml" if kind == "soap" else "application/json"
    response = await gateway.post(path, content=b" " * (limit + 1), headers={"Content-Type": content_type})
    assert response.status_code == 413
    if kind == "shim":
        assert envelope(response)["code"] == "20004"
    elif kind == "graphql":
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    elif kind == "soap":
        assert b"soap:Fault" in response.content
    else:
        assert response.json()["code"] == "FAIL"


@pytest.mark.parametrize(("path", "limit"), [(PATIENT_INFO, 1024 * 1024), ("/graphql", 256 * 1024)])
async def test_a_streamed_body_is_counted_and_cut_at_the_limit(
    gateway: httpx.AsyncClient, path: str, limit: int
) -> None:
    """issue 10 item 10: a chunked 100 MB body (no Content-Length) is refused once it passes the limit; the
    rest is never read."""
    chunk = b" " * 65_536
    sent = 0

    async def hundred_megabytes() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100 * 16):
            sent += len(chunk)
            yield chunk

    response = await gateway.post(path, content=hundred_megabytes(), headers=JSON)
    assert response.status_code == 413
    assert sent <= limit + 2 * len(chunk)


async def test_a_refused_shim_body_is_recorded_truncated(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 10: a refused 10 MB call, and a refused 900 KB one, are recorded bounded, never whole."""
    big = b'{"medicalCardNumber": "' + b"9" * (10 * 1024 * 1024) + b'"}'
    assert (await gateway.post(REFUND, content=big, headers=JSON)).status_code == 413
    under = json.dumps({"medicalCardNumber": CARD, "outTradeNo": "x" * 900_000, "refundNo": "R", "amount": "1"})
    assert (await gateway.post(REFUND, content=under.encode(), headers=JSON)).status_code == 200
    recorded = await ledger(gateway, REFUND)
    assert len(recorded) == 2
    for call in recorded:
        assert call.body["truncated"] is True
        assert len(json.dumps(call.body)) < 4096
