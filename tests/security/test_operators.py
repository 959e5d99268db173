"""Operators' accounts under attack: access taken away at once, sessions that end, an audit trail that holds.

Issue 15 items 10-13. Everything goes through the real ASGI app, a real (SQLite) store and real HTTP to the
simulated hospitals; times are moved by the sessions' clock, never waited for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, text

from api.settings import Settings
from his_clients.registry import Registry
from services.identity.operators import OperatorService
from services.identity.principal import OperatorPrincipal
from store.accounts import Operator
from store.models import utcnow
from tests.api.paid_orders import HOSPITAL
from tests.conftest import run_graphql, running_gateway, sign_in_operator
from tests.graph.test_inbound_replay import RECORD, hospital_posts, replay

PASSWORD = "a long pass phrase 1"

LOGIN = """
mutation ($u: String!, $p: String!) { logInOperator(username: $u, password: $p) {
  __typename ... on Session { token expiresAt } ... on Refusal { code message } } }"""
ME = "{ me { cards { medicalCardNumber } operator { username role hospitalId disabled lastLoginAt } } }"
OPERATORS = "{ operator { operators { username role hospitalId disabled lastLoginAt } } }"
DISABLE = """mutation ($u: String!) { disableOperator(username: $u) {
  __typename ... on OperatorAccount { username disabled } ... on Refusal { code } } }"""
RESET = """mutation ($u: String!) { resetOperatorPassword(username: $u) {
  __typename ... on OperatorPasswordReset { username oneTimePassword } ... on Refusal { code } } }"""
CHANGE = """mutation ($old: String!, $new: String!) { changeOperatorPassword(oldPassword: $old, newPassword: $new) {
  __typename ... on OperatorAccount { username } ... on Refusal { code } } }"""
LOGOUT = "mutation { logOutOperator }"
AUDIT = """query ($op: String, $action: String, $first: Int!, $after: String) {
  operator { auditLog(operator: $op, action: $action, first: $first, after: $after) {
    entries { operator action hospitalId target detail } endCursor hasNextPage } } }"""


@pytest.fixture
async def gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'ops.sqlite3'}", registry=region)
    async with running_gateway(settings, signed_in=False) as client:
        operators: OperatorService = client._transport.app.state.services.operators  # type: ignore[attr-defined]
        await operators.create(username="admin", password=PASSWORD, role="region", hospital_id=None)
        await operators.create(username="leaving", password=PASSWORD, role="region", hospital_id=None)
        await operators.create(username="li.na", password=PASSWORD, role="hospital", hospital_id="253")
        await operators.create(username="zhao", password=PASSWORD, role="hospital", hospital_id="254")
        yield client


def services_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app.state.services  # type: ignore[attr-defined]


async def gql(client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text[:300]
    body: dict[str, Any] = response.json()
    return body


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    body = await gql(client, LOGIN, u=username, p=password)
    result = body["data"]["logInOperator"]
    assert result["__typename"] == "Session", result
    token: str = result["token"]
    return token


def unauthenticated(body: dict[str, Any]) -> bool:
    return any(e.get("extensions", {}).get("code") == "UNAUTHENTICATED" for e in body.get("errors", []))


async def can_read(client: httpx.AsyncClient, token: str) -> bool:
    body = await gql(client, "{ operator { auditLog(first: 1) { hasNextPage } } }", token)
    if unauthenticated(body):
        assert body["data"] == {"operator": None}
        return False
    assert "errors" not in body, body
    return True


async def test_a_disabled_operator_loses_access_at_once(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 10 and 11: disableOperator ends every session of the operator at once; they cannot log in."""
    admin = await login(gateway, "admin")
    leaving = await login(gateway, "leaving")
    second = await login(gateway, "leaving")
    assert await can_read(gateway, leaving)
    listed = (await gql(gateway, OPERATORS, admin))["data"]["operator"]["operators"]
    assert {o["username"]: o["role"] for o in listed} == {
        "admin": "REGION",
        "leaving": "REGION",
        "li.na": "HOSPITAL",
        "zhao": "HOSPITAL",
    }
    assert next(o for o in listed if o["username"] == "leaving")["lastLoginAt"]
    done = await gql(gateway, DISABLE, admin, u="leaving")
    assert done["data"]["disableOperator"] == {"__typename": "OperatorAccount", "username": "leaving", "disabled": True}
    assert not await can_read(gateway, leaving)
    assert not await can_read(gateway, second)
    refused = await gql(gateway, LOGIN, u="leaving", p=PASSWORD)
    assert refused["data"]["logInOperator"]["code"] == "WRONG_PASSWORD"  # said like a wrong password
    assert (await gql(gateway, DISABLE, admin, u="nobody"))["data"]["disableOperator"]["code"] == "NOT_FOUND"
    assert (await gql(gateway, DISABLE, admin, u="admin"))["data"]["disableOperator"]["code"] == "SELF"


async def test_a_deleted_operator_loses_access_at_once(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 10: the row deleted (by hand, in the database), the token opens nothing."""
    leaving = await login(gateway, "leaving")
    assert await can_read(gateway, leaving)
    async with services_of(gateway).db.session() as db:
        await db.execute(text("DELETE FROM operator_sessions"))  # SQLite runs without foreign keys here
        await db.execute(delete(Operator).where(Operator.username == "leaving"))
    assert not await can_read(gateway, leaving)


async def test_a_reset_password_ends_sessions_and_the_one_time_password_works(gateway: httpx.AsyncClient) -> None:
    """issue 15 items 10 and 11: resetOperatorPassword returns a generated password once and ends the sessions."""
    admin = await login(gateway, "admin")
    leaving = await login(gateway, "leaving")
    reset = (await gql(gateway, RESET, admin, u="leaving"))["data"]["resetOperatorPassword"]
    assert reset["__typename"] == "OperatorPasswordReset"
    assert len(reset["oneTimePassword"]) >= 20
    assert not await can_read(gateway, leaving)
    refused = await gql(gateway, LOGIN, u="leaving", p=PASSWORD)
    assert refused["data"]["logInOperator"]["__typename"] == "Refusal"
    assert await can_read(gateway, await login(gateway, "leaving", reset["oneTimePassword"]))


async def test_only_region_operators_administer_and_a_scope_error_nulls_that_field_alone(
    gateway: httpx.AsyncClient,
) -> None:
    """issue 15 items 11 and 13: a hospital operator gets 50001 on operators and the admin mutations; the other
    views of the same request still answer."""
    hospital = await login(gateway, "li.na")
    body = await gql(gateway, "{ operator { operators { username } auditLog(first: 5) { hasNextPage } } }", hospital)
    assert body["data"]["operator"]["operators"] is None
    assert body["data"]["operator"]["auditLog"] is not None
    [error] = body["errors"]
    assert error["path"] == ["operator", "operators"]
    assert error["extensions"]["code"] == "50001"
    for mutation in (DISABLE, RESET):
        refused = await gql(gateway, mutation, hospital, u="zhao")
        assert refused["errors"][0]["extensions"]["code"] == "50001"
    assert await can_read(gateway, await login(gateway, "zhao"))  # nothing happened to zhao
    # Another hospital asked by a hospital operator: that view alone is null.
    other = await gql(
        gateway,
        '{ operator { inboundCalls(hospitalId: "254") { id } auditLog(first: 1) { hasNextPage } } '
        "me { operator { username } } }",
        hospital,
    )
    assert other["data"]["operator"]["inboundCalls"] is None
    assert other["data"]["operator"]["auditLog"] is not None
    assert other["data"]["me"] == {"operator": {"username": "li.na"}}


async def test_logout_ends_one_session(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 10: logOutOperator ends the session it is sent with, not the operator's others."""
    first = await login(gateway, "admin")
    second = await login(gateway, "admin")
    assert (await gql(gateway, LOGOUT, first))["data"] == {"logOutOperator": True}
    assert not await can_read(gateway, first)
    assert await can_read(gateway, second)
    assert unauthenticated(await gql(gateway, LOGOUT, first))


async def test_changing_the_password_ends_the_other_sessions(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 10: changeOperatorPassword keeps the current session, ends the others; a weak or unchanged
    password and a wrong old password are refused; guessing the old password locks like a login."""
    current = await login(gateway, "admin")
    other = await login(gateway, "admin")
    assert (await gql(gateway, CHANGE, current, old=PASSWORD, new="short"))["data"]["changeOperatorPassword"][
        "code"
    ] == "WEAK_PASSWORD"
    changed = await gql(gateway, CHANGE, current, old=PASSWORD, new="another long phrase 2")
    assert changed["data"]["changeOperatorPassword"] == {"__typename": "OperatorAccount", "username": "admin"}
    assert await can_read(gateway, current)
    assert not await can_read(gateway, other)
    assert (await gql(gateway, LOGIN, u="admin", p=PASSWORD))["data"]["logInOperator"]["__typename"] == ("Refusal")
    codes = [
        (await gql(gateway, CHANGE, current, old=f"wrong guess {n}", new="a third long phrase 3"))["data"][
            "changeOperatorPassword"
        ]["code"]
        for n in range(8)
    ]
    assert codes[0] == "WRONG_PASSWORD"
    assert codes[-1] == "THROTTLED"
    # A patient or nobody cannot change an operator's password.
    assert unauthenticated(await gql(gateway, CHANGE, None, old=PASSWORD, new="another long phrase 2"))


async def test_sessions_end_when_idle_and_after_their_lifetime(
    gateway: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """issue 15 item 10: 30 minutes without a request, or 8 hours in all, and the session is over."""
    sessions = services_of(gateway).operators.sessions
    now = [utcnow()]
    monkeypatch.setattr(sessions, "_clock", lambda: now[0])
    idle = await login(gateway, "admin")
    busy = await login(gateway, "admin")
    for _ in range(10):  # 10 x 20 minutes of use: never idle 30 minutes, but past 3 hours
        now[0] += timedelta(minutes=20)
        assert await can_read(gateway, busy)
    assert not await can_read(gateway, idle)
    now[0] += timedelta(hours=5)
    assert not await can_read(gateway, busy)


async def test_a_stateless_operator_token_opens_nothing(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 10: a signed operator token without a stored session (what the gateway issued before) or
    with a made-up session id is refused."""
    sessions = services_of(gateway).sessions
    with pytest.raises(ValueError, match="stored session"):
        sessions.issue(OperatorPrincipal(operator_id=1, role="region", hospital_id=None))
    made_up = sessions.issue(OperatorPrincipal(operator_id=1, role="region", hospital_id=None, session_id="x" * 32))
    assert not await can_read(gateway, made_up)


async def test_me_answers_an_operator(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 10: me gives an operator's username, role and hospital (cards empty)."""
    body = await gql(gateway, ME, await login(gateway, "li.na"))
    me = body["data"]["me"]
    assert me["cards"] == []
    assert {k: me["operator"][k] for k in ("username", "role", "hospitalId", "disabled")} == {
        "username": "li.na",
        "role": "HOSPITAL",
        "hospitalId": "253",
        "disabled": False,
    }


async def test_the_audit_trail_records_logins_and_actions_scoped_by_hospital(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 12: logins, failed logins, disable, reset, password change and logout are audited; a hospital
    operator reads only their hospital's rows; pages follow the cursor; rows cannot be changed or removed."""
    admin = await login(gateway, "admin")
    await gql(gateway, LOGIN, u="zhao", p="wrong password here")
    await gql(gateway, LOGIN, u="nobody", p="wrong password here")
    hospital = await login(gateway, "li.na")
    await gql(gateway, DISABLE, admin, u="zhao")
    await gql(gateway, RESET, admin, u="leaving")
    await gql(gateway, CHANGE, hospital, old=PASSWORD, new="another long phrase 2")
    trail = (await gql(gateway, AUDIT, admin, first=50))["data"]["operator"]["auditLog"]
    actions = [(e["operator"], e["action"], e["target"]) for e in trail["entries"]]
    assert ("admin", "login", None) in actions
    assert ("zhao", "login-failed", None) in actions
    assert ("nobody", "login-failed", None) in actions
    assert ("admin", "operator-disabled", "zhao") in actions
    assert ("admin", "password-reset", "leaving") in actions
    assert ("li.na", "password-changed", "li.na") in actions
    assert "oneTimePassword" not in str(trail)
    assert PASSWORD not in str(trail)
    own = (await gql(gateway, AUDIT, hospital, first=50))["data"]["operator"]["auditLog"]["entries"]
    assert own
    assert {e["hospitalId"] for e in own} == {"253"}
    only = (await gql(gateway, AUDIT, admin, op="admin", action="login", first=50))["data"]["operator"]
    assert {(e["operator"], e["action"]) for e in only["auditLog"]["entries"]} == {("admin", "login")}
    # Paging: two at a time, the same rows as one page.
    seen: list[Any] = []
    after = None
    while True:
        page = (await gql(gateway, AUDIT, admin, first=2, after=after))["data"]["operator"]["auditLog"]
        seen.extend(page["entries"])
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert len(seen) == len(trail["entries"])
    bad = await gql(gateway, AUDIT, admin, first=0)
    assert bad["data"]["operator"]["auditLog"] is None
    assert bad["errors"][0]["extensions"]["code"] == "20004"
    assert (await gql(gateway, AUDIT, admin, first=5, after="x"))["errors"][0]["extensions"]["code"] == "20003"
    assert (await gql(gateway, AUDIT, admin, first=5, action="drop"))["errors"][0]["extensions"]["code"] == "20003"
    # Logout is audited too.
    await gql(gateway, LOGOUT, hospital)
    trail = (await gql(gateway, AUDIT, admin, action="logout", first=5))["data"]["operator"]["auditLog"]
    assert [e["operator"] for e in trail["entries"]] == ["li.na"]
    # Append-only.
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"):
            async with services_of(gateway).db.session() as db:
                await db.execute(text(statement))


RECORDS = """query ($h: String!) { operator {
  reconciliationRecords(hospitalId: $h, from: "2019-04-01 00:00:00", to: "2019-04-03 00:00:00") {
    hospitalId records { patientName medicalCardNumber } } } }"""


async def test_reads_of_patients_data_are_audited_with_the_patient_masked(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 12: reconciliationRecords returns names and card numbers: the read is audited per patient,
    the card masked, the view named; the hospital operator of 253 reads the row, 254's does not."""
    admin = await login(gateway, "admin")
    body = await gql(gateway, RECORDS, admin, h="253")
    records = body["data"]["operator"]["reconciliationRecords"][0]["records"]
    assert records
    card = records[0]["medicalCardNumber"]
    trail = (await gql(gateway, AUDIT, admin, action="patient-data-read", first=50))["data"]["operator"]["auditLog"]
    entries = [e for e in trail["entries"] if e["hospitalId"] == "253"]
    assert len(entries) == len({r["medicalCardNumber"] for r in records})  # one row per patient
    assert {e["operator"] for e in entries} == {"admin"}
    assert f"card {card[:4]}{'*' * (len(card) - 8)}{card[-4:]}" in {e["target"] for e in entries}
    assert card not in str(trail)
    assert all('"view": "reconciliationRecords"' in e["detail"] for e in entries)
    mine = await gql(gateway, AUDIT, await login(gateway, "li.na"), action="patient-data-read", first=50)
    assert len(mine["data"]["operator"]["auditLog"]["entries"]) == len(entries)
    theirs = await gql(gateway, AUDIT, await login(gateway, "zhao"), action="patient-data-read", first=5)
    assert theirs["data"]["operator"]["auditLog"]["entries"] == []


@pytest.fixture
async def replay_gateway(region: Registry, tmp_path: Path, sim_admin: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    """As tests/graph/test_inbound_replay.py's gateway: hospitals post from loopback, no payment worker."""
    sim_admin.post("/admin/reset").raise_for_status()
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'replay.sqlite3'}",
        registry=region,
        request_deadline_s=3.0,
        run_payment_worker=False,
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


async def test_a_replayed_call_is_audited(replay_gateway: httpx.AsyncClient) -> None:
    """issue 15 item 12: replayInboundCall writes who replayed which call, for the call's hospital."""
    call_id = await hospital_posts(replay_gateway, RECORD, {"hospitalId": HOSPITAL, "outTradeNo": "JZKCZ-1"})
    sign_in_operator(replay_gateway, role="region")
    assert (await replay(replay_gateway, call_id))["__typename"] == "InboundReplaySuccess"
    body = await run_graphql(replay_gateway, AUDIT, action="inbound-call-replayed", first=5)
    [entry] = body["data"]["operator"]["auditLog"]["entries"]
    assert entry["operator"] == "test.region.all"
    assert entry["target"] == f"inbound call {call_id}"
    assert entry["hospitalId"] == HOSPITAL
