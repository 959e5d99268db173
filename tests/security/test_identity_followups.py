"""Identity follow-ups (issue 10, found while closing it): updatePatientInfo cannot write an ID number the account
has not proven into the hospital's record of a card.

Through the real ASGI app, real HTTP to the simulated hospital and a real (SQLite) store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.identity.principal import PatientPrincipal
from tests.conftest import DEMO_CARD, DEMO_ID_NUMBER, calls, run_graphql, running_gateway

UPDATE = "hospital.interface.updateHisPatientInfo"
SOMEONE_ELSE = "110101199003077777"
QUERY = """mutation ($card: String!, $id: String) {
  updatePatientInfo(hospitalId: "253", input: {medicalCardNumber: $card, idCardNumber: $id, phone: "13600002222"}) {
    __typename ... on Refusal { field code } } }"""


@pytest.fixture
async def gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'followups.sqlite3'}", registry=region)
    async with running_gateway(settings, signed_in=False) as client:
        yield client


async def holder_of(client: httpx.AsyncClient, *, openid: str, proven_id: str | None) -> None:
    """Sign the client in as an account holding the demo card, with (or without) a proven ID number."""
    services: Any = client._transport.app.state.services  # type: ignore[attr-defined]
    account = await services.accounts.account_for(openid=openid)
    await services.accounts.grant(
        account_id=account.id, medical_card_number=DEMO_CARD, hospital_id=None, how="created", id_card_number=proven_id
    )
    client.headers["Authorization"] = f"Bearer {services.sessions.issue(PatientPrincipal(account_id=account.id))}"


async def test_a_created_card_cannot_write_an_unproven_id_number(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 10 follow-up (assignment item 5): the holder of a created card, which proves no ID number, cannot
    set the hospital record's ID number to anyone's; nothing is sent. Other details still can be corrected."""
    await holder_of(gateway, openid="test:created", proven_id=None)
    for id_number in (SOMEONE_ELSE, DEMO_ID_NUMBER):
        body = await run_graphql(gateway, QUERY, card=DEMO_CARD, id=id_number)
        assert body["data"]["updatePatientInfo"] == {
            "__typename": "Refusal",
            "field": "idCardNumber",
            "code": "PARAMETER_FORMAT",
        }
    assert calls(sim_admin, method=UPDATE) == []
    phone_only = await run_graphql(gateway, QUERY, card=DEMO_CARD, id=None)
    assert phone_only["data"]["updatePatientInfo"] == {"__typename": "UpdatePatientInfoSuccess"}
    [sent] = calls(sim_admin, method=UPDATE)
    assert not sent["body"].get("idcard")


async def test_a_proven_id_number_may_be_written_and_no_other(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 10 follow-up (assignment item 5): an account that proved the ID number may send it (lower-case x
    alike); another ID number is refused before any call; a malformed one is 20003 too."""
    await holder_of(gateway, openid="test:proven", proven_id=DEMO_ID_NUMBER)
    refused = await run_graphql(gateway, QUERY, card=DEMO_CARD, id=SOMEONE_ELSE)
    assert refused["data"]["updatePatientInfo"]["code"] == "PARAMETER_FORMAT"
    malformed = await run_graphql(gateway, QUERY, card=DEMO_CARD, id="12345")
    assert malformed["data"]["updatePatientInfo"]["code"] == "PARAMETER_FORMAT"
    assert calls(sim_admin, method=UPDATE) == []
    same = await run_graphql(gateway, QUERY, card=DEMO_CARD, id=DEMO_ID_NUMBER)
    assert same["data"]["updatePatientInfo"] == {"__typename": "UpdatePatientInfoSuccess"}
    [sent] = calls(sim_admin, method=UPDATE)
    assert sent["body"]["idcard"] == DEMO_ID_NUMBER
