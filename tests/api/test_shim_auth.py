"""Hospitals prove who they are on the shims (IP allowlist, API key or HMAC); a refusal is 50001 and changes nothing.

Through the real app (1.3.1 getPatientInfo is today's shim); the HMAC clock is injected, nobody sleeps.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

import api.shims.cards
from api.settings import Settings
from api.shims.auth import ShimAuthenticator, ShimCaller, ShimUnauthorized, sign_request
from api.shims.envelope import ShimError
from his_clients.registry import Hospital, Registry
from services.cards import get_patient_info
from store.accounts import ShimNonce
from store.db import Database
from store.models import Base
from store.seed import seed_demo
from store.shim_nonces import StoredNonces
from tests.conftest import running_gateway

PATH = "/prefront/patient/getPatientInfo"
CARD = "001000056254587"
API_KEY = "key-of-hospital-302-abcdef"
SECRET = "secret-of-hospital-303-abcdef"
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _hospital(hospital_id: str, **auth: Any) -> Hospital:
    return Hospital(id=hospital_id, name=f"医院{hospital_id}", base_url=f"http://127.0.0.1:9/his/{hospital_id}", **auth)


REGISTRY = Registry(
    hospitals=(
        _hospital("301", allowed_ips=("10.0.0.0/24",)),
        _hospital("304", allowed_ips=("10.0.0.9",)),  # 10.0.0.9 serves both 301 and 304 (a regional HIS)
        _hospital("302", auth="api_key", api_key=API_KEY),
        _hospital("303", auth="hmac", hmac_secret=SECRET),
        _hospital("305", auth="api_key", api_key=API_KEY + "-305", allowed_ips=("192.168.7.0/24",)),
        _hospital("306"),  # auth none and no allowlist: cannot call at all
    )
)


@dataclass
class Gateway:
    app: Starlette
    db: Database
    lookups: list[str]
    clock: list[datetime]

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40123))
        return httpx.AsyncClient(transport=transport, base_url="http://gateway")

    async def nonces(self) -> int:
        async with self.db.session() as session:
            return int(await session.scalar(select(func.count()).select_from(ShimNonce)) or 0)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The card numbers the shim's service was asked for: empty after a refusal."""
    seen: list[str] = []
    real = get_patient_info  # what api.shims.cards imported

    async def spy(db: Database, card_number: str) -> Any:
        seen.append(card_number)
        return await real(db, card_number)

    monkeypatch.setattr(api.shims.cards, "get_patient_info", spy)
    return seen


@pytest.fixture
async def gateway(tmp_path: Path, lookups: list[str]) -> AsyncIterator[Gateway]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", registry=REGISTRY)
    async with running_gateway(settings) as client:
        app: Starlette = client._transport.app  # type: ignore[attr-defined]
        db: Database = app.state.services.db
        await seed_demo(db)
        clock = [NOW]
        app.state.shim_auth = ShimAuthenticator(REGISTRY, StoredNonces(db), clock=lambda: clock[0])
        yield Gateway(app=app, db=db, lookups=lookups, clock=clock)


def signed(
    body: bytes,
    *,
    hospital_id: str = "303",
    secret: str = SECRET,
    at: datetime = NOW,
    nonce: str = "nonce-0001",
    encoding: str = "hex",
    path: str = PATH,
) -> dict[str, str]:
    """The headers api/shims/auth.py documents for an integrator (scheme 2, written out by hand)."""
    timestamp = str(int(at.timestamp()))
    text = f"HISGRAPH-HMAC-SHA256-2\nPOST\n{path}\n\n{hospital_id}\n{timestamp}\n{nonce}\n"
    mac = hmac.new(secret.encode(), text.encode() + hashlib.sha256(body).hexdigest().encode(), hashlib.sha256)
    signature = mac.hexdigest() if encoding == "hex" else base64.b64encode(mac.digest()).decode()
    assert mac.hexdigest() == sign_request(
        secret, method="POST", path=path, hospital_id=hospital_id, timestamp=timestamp, nonce=nonce, body=body
    )
    return {
        "X-Hospital-Id": hospital_id,
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": signature,
        "Content-Type": "application/json",
    }


def body_of(**fields: str) -> bytes:
    return json.dumps({"medicalCardNumber": CARD, **fields}).encode()


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await client.post(PATH, content=body, headers=headers or {"Content-Type": "application/json"})
    assert response.status_code == 200
    reply: dict[str, Any] = response.json()
    assert set(reply) == {"success", "msg", "code", "data"}
    return reply


def assert_refused(reply: dict[str, Any]) -> None:
    assert reply["success"] is False
    assert reply["code"] == "50001"
    assert reply["msg"].startswith("无权访问该接口")
    assert reply["data"] is None


# --- auth = "none": the address is the proof -------------------------------------------------------------


async def test_an_allowlisted_address_is_its_hospital(gateway: Gateway) -> None:
    async with gateway.client("10.0.0.5") as client:
        reply = await post(client, body_of())
    assert reply["code"] == "10001"
    assert reply["data"]["name"] == "张三"


@pytest.mark.parametrize("address", ["172.16.0.1", "127.0.0.1", "10.0.1.5"])
async def test_an_address_in_no_allowlist_is_refused(gateway: Gateway, address: str) -> None:
    async with gateway.client(address) as client:
        assert_refused(await post(client, body_of()))
    assert gateway.lookups == []


async def test_a_hospital_without_an_allowlist_cannot_call(gateway: Gateway) -> None:
    async with gateway.client("10.0.0.5") as client:
        assert_refused(await post(client, body_of(), {"X-Hospital-Id": "306"}))
    assert gateway.lookups == []


async def test_a_body_may_name_only_the_callers_hospital(gateway: Gateway) -> None:
    async with gateway.client("10.0.0.5") as client:
        assert (await post(client, body_of(hospitalId="301")))["code"] == "10001"
        assert_refused(await post(client, body_of(hospitalId="302")))
        assert_refused(await post(client, body_of(hospitalId="no-such-hospital")))
    assert gateway.lookups == [CARD]


async def test_an_address_shared_by_two_hospitals_acts_for_either(gateway: Gateway) -> None:
    async with gateway.client("10.0.0.9") as client:
        assert (await post(client, body_of(hospitalId="301")))["code"] == "10001"
        assert (await post(client, body_of(hospitalId="304")))["code"] == "10001"
        assert_refused(await post(client, body_of(hospitalId="303")))
        # X-Hospital-Id narrows the caller to one of them.
        assert_refused(await post(client, body_of(hospitalId="301"), {"X-Hospital-Id": "304"}))


def test_a_body_without_hospital_id_is_the_callers_or_must_say_which() -> None:
    assert ShimCaller(hospital_ids=frozenset({"301"}), auth="none").ensure_own_hospital(None) == "301"
    shared = ShimCaller(hospital_ids=frozenset({"301", "304"}), auth="none")
    assert shared.hospital_id is None
    with pytest.raises(ShimError) as missing:
        shared.ensure_own_hospital(None)
    assert missing.value.code == "20001"
    with pytest.raises(ShimUnauthorized):
        shared.ensure_own_hospital("302")


# --- auth = "api_key" ------------------------------------------------------------------------------------


async def test_the_right_api_key_is_accepted(gateway: Gateway) -> None:
    async with gateway.client("203.0.113.7") as client:
        reply = await post(client, body_of(), {"X-Hospital-Id": "302", "X-Api-Key": API_KEY})
    assert reply["code"] == "10001"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Hospital-Id": "302", "X-Api-Key": API_KEY + "x"},
        {"X-Hospital-Id": "302", "X-Api-Key": ""},
        {"X-Hospital-Id": "302"},
        {"X-Hospital-Id": "999", "X-Api-Key": API_KEY},
        {"X-Api-Key": API_KEY},  # no hospital named: only auth-none allowlists are looked at
        {"X-Hospital-Id": "305", "X-Api-Key": API_KEY},  # another hospital's key
    ],
)
async def test_a_wrong_api_key_is_refused(gateway: Gateway, headers: dict[str, str]) -> None:
    async with gateway.client("203.0.113.7") as client:
        assert_refused(await post(client, body_of(), headers))
    assert gateway.lookups == []


async def test_a_key_is_checked_against_the_allowlist_too(gateway: Gateway) -> None:
    headers = {"X-Hospital-Id": "305", "X-Api-Key": API_KEY + "-305"}
    async with gateway.client("203.0.113.7") as outside:
        assert_refused(await post(outside, body_of(), headers))
    async with gateway.client("192.168.7.20") as inside:
        assert (await post(inside, body_of(), headers))["code"] == "10001"


async def test_naming_a_keyed_hospital_from_an_allowlisted_address_still_needs_the_key(gateway: Gateway) -> None:
    async with gateway.client("10.0.0.5") as client:
        assert_refused(await post(client, body_of(), {"X-Hospital-Id": "302"}))


async def test_an_api_key_caller_acts_only_for_its_own_hospital(gateway: Gateway) -> None:
    headers = {"X-Hospital-Id": "302", "X-Api-Key": API_KEY}
    async with gateway.client() as client:
        assert (await post(client, body_of(hospitalId="302"), headers))["code"] == "10001"
        assert_refused(await post(client, body_of(hospitalId="303"), headers))
    assert gateway.lookups == [CARD]


# --- auth = "hmac" ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["hex", "base64"])
async def test_a_signed_call_is_accepted(gateway: Gateway, encoding: str) -> None:
    body = body_of()
    async with gateway.client() as client:
        reply = await post(client, body, signed(body, encoding=encoding))
    assert reply["code"] == "10001"
    assert reply["data"]["medicalCardNumber"] == CARD
    assert await gateway.nonces() == 1


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda body: signed(body, secret=SECRET + "x"), id="wrong-secret"),
        pytest.param(lambda body: signed(body_of(hospitalId="303")), id="signed-another-body"),
        pytest.param(lambda body: {**signed(body), "X-Nonce": "nonce-0002"}, id="nonce-swapped"),
        pytest.param(lambda body: {**signed(body), "X-Timestamp": str(int(NOW.timestamp()) + 1)}, id="time-swapped"),
        pytest.param(lambda body: {**signed(body), "X-Signature": "not a signature"}, id="garbage"),
        pytest.param(lambda body: {**signed(body), "X-Signature": ""}, id="empty"),
        pytest.param(lambda body: {**signed(body), "X-Nonce": "short"}, id="short-nonce"),
        pytest.param(lambda body: signed(body, hospital_id="302"), id="other-hospital"),
    ],
)
async def test_a_bad_signature_is_refused_and_changes_nothing(gateway: Gateway, tamper: Any) -> None:
    body = body_of()
    async with gateway.client() as client:
        assert_refused(await post(client, body, tamper(body)))
    assert gateway.lookups == []
    assert await gateway.nonces() == 0


@pytest.mark.parametrize("skew", [timedelta(seconds=-301), timedelta(seconds=301), timedelta(days=-1)])
async def test_a_stale_timestamp_is_refused(gateway: Gateway, skew: timedelta) -> None:
    body = body_of()
    async with gateway.client() as client:
        reply = await post(client, body, signed(body, at=NOW + skew))
    assert_refused(reply)
    assert "时间戳" in reply["msg"]
    assert gateway.lookups == []
    assert await gateway.nonces() == 0


async def test_a_timestamp_within_the_window_is_accepted(gateway: Gateway) -> None:
    body = body_of()
    async with gateway.client() as client:
        assert (await post(client, body, signed(body, at=NOW - timedelta(seconds=299))))["code"] == "10001"
        later = signed(body, at=NOW + timedelta(seconds=299), nonce="nonce-0002")
        assert (await post(client, body, later))["code"] == "10001"


async def test_a_replayed_nonce_is_refused(gateway: Gateway) -> None:
    body = body_of()
    headers = signed(body, nonce="replay-me-0001")
    async with gateway.client() as client:
        assert (await post(client, body, headers))["code"] == "10001"
        gateway.clock[0] = NOW + timedelta(seconds=30)
        replay = await post(client, body, headers)
    assert_refused(replay)
    assert "随机串" in replay["msg"]
    assert gateway.lookups == [CARD]
    assert await gateway.nonces() == 1


async def test_a_nonce_is_per_hospital_and_a_new_one_is_fine(gateway: Gateway) -> None:
    body = body_of()
    async with gateway.client() as client:
        assert (await post(client, body, signed(body, nonce="first-nonce")))["code"] == "10001"
        assert (await post(client, body, signed(body, nonce="second-nonce")))["code"] == "10001"
    assert len(gateway.lookups) == 2


async def test_a_signed_caller_acts_only_for_its_own_hospital(gateway: Gateway) -> None:
    own, other = body_of(hospitalId="303"), body_of(hospitalId="301")
    async with gateway.client() as client:
        assert (await post(client, own, signed(own, nonce="own-hospital")))["code"] == "10001"
        assert_refused(await post(client, other, signed(other, nonce="other-hospital")))
    assert gateway.lookups == [CARD]


async def test_the_reason_is_logged_not_told(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    body = body_of()
    with caplog.at_level(logging.WARNING, logger="hisgraph.shims.auth"):
        async with gateway.client() as client:
            reply = await post(client, body, signed(body, secret="guessed-secret-0000"))
    assert reply["msg"] == "无权访问该接口"
    refusals = [r for r in caplog.records if r.getMessage() == "shim call refused"]
    assert [r.reason for r in refusals] == ["bad signature"]  # type: ignore[attr-defined]
    assert SECRET not in caplog.text


# --- the nonce store -------------------------------------------------------------------------------------


async def test_stored_nonces_are_single_use_per_hospital_and_pruned(tmp_path: Path) -> None:
    async with Database(f"sqlite+aiosqlite:///{tmp_path / 'nonces.sqlite3'}") as db:
        async with db.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        nonces = StoredNonces(db, keep_for=timedelta(minutes=15))
        assert await nonces.first_use(hospital_id="303", nonce="abc-12345", now=NOW)
        assert not await nonces.first_use(hospital_id="303", nonce="abc-12345", now=NOW)
        assert await nonces.first_use(hospital_id="302", nonce="abc-12345", now=NOW)
        later = NOW + timedelta(minutes=20)
        assert await nonces.first_use(hospital_id="303", nonce="fresh-nonce", now=later)
        async with db.session() as session:
            left = (await session.scalars(select(ShimNonce.nonce).order_by(ShimNonce.id))).all()
        assert left == ["fresh-nonce"]
