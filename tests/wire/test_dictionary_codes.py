"""1.2.3 sends the spec's dictionary codes: 附五 for relation, 附一 for nation (issue 11 item 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from pydantic import ValidationError

from his_clients.models.base import NationCode, RelationCode
from his_clients.models.cards import CreateCardContactsRequest
from tests.conftest import DEMO_CARD, calls, run_graphql

DICTIONARIES = json.loads((Path(__file__).resolve().parents[2] / "spec" / "dictionaries.json").read_text("utf-8"))
METHOD = "hospital.interface.createCardContacts"
ADD = """
mutation Add($input: CardContactInput!) {
  result: addCardContact(hospitalId: "253", input: $input) {
    __typename
    ... on AddCardContactSuccess { hospitalId }
    ... on Refusal { field code message }
  }
}"""
CONTACT = {
    "medicalCardNumber": DEMO_CARD,
    "name": "张大山",
    "sex": "MALE",
    "birthDate": "1958-03-02",
    "address": "山东省济南市历下区",
    "idCardNumber": "370102195803021234",
    "phone": "13800000000",
    "nation": "01",
    "relation": "FATHER",
}


def test_the_code_types_are_the_spec_dictionaries() -> None:
    """issue 11 item 1: the allowed codes are exactly 附一 and 附五, nothing of the platform's own."""
    assert set(get_args(NationCode)) == {e["code"] for e in DICTIONARIES["nation"]["entries"]}
    assert set(get_args(RelationCode)) == {e["code"] for e in DICTIONARIES["relationship"]["entries"]}


@pytest.mark.parametrize(("field", "value"), [("relation", "1"), ("relation", "0"), ("nation", "97")])
def test_the_request_model_refuses_other_codes(field: str, value: str) -> None:
    """issue 11 item 1: even a caller that skips the resolver cannot send a code outside 附一/附五."""
    good = {
        "medical_card_number": DEMO_CARD,
        "name": "张大山",
        "gender": "1",
        "birthday": "1958-03-02",
        "address": "地址",
        "id_card": "370102195803021234",
        "phone": "13800000000",
        "nation": "01",
        "relation": "02",
    }
    CreateCardContactsRequest(**good)
    with pytest.raises(ValidationError):
        CreateCardContactsRequest(**{**good, field: value})


async def test_a_contact_goes_out_with_the_spec_codes(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 11 item 1: relation MOTHER goes out as 附五 02, nation 03 (回族) as written, sex as the spec's 1/2
    (issue 12 item 8)."""
    body = await run_graphql(gateway, ADD, input={**CONTACT, "relation": "MOTHER", "nation": "03", "sex": "FEMALE"})
    assert body["data"]["result"]["__typename"] == "AddCardContactSuccess", body
    [call] = calls(sim_admin, method=METHOD)
    assert (call["body"]["relation"], call["body"]["nation"], call["body"]["gender"]) == ("02", "03", "2")
    assert call["body"]["birthday"] == "1958-03-02"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("nation", "97", "PARAMETER_FORMAT"),
        ("nation", "1", "PARAMETER_FORMAT"),
        ("relation", "SELF", "PARAMETER_RANGE"),
    ],
)
async def test_codes_outside_the_dictionaries_are_refused_before_any_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, field: str, value: str, code: str
) -> None:
    """issue 11 item 1: non-附一 nations are refused with 20003 (PARAMETER_FORMAT), and a contact cannot be the
    holder (SELF, 20004), never sent."""
    body: dict[str, Any] = await run_graphql(gateway, ADD, input={**CONTACT, field: value})
    result = body["data"]["result"]
    assert result["__typename"] == "Refusal", body
    assert (result["field"], result["code"]) == (field, code)
    assert calls(sim_admin, method=METHOD) == []


@pytest.mark.parametrize("value", ["1", "4", "01", "05"])
async def test_the_old_relation_strings_are_graphql_errors(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, value: str
) -> None:
    """issue 12 item 8: relation is the Relation enum; the old 0-4 scheme and raw 附五 codes are not values of it."""
    body: dict[str, Any] = await run_graphql(gateway, ADD, input={**CONTACT, "relation": value})
    assert body.get("data") is None, body
    assert body["errors"]
    assert calls(sim_admin, method=METHOD) == []


@pytest.mark.parametrize(("field", "value"), [("relation", "1"), ("nation", "97")])
def test_the_simulated_hospital_refuses_codes_outside_the_dictionaries(
    sim_admin: httpx.Client, simulator: Any, field: str, value: str
) -> None:
    """issue 11 item 1: the simulator is as strict as a real HIS, so the gateway cannot agree with it on the
    platform's old codes: 1.2.3 with relation "1" or nation "97" is 20003."""
    body = {
        "hospitalId": "253",
        "medicalCardNumber": DEMO_CARD,
        "name": "张大山",
        "gender": "1",
        "birthday": "1958-03-02",
        "address": "地址",
        "idcard": "370102195803021234",
        "phone": "13800000000",
        "nation": "01",
        "relation": "02",
    }
    url = f"{simulator.base_url}/his/253/{METHOD}"
    assert httpx.post(url, json=body).json()["code"] == "10001"
    refused = httpx.post(url, json={**body, field: value}).json()
    assert (refused["success"], refused["code"]) == (False, "20003")
