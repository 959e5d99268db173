"""An account card's relation: SELF for the holder's own card, else the spec's 附五 code (issue 11 item 1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from resolvers.identity.types import Relation
from services.identity.accounts import HOLDER, RELATIONS
from services.messages.directory import recipient_unionid
from store.accounts import AccountCard as StoredCard
from store.messages import OutboundMessage
from tests.conftest import run_graphql

DICTIONARIES = json.loads((Path(__file__).resolve().parents[2] / "spec" / "dictionaries.json").read_text("utf-8"))
ME = "{ me { cards { medicalCardNumber relation relationCode } } }"
CREATE = """
mutation ($rel: Relation!) {
  createHealthCard(hospitalId: "254", name: "李大山", sex: MALE, birthDate: "1958-03-02", phone: "13900001111",
                   relation: $rel) {
    __typename ... on AccountCard { medicalCardNumber relation relationCode } ... on Refusal { code }
  }
}"""
OLD_SCHEME = """
mutation {
  createHealthCard(hospitalId: "254", name: "李大山", sex: MALE, birthDate: "1958-03-02", phone: "13900001111",
                   relation: "1") { __typename }
}"""


def app_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app  # type: ignore[attr-defined]


async def test_the_holders_own_card_is_self_with_no_code(gateway: httpx.AsyncClient) -> None:
    """issue 11 item 1: the holder's own card reads SELF (附五 has no code for oneself), never "0"."""
    cards = (await run_graphql(gateway, ME))["data"]["me"]["cards"]
    assert [(c["relation"], c["relationCode"]) for c in cards] == [("SELF", None)]


@pytest.mark.parametrize(
    ("relation", "code"),
    [("FATHER", "01"), ("MOTHER", "02"), ("SON", "03"), ("DAUGHTER", "04"), ("OTHER", "05")],
)
async def test_a_family_members_card_is_stored_with_its_fu5_code(
    gateway: httpx.AsyncClient, relation: str, code: str
) -> None:
    """issue 11 item 1: each non-SELF relation is stored and shown as its 附五 code (01 父亲 … 05 其他)."""
    card = (await run_graphql(gateway, CREATE, rel=relation))["data"]["createHealthCard"]
    assert (card["__typename"], card["relation"], card["relationCode"]) == ("AccountCard", relation, code)
    async with app_of(gateway).state.services.db.session() as db:
        stored = (
            await db.execute(
                select(StoredCard.relation).where(StoredCard.medical_card_number == card["medicalCardNumber"])
            )
        ).scalar_one()
    assert stored == code


async def test_the_platforms_old_0_to_4_scheme_is_refused(gateway: httpx.AsyncClient) -> None:
    """issue 11 item 1: the old codes are no longer accepted: "1" is not a Relation (a GraphQL error, no card)."""
    body = await run_graphql(gateway, OLD_SCHEME)
    assert body.get("data") is None
    assert body["errors"]


def test_the_relation_enum_is_self_and_the_fu5_dictionary() -> None:
    """issue 11 item 1: the non-SELF values are exactly 附五 (spec/dictionaries.json), nothing of 0-4."""
    assert (
        {r.stored for r in Relation} - {HOLDER}
        == set(RELATIONS)
        == {e["code"] for e in DICTIONARIES["relationship"]["entries"]}
    )


async def test_messages_go_to_the_holders_own_account_first(gateway: httpx.AsyncClient) -> None:
    """issue 11 item 1: the message directory's "holder first" reads the new stored value: a family member's
    account that bound the card earlier (relation 02) yields to the holder's own (SELF), not to binding order."""
    accounts = app_of(gateway).state.services.accounts
    card = "001000077777777"
    family = await accounts.account_for(openid="test:mother", unionid="union-mother")
    holder = await accounts.account_for(openid="test:holder", unionid="union-holder")
    await accounts.grant(account_id=family.id, medical_card_number=card, hospital_id=None, relation="02", how="created")
    await accounts.grant(account_id=holder.id, medical_card_number=card, hospital_id=None, how="created")
    message = OutboundMessage(kind="test", hospital_id="253", medical_card_number=card, payload={}, dedupe_key="t")
    async with app_of(gateway).state.services.db.session() as db:
        assert await recipient_unionid(db, message) == "union-holder"
