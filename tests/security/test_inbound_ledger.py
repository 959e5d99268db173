"""The inbound ledger records every shim call (1.3.1 and refused authentication included), filters and pages,
and says which call an operator's replay repeats (issue 15 item 8)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Hospital, Registry
from tests.conftest import run_graphql, running_gateway, sign_in_operator

PATIENT_INFO = "/prefront/patient/getPatientInfo"  # 1.3.1
REFUND_QUERY = "/prefront/hospitalizationCosts/hisRefundQuery"  # 9.1.2
API_KEY = "key-of-hospital-259-abcdef"
JSON = {"Content-Type": "application/json"}


def _hospital(hospital_id: str, **auth: Any) -> Hospital:
    return Hospital(id=hospital_id, name=f"医院{hospital_id}", base_url=f"http://127.0.0.1:9/his/{hospital_id}", **auth)


REGISTRY = Registry(
    hospitals=(
        _hospital("253", allowed_ips=("127.0.0.1",)),
        _hospital("254", auth="hmac", hmac_secret="secret-of-hospital-254-abcdef"),
        _hospital("259", auth="api_key", api_key=API_KEY),
    )
)

CALLS = """
query Calls($section: String, $replyCode: String, $after: ID, $limit: Int!, $from: DateTime, $to: DateTime) {
  operator { inboundCalls(section: $section, replyCode: $replyCode, after: $after, limit: $limit, from: $from,
                          to: $to) {
    id section hospitalId claimedHospitalId replyCode body reply isRepeat replayOf replayedBy
  } }
}"""
REPLAY = """
mutation Replay($id: ID!) { replayInboundCall(callId: $id) {
  __typename ... on InboundReplaySuccess { replyCode } ... on Refusal { code message } } }"""


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ledger.sqlite3'}", registry=REGISTRY, run_payment_worker=False
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


async def calls(client: httpx.AsyncClient, **variables: Any) -> list[dict[str, Any]]:
    merged = {"section": None, "replyCode": None, "after": None, "limit": 50, "from": None, "to": None, **variables}
    body = await run_graphql(client, CALLS, **merged)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["operator"]["inboundCalls"]
    return found


async def test_1_3_1_lookups_are_recorded(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 8: 1.3.1 getPatientInfo hands out a patient's identity, so each call is in the ledger."""
    body = json.dumps({"medicalCardNumber": "001000056254587"}).encode()
    answer = (await gateway.post(PATIENT_INFO, content=body, headers=JSON)).json()
    assert answer["code"] == "10002"  # no such card on the platform
    bad = (await gateway.post(PATIENT_INFO, content=b'{"medicalCardNumber": "12"}', headers=JSON)).json()
    assert bad["code"] == "20003"

    sign_in_operator(gateway)
    recorded = await calls(gateway, section="1.3.1")
    assert [(c["hospitalId"], c["replyCode"]) for c in recorded] == [("253", "20003"), ("253", "10002")]
    assert json.loads(recorded[1]["body"]) == {"medicalCardNumber": "001000056254587"}


async def test_calls_refused_at_authentication_are_recorded_with_the_hospital_they_claimed(
    gateway: httpx.AsyncClient,
) -> None:
    """issue 15 item 8: a forged call claiming hospital 254 (no valid signature) is refused 50001 and recorded,
    masked, with what it claimed; only 254's operators and region operators see it; replyCode filters."""
    forged = json.dumps({"hospitalId": "254", "outTradeNo": "X-1", "idCard": "370102197907025236"}).encode()
    headers = {**JSON, "X-Hospital-Id": "254", "X-Timestamp": "1", "X-Nonce": "nonce-123456", "X-Signature": "00"}
    refused = (await gateway.post(REFUND_QUERY, content=forged, headers=headers)).json()
    assert refused["code"] == "50001"
    accepted = json.dumps({"outTradeNo": "X-2"}).encode()
    await gateway.post(REFUND_QUERY, content=accepted, headers={**JSON, "X-Hospital-Id": "259", "X-Api-Key": API_KEY})

    sign_in_operator(gateway)
    [call] = await calls(gateway, replyCode="50001")
    assert (call["hospitalId"], call["claimedHospitalId"], call["section"]) == (None, "254", "9.1.2")
    assert "370102197907025236" not in call["body"]  # masked as every recorded body
    assert len(await calls(gateway)) == 2

    sign_in_operator(gateway, role="hospital", hospital_id="254")
    assert [c["id"] for c in await calls(gateway)] == [call["id"]]
    sign_in_operator(gateway, role="hospital", hospital_id="253")
    assert await calls(gateway) == []


async def test_the_ledger_pages_with_a_cursor_and_filters_by_time(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 8: pages follow `after`, a time window filters, a bad cursor or window is a clear error."""
    for number in range(3):
        body = json.dumps({"medicalCardNumber": f"00100005625458{number}"}).encode()
        await gateway.post(PATIENT_INFO, content=body, headers=JSON)
    sign_in_operator(gateway)
    first = await calls(gateway, limit=2)
    rest = await calls(gateway, limit=2, after=first[-1]["id"])
    assert len(first) == 2
    assert len(rest) == 1
    assert int(rest[0]["id"]) < int(first[-1]["id"])
    assert await calls(gateway, **{"from": "2000-01-01 00:00:00", "to": "2000-01-02 00:00:00"}) == []
    refused = await run_graphql(
        gateway, CALLS, section=None, replyCode=None, after="x", limit=5, **{"from": None, "to": None}
    )
    assert refused["data"]["operator"]["inboundCalls"] is None
    assert refused["errors"][0]["extensions"]["code"] == "20003"


async def test_a_replay_says_what_it_replays_and_who_replayed_it(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 8: a replay shows replayedBy and replayOf; the repeat of an accepted call is marked."""
    body = json.dumps({"outTradeNo": "X-3"}).encode()
    await gateway.post(REFUND_QUERY, content=body, headers={**JSON, "X-Hospital-Id": "259", "X-Api-Key": API_KEY})
    sign_in_operator(gateway)
    [original] = await calls(gateway)
    replayed = await run_graphql(gateway, REPLAY, id=original["id"])
    assert replayed["data"]["replayInboundCall"]["__typename"] == "InboundReplaySuccess", replayed
    newest, older = await calls(gateway)
    assert older["id"] == original["id"]
    assert (older["replayOf"], older["replayedBy"]) == (None, None)
    assert (newest["replayOf"], newest["replayedBy"]) == (original["id"], "test.region.all")
    assert newest["isRepeat"] is False
