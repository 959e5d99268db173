"""Attacks on what hospitals (and anyone else) send us: signatures, addresses, hostile bodies, notifications.

Through the real app (create_app, its middleware and lifespan, a real SQLite store); the proxy-header
attack through a real uvicorn server started as ``hisgraph serve`` starts it (api.cli.uvicorn_config).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from api.app import create_app
from api.cli import uvicorn_config
from api.settings import RateLimits, Settings, TokenBucket
from api.shims.auth import sign_request
from api.shims.validation import catalog
from his_clients.registry import Hospital, Registry
from services.payments.providers.base import PaymentNotification, TradeState
from store.inbound import InboundCall
from tests.conftest import running_gateway

SECRET = "secret-of-hospital-254-abcdef"
LEGACY_SECRET = "secret-of-hospital-258-abcdef"
CARD = "001000056254587"
REFUND = "/prefront/hospitalizationCosts/hisRefund"  # 9.1.1 / 13.2.1
REFUND_QUERY = "/prefront/hospitalizationCosts/hisRefundQuery"  # 9.1.2
PATIENT_INFO = "/prefront/patient/getPatientInfo"  # 1.3.1


def _hospital(hospital_id: str, **auth: Any) -> Hospital:
    return Hospital(id=hospital_id, name=f"医院{hospital_id}", base_url=f"http://127.0.0.1:9/his/{hospital_id}", **auth)


REGISTRY = Registry(
    hospitals=(
        _hospital("253", allowed_ips=("127.0.0.1",)),
        _hospital("254", auth="hmac", hmac_secret=SECRET),
        _hospital("257", allowed_ips=("10.57.0.1",)),
        _hospital("258", auth="hmac", hmac_secret=LEGACY_SECRET, hmac_version=1),
        _hospital("259", auth="api_key", api_key="key-of-hospital-259-abcdef"),
    )
)


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


def signed(
    path: str,
    body: bytes,
    *,
    hospital_id: str = "254",
    secret: str = SECRET,
    nonce: str | None = None,
    query: str = "",
    version: int = 2,
) -> dict[str, str]:
    timestamp = str(int(datetime.now(UTC).timestamp()))
    nonce = nonce or secrets.token_hex(8)
    signature = sign_request(
        secret,
        method="POST",
        path=path,
        query=query,
        hospital_id=hospital_id,
        timestamp=timestamp,
        nonce=nonce,
        body=body,
        version=version,
    )
    return {
        "Content-Type": "application/json",
        "X-Hospital-Id": hospital_id,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": signature,
    }


async def ledger(client: httpx.AsyncClient, path: str) -> list[InboundCall]:
    db = client._transport.app.state.services.db  # type: ignore[attr-defined]
    async with db.session() as session:
        return list((await session.execute(select(InboundCall).where(InboundCall.path == path))).scalars())


def refund_body(**fields: Any) -> bytes:
    body = {"medicalCardNumber": CARD, "outTradeNo": "JZKCZ-2511261000009f9f9f9f", "refundNo": "R-1", "amount": "20.00"}
    return json.dumps({**body, **fields}).encode()


# -- issue 10 item 5: the signature covers what is asked ------------------------------------------------


async def test_a_signed_refund_query_replayed_to_the_refund_path_is_refused(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 5: a 9.1.2 query signed by hospital 254, replayed byte for byte to 9.1.1, is 50001."""
    body = refund_body()
    headers = signed(REFUND_QUERY, body)
    replayed = (await gateway.post(REFUND, content=body, headers=headers)).json()
    assert (replayed["success"], replayed["code"]) == (False, "50001")
    # Refused before the handler: nothing refunded; recorded as refused, with the hospital it claimed (issue 15 item 8).
    [refusal] = await ledger(gateway, REFUND)
    assert (refusal.reply_code, refusal.hospital_id, refusal.claimed_hospital_id) == ("50001", None, "254")
    with_query = (await gateway.post(REFUND_QUERY + "?amount=1", content=body, headers=headers)).json()
    assert with_query["code"] == "50001"  # the query string is signed too
    as_signed = (await gateway.post(REFUND_QUERY, content=body, headers=headers)).json()
    assert as_signed["code"] != "50001"  # the genuine call passes (and finds no such order: a business code)


async def test_the_old_scheme_only_where_the_registry_says_so(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 5: scheme 1 (timestamp, nonce, body) only for a hospital whose entry says hmac_version = 1;
    a header cannot downgrade a hospital on scheme 2."""
    body = json.dumps({"medicalCardNumber": CARD}).encode()
    legacy = signed(PATIENT_INFO, body, hospital_id="258", secret=LEGACY_SECRET, version=1)
    assert (await gateway.post(PATIENT_INFO, content=body, headers=legacy)).json()["code"] != "50001"
    downgraded = signed(PATIENT_INFO, body, version=1)
    assert (await gateway.post(PATIENT_INFO, content=body, headers=downgraded)).json()["code"] == "50001"
    named = {**signed(PATIENT_INFO, body, version=1), "X-Signature-Version": "1"}
    assert (await gateway.post(PATIENT_INFO, content=body, headers=named)).json()["code"] == "50001"
    current = signed(PATIENT_INFO, body)
    assert (await gateway.post(PATIENT_INFO, content=body, headers=current)).json()["code"] != "50001"


def test_the_documented_string_to_sign_is_what_is_checked() -> None:
    """issue 10 item 5: the canonical string of api/shims/auth.py, written out byte for byte."""
    body = b'{"medicalCardNumber":"001000056254587"}'
    text = "\n".join(
        [
            "HISGRAPH-HMAC-SHA256-2",
            "POST",
            PATIENT_INFO,
            "a=1",
            "254",
            "1718000000",
            "3f1c9a0e5b7d4c21",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    expected = hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    computed = sign_request(
        SECRET,
        method="post",
        path=PATIENT_INFO,
        query="a=1",
        hospital_id="254",
        timestamp="1718000000",
        nonce="3f1c9a0e5b7d4c21",
        body=body,
    )
    assert computed == expected


# -- issue 10 item 6: client addresses only from trusted proxies --------------------------------------


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """The app under uvicorn, configured as ``hisgraph serve`` configures it; its base URL."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, log_config=None, loop="asyncio", http="h11"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_a_forwarded_header_from_a_local_process_passes_no_allowlist(tmp_path: Path) -> None:
    """issue 10 item 6: from 127.0.0.1 with X-Forwarded-For naming hospital 257's allowed address: refused."""
    body = json.dumps({"medicalCardNumber": CARD}).encode()
    forged = {"Content-Type": "application/json", "X-Forwarded-For": "10.57.0.1", "X-Hospital-Id": "257"}
    async with served(settings_for(tmp_path)) as url, httpx.AsyncClient(base_url=url) as client:
        for headers in (forged, {**forged, "X-Hospital-Id": ""}, {**forged, "Forwarded": "for=10.57.0.1"}):
            reply = (await client.post(PATIENT_INFO, content=body, headers=headers)).json()
            assert reply["code"] == "50001", headers


async def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    """issue 10 item 6: with 127.0.0.1 listed in trusted_proxies, its X-Forwarded-For is the client address."""
    body = json.dumps({"medicalCardNumber": CARD}).encode()
    headers = {"Content-Type": "application/json", "X-Forwarded-For": "10.57.0.1", "X-Hospital-Id": "257"}
    settings = settings_for(tmp_path, trusted_proxies=("127.0.0.1",))
    async with served(settings) as url, httpx.AsyncClient(base_url=url) as client:
        reply = (await client.post(PATIENT_INFO, content=body, headers=headers)).json()
    assert reply["code"] != "50001"


async def test_changing_the_forwarded_header_does_not_escape_rate_limits(tmp_path: Path) -> None:
    """issue 10 item 6: every request names another address in X-Forwarded-For; all are one peer's."""
    limits = RateLimits(enabled=True, per_ip=TokenBucket(per_minute=1, burst=3), per_account=None)
    body = json.dumps({"medicalCardNumber": CARD}).encode()
    async with served(settings_for(tmp_path, rate_limits=limits)) as url, httpx.AsyncClient(base_url=url) as client:
        codes = []
        for n in range(6):
            headers = {"Content-Type": "application/json", "X-Forwarded-For": f"10.0.0.{n}"}
            codes.append((await client.post(PATIENT_INFO, content=body, headers=headers)).json()["code"])
    assert codes[3:] == ["40001"] * 3


# -- issue 10 item 9: no input gives a 500 or a wrong code --------------------------------------------


@pytest.mark.parametrize(
    "header", ["X-Signature", "X-Hospital-Id", "X-Nonce", "X-Timestamp", "X-Signature-Version", "Authorization"]
)
async def test_non_ascii_auth_headers_are_refused_not_a_500(gateway: httpx.AsyncClient, header: str) -> None:
    """issue 10 item 9: a non-ASCII bearer, key or signature header on a shim: the envelope, never a 500."""
    body = json.dumps({"medicalCardNumber": CARD}).encode()
    headers: dict[str, Any] = {**signed(PATIENT_INFO, body), header: b"Bearer x.\xe9\xff"}
    response = await gateway.post(PATIENT_INFO, content=body, headers=headers)
    assert response.status_code == 200
    assert set(response.json()) == {"success", "msg", "code", "data"}
    if header != "Authorization":  # a bearer token means nothing to a shim; the signature still holds
        assert response.json()["code"] == "50001"
    api_key: dict[str, Any] = {**JSON, "X-Hospital-Id": "259", "X-Api-Key": b"key-of-hospital-259-abcde\xe9"}
    response = await gateway.post(PATIENT_INFO, content=body, headers=api_key)
    assert (response.status_code, response.json()["code"]) == (200, "50001")


@pytest.mark.parametrize("header", ["Sandbox-Signature", "Wechatpay-Signature", "Wechatpay-Serial", "Authorization"])
async def test_a_non_ascii_header_on_payment_notify_is_400(gateway: httpx.AsyncClient, header: str) -> None:
    """issue 10 item 9: /payments/notify with a non-ASCII signature header: 400 in WeChat's shape, not 500."""
    headers: dict[str, Any] = {"Content-Type": "application/json", header: b"x.\xe9"}
    response = await gateway.post("/payments/notify", content=b"{}", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "FAIL"


async def test_a_signed_notification_for_an_unknown_order_stops_wechat_and_is_recorded(
    gateway: httpx.AsyncClient,
) -> None:
    """issue 10 item 9: a correctly signed paid notification for no order of ours: success (WeChat stops
    re-sending), and a row for operators in the inbound ledger."""
    provider = gateway._transport.app.state.services.payment_provider  # type: ignore[attr-defined]
    notification = PaymentNotification(
        event_id="EV-orphan-1",
        event_type="TRANSACTION.SUCCESS",
        out_trade_no="JZKCZ-2511261000000000dead",
        state=TradeState.PAID,
        amount=Decimal("20.00"),
        transaction_id="4200000000000000000000000001",
        paid_at=datetime.now(UTC),
    )
    headers, body = provider.encode_notification(notification)
    for _ in range(2):
        response = await gateway.post(
            "/payments/notify", content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code in (200, 204)
    recorded = await ledger(gateway, "/payments/notify")
    assert [call.reply_code for call in recorded] == ["ORPHAN", "ORPHAN"]
    first = recorded[0]
    assert first.body["out_trade_no"] == "JZKCZ-2511261000000000dead"


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("1234567890123456789012345678901234567890", "20004"),
        (1234567890123456789012345678901234567890, "20004"),
        ("1" * 5000, "20004"),
        ("20.001", "20003"),
        (1e308, "20004"),
    ],
)
async def test_an_absurd_refund_amount_is_a_parameter_error(gateway: httpx.AsyncClient, amount: Any, code: str) -> None:
    """issue 10 item 9: a 40-digit refund amount is 20004, never 10002 or 10003."""
    reply = (await gateway.post(REFUND, content=refund_body(amount=amount), headers=JSON)).json()
    assert (reply["success"], reply["code"]) == (False, code)


JSON = {"Content-Type": "application/json"}
DEEP = b'{"medicalCardNumber":' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE_NUMBER = b'{"medicalCardNumber":"001000056254587","amount":' + b"9" * 5000 + b"}"
HOSTILE_BODIES = {
    "empty": b"",
    "list": b"[1]",
    "string": b'"str"',
    "null": b"null",
    "bad-utf8": b"\xff\xfe{",
    "truncated": b'{"medicalCardNumber": "00100',
    "deep": DEEP,
    "huge-number": HUGE_NUMBER,
    "nan": b'{"amount": NaN, "medicalCardNumber": Infinity}',
    "wrong-types": b'{"medicalCardNumber": {"a": 1}, "hospitalId": [], "amount": true}',
}
SHIM_PATHS = sorted({"/" + str(e["http_path"]).strip("/") for e in catalog() if e["direction"] == "platform"})


@pytest.mark.parametrize("path", SHIM_PATHS)
async def test_every_shim_answers_hostile_bodies_with_the_envelope(gateway: httpx.AsyncClient, path: str) -> None:
    """issue 10 item 9: every platform path of the catalog, every hostile body: no 5xx, the spec's envelope,
    and a 5,000-digit number or deep nesting is 20003 (not 10003)."""
    for name, body in HOSTILE_BODIES.items():
        response = await gateway.post(path, content=body, headers=JSON)
        assert response.status_code < 500, (name, response.status_code)
        reply = response.json()
        assert reply["success"] is False, name
        assert "code" in reply, (name, reply)
        assert reply["code"] != "10003", (name, reply)
        if name in ("deep", "huge-number"):
            assert reply["code"] == "20003", (name, reply)


async def test_get_and_unknown_prefront_paths_answer_the_envelope(gateway: httpx.AsyncClient) -> None:
    """issue 10 item 9: GET on a POST shim and an unknown /prefront path: the envelope (JSON), not plain text."""
    get = await gateway.get(REFUND)
    assert get.status_code == 405
    assert get.json()["code"] == "40002"
    unknown = await gateway.post("/prefront/nothing/here", content=b"{}", headers=JSON)
    assert unknown.status_code == 404
    assert set(unknown.json()) == {"success", "msg", "code", "data"}
    soap_get = await gateway.get("/prefront/services/prefrontWebService")
    assert soap_get.status_code == 400
    assert b"<faultcode>soap:Client</faultcode>" in soap_get.content  # SOAP's envelope, not plain text
