"""Who is asking, and what they may see: WeChat login, proving cards, and refusals that reveal nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from his_clients.registry import Registry
from services.identity.operators import OperatorService
from tests.conftest import calls, run_graphql, running_gateway, sign_in_operator, sign_in_patient
from tests.fakes.serve import serving
from tests.fakes.wechat import fake_wechat_app

CARD = "001000056254587"
OPERATIONS = sorted((Path(__file__).parents[1] / "graph" / "operations").glob("*.graphql"))
LOGIN = """
mutation ($code: String!) {
  logInWithWeChat(code: $code) { __typename ... on Session { token } ... on Refusal { code } }
}"""
ME = "{ me { cards { medicalCardNumber origin relation physicalCardNumber } } }"


@pytest.fixture(scope="module")
def wechat() -> Iterator[str]:
    """A local fake of WeChat's jscode2session."""
    with serving(fake_wechat_app()) as base_url:
        yield base_url


@pytest.fixture
async def anonymous(region: Registry, tmp_path: Path, wechat: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}",
        registry=region,
        wechat_appid="wx-test-app",
        wechat_secret="wx-test-secret",
        wechat_base_url=wechat,
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


def app_of(client: httpx.AsyncClient) -> Any:
    return client._transport.app  # type: ignore[attr-defined]


async def login(client: httpx.AsyncClient, code: str) -> dict[str, Any]:
    body = await run_graphql(client, LOGIN, code=code)
    result: dict[str, Any] = body["data"]["logInWithWeChat"]
    return result


async def test_wechat_login_gives_a_session_and_an_empty_account(anonymous: httpx.AsyncClient) -> None:
    session = await login(anonymous, "ok-alice")
    assert session["__typename"] == "Session"
    assert (await login(anonymous, "expired-code")) == {"__typename": "Refusal", "code": "UNAUTHORIZED"}
    anonymous.headers["Authorization"] = f"Bearer {session['token']}"
    assert (await run_graphql(anonymous, ME))["data"]["me"] == {"cards": []}
    # Logging in again is the same account.
    again = await login(anonymous, "ok-alice")
    assert app_of(anonymous).state.services.sessions.read(again["token"]) == app_of(
        anonymous
    ).state.services.sessions.read(session["token"])


async def test_anonymous_and_forged_sessions_see_no_patient(anonymous: httpx.AsyncClient) -> None:
    query = '{ patient(medicalCardNumber: "001000056254587") { medicalCardNumber } }'
    body = await run_graphql(anonymous, query)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    anonymous.headers["Authorization"] = "Bearer eyJrIjoicCIsImEiOjF9.forged"
    assert (await run_graphql(anonymous, query))["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


BIND = """
mutation ($h: ID!, $card: String!, $name: String!, $id: String!) {
  startCardBinding(hospitalId: $h, medicalCardNumber: $card, name: $name, idCardNumber: $id) {
    __typename ... on CardBindingStarted { maskedPhone } ... on Refusal { code }
  }
}"""
CONFIRM = """
mutation ($h: ID!, $card: String!, $code: String!) {
  confirmCardBinding(hospitalId: $h, medicalCardNumber: $card, code: $code) {
    __typename ... on AccountCard { medicalCardNumber origin physicalCardNumber } ... on Refusal { code }
  }
}"""


async def test_binding_a_physical_card_needs_name_id_and_the_code(
    anonymous: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    anonymous.headers["Authorization"] = f"Bearer {(await login(anonymous, 'ok-bob'))['token']}"
    wrong = await run_graphql(anonymous, BIND, h="253", card=CARD, name="张三", id="110101199003070000")
    assert wrong["data"]["startCardBinding"] == {"__typename": "Refusal", "code": "CARD_NOT_FOUND_20215"}
    started = await run_graphql(anonymous, BIND, h="253", card=CARD, name="张三", id="370102197907025236")
    masked = started["data"]["startCardBinding"]["maskedPhone"]
    assert re.fullmatch(r"1\d\d\*{4}\d{4}", masked)
    sms = app_of(anonymous).state.sms
    phone, code, _ = sms.sent[-1]
    assert masked == phone[:3] + "****" + phone[-4:]
    bad = await run_graphql(anonymous, CONFIRM, h="253", card=CARD, code="000000" if code != "000000" else "111111")
    assert bad["data"]["confirmCardBinding"]["code"] == "SMS_CODE_INVALID"
    bound = (await run_graphql(anonymous, CONFIRM, h="253", card=CARD, code=code))["data"]["confirmCardBinding"]
    assert bound["origin"] == "BOUND"
    assert bound["physicalCardNumber"] == CARD
    assert len(bound["medicalCardNumber"]) == 15
    # The e-card was pushed to the hospital (2.1.2), once.
    pushed = calls(sim_admin, method="hospital.interface.bindCard")
    assert [c["body"]["newMedicalCardNumber"] for c in pushed] == [bound["medicalCardNumber"]]
    query = '{ patient(medicalCardNumber: "001000056254587") { pendingPayments(hospitalId: "253") { hospitalId } } }'
    assert (await run_graphql(anonymous, query))["data"]["patient"]["pendingPayments"][0]["hospitalId"] == "253"
    # A used code does not work twice.
    again = await run_graphql(anonymous, CONFIRM, h="253", card=CARD, code=code)
    assert again["data"]["confirmCardBinding"]["code"] == "SMS_CODE_INVALID"


async def test_another_account_is_refused_the_card_everywhere(
    anonymous: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    app = app_of(anonymous)
    holder = await sign_in_patient(app, openid="test:holder")
    stranger = await sign_in_patient(app, openid="test:stranger", cards=())
    # Every patient operation of the graph, asked by an account that does not hold the card.
    anonymous.headers["Authorization"] = f"Bearer {stranger}"
    sim_admin.delete("/admin/calls")
    for path in OPERATIONS:
        text = path.read_text(encoding="utf-8")
        if "patient(" not in text:
            continue
        body = await run_graphql(anonymous, text)
        assert body["data"]["patient"] is None, path.name
    assert [c for c in calls(sim_admin) if CARD in str(c["body"])] == []
    # ...exactly as for a card that does not exist.
    unknown = await run_graphql(anonymous, '{ patient(medicalCardNumber: "001000099999999") { medicalCardNumber } }')
    mine = await run_graphql(anonymous, '{ patient(medicalCardNumber: "001000056254587") { medicalCardNumber } }')
    assert unknown == mine == {"data": {"patient": None}}
    # A download link is made only for the holder; it is a short-lived sealed capability that needs no header
    # (issue 12 item 13: <image src> and wx.downloadFile send none), and an edited one opens nothing.
    anonymous.headers["Authorization"] = f"Bearer {holder}"
    body = await run_graphql(
        anonymous,
        '{ patient(medicalCardNumber: "001000056254587") { ecgReports(hospitalId: "253") '
        "{ reports { detail { ... on EcgReportDetail { image } } } } } }",
    )
    # Links may be absolute (the public base URL) or a path: the gateway is asked for their path and query.
    found = re.findall(r'"((?:https?://[^/"]+)?/files/[^"]+)"', str(body).replace("'", '"'))
    links = [re.sub(r"^https?://[^/]+", "", link) for link in found]
    assert links
    del anonymous.headers["Authorization"]
    assert (await anonymous.get(links[0])).status_code == 200
    token, _, query = links[0].removeprefix("/files/").partition("?")
    edited = f"/files/{token[:-2]}{'A' if token[-2] != 'A' else 'B'}{token[-1]}?{query}"
    assert 400 <= (await anonymous.get(edited)).status_code < 500


STATISTICS = """
query ($h: String!) { operator { transactionStatistics(hospitalId: $h, from: "2019-06-25 18:00:00",
  to: "2019-06-26 18:00:00") { hospitalId } } }"""


async def test_operators_see_only_their_hospitals(anonymous: httpx.AsyncClient) -> None:
    assert (await run_graphql(anonymous, STATISTICS, h="253"))["errors"][0]["extensions"]["code"] == "50001"
    anonymous.headers["Authorization"] = f"Bearer {await sign_in_patient(app_of(anonymous))}"
    assert (await run_graphql(anonymous, STATISTICS, h="253"))["errors"][0]["extensions"]["code"] == "50001"
    sign_in_operator(anonymous, role="hospital", hospital_id="253")
    own = await run_graphql(anonymous, STATISTICS, h="253")
    assert own["data"]["operator"]["transactionStatistics"][0]["hospitalId"] == "253"
    other = await run_graphql(anonymous, STATISTICS, h="253,254")
    assert other["errors"][0]["extensions"]["code"] == "50001"
    sign_in_operator(anonymous, role="region")
    region = await run_graphql(anonymous, STATISTICS, h="253,254")
    assert [e["hospitalId"] for e in region["data"]["operator"]["transactionStatistics"]] == ["253", "254"]


OPERATOR_LOGIN = """
mutation ($u: String!, $p: String!) { logInOperator(username: $u, password: $p) {
  __typename ... on Session { token } ... on Refusal { code } } }"""


async def test_operators_sign_in_with_a_hashed_password(anonymous: httpx.AsyncClient) -> None:
    operators: OperatorService = app_of(anonymous).state.services.operators
    created = await operators.create(
        username="wang.li", password="a long pass phrase 1", role="hospital", hospital_id="253"
    )
    assert created.password_hash.startswith("scrypt$")
    assert "a long pass phrase 1" not in created.password_hash
    refused = await run_graphql(anonymous, OPERATOR_LOGIN, u="wang.li", p="wrong password here")
    assert refused["data"]["logInOperator"] == {"__typename": "Refusal", "code": "WRONG_PASSWORD"}
    nobody = await run_graphql(anonymous, OPERATOR_LOGIN, u="nobody", p="a long pass phrase 1")
    assert nobody["data"]["logInOperator"]["__typename"] == "Refusal"
    session = await run_graphql(anonymous, OPERATOR_LOGIN, u="wang.li", p="a long pass phrase 1")
    anonymous.headers["Authorization"] = f"Bearer {session['data']['logInOperator']['token']}"
    assert "errors" not in await run_graphql(anonymous, STATISTICS, h="253")


async def test_dev_login_exists_only_in_development(region: Registry, tmp_path: Path) -> None:
    for mode in ("dev", "production"):
        settings = Settings(
            mode=mode,
            database_url=f"sqlite+aiosqlite:///{tmp_path / (mode + '.sqlite3')}",
            registry=region,
            # What this test uses and production refuses unless allowed (Settings.production_refusals).
            allow_random_secrets=True,
            allow_sandbox_payments=True,
            allow_fake_sms=True,
            allow_loopback_public_url=True,
        )
        async with running_gateway(settings, signed_in=False) as client:
            body = await run_graphql(client, "mutation { logInForDevelopment { token } }")
        if mode == "dev":
            assert body["data"]["logInForDevelopment"]["token"]
        else:
            assert body["errors"][0]["extensions"]["code"] == "50001"


CREATE_CARD = """
mutation ($h: ID!, $name: String!, $sex: Sex!, $birth: Date!, $phone: String!, $id: String, $rel: Relation!) {
  createHealthCard(hospitalId: $h, name: $name, sex: $sex, birthDate: $birth, phone: $phone, idCardNumber: $id,
                   relation: $rel) {
    __typename ... on AccountCard { medicalCardNumber origin relation } ... on Refusal { code }
  }
}"""


async def test_creating_a_card_for_a_family_member(anonymous: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    anonymous.headers["Authorization"] = f"Bearer {(await login(anonymous, 'ok-carol'))['token']}"
    variables = {"h": "254", "name": "李小红", "sex": "FEMALE", "birth": "2016-05-12", "phone": "13900001111"}
    variables["rel"] = "DAUGHTER"
    created = (await run_graphql(anonymous, CREATE_CARD, id="513436201605126557", **variables))["data"]
    card = created["createHealthCard"]
    assert card["origin"] == "CREATED"
    assert card["relation"] == "DAUGHTER"
    assert re.fullmatch(r"\d{15}", card["medicalCardNumber"])
    filed = calls(sim_admin, method="hospital.interface.createCard")
    assert [c["body"]["medicalCardNumber"] for c in filed] == [card["medicalCardNumber"]]
    me = (await run_graphql(anonymous, ME))["data"]["me"]["cards"]
    assert [c["medicalCardNumber"] for c in me] == [card["medicalCardNumber"]]
    bad = await run_graphql(anonymous, CREATE_CARD, id=None, **{**variables, "phone": "12345"})
    assert bad["data"]["createHealthCard"] == {"__typename": "Refusal", "code": "PARAMETER_FORMAT"}
    # The hospital refusing files nothing on our side either.
    sim_admin.post(
        "/admin/faults",
        json={"hospitalId": "254", "method": "hospital.interface.createCard", "kind": "code", "code": "60505"},
    )
    refused = await run_graphql(anonymous, CREATE_CARD, id=None, **variables)
    assert refused["data"]["createHealthCard"]["code"] == "PHONE_REQUIRED"
    assert len((await run_graphql(anonymous, ME))["data"]["me"]["cards"]) == 1


def test_a_national_card_number_is_read_from_its_qr_code() -> None:
    from services.cards import card_number_from_qr

    national = "A" * 64
    assert card_number_from_qr(f"{national}:1:20251125:abc") == national
    assert card_number_from_qr(f"x:{national}:y", index=1) == national
    assert card_number_from_qr("001000056254587") == "001000056254587"
    assert card_number_from_qr("a:b", index=5) == ""


UNBIND = """
mutation ($card: String!) {
  unbindCard(medicalCardNumber: $card) {
    __typename ... on Me { cards { medicalCardNumber } } ... on Refusal { code }
  }
}"""
NEWBORN = """
mutation ($mother: String!) {
  createHealthCard(hospitalId: "253", name: "张小宝", sex: MALE, birthDate: "2026-11-20", phone: "13526521254",
                   newbornMotherIdCardNumber: $mother, newbornBirthOrder: "1", relation: SON) {
    __typename ... on AccountCard { medicalCardNumber relation } ... on Refusal { code }
  }
}"""


async def test_a_bound_card_is_unlinked_at_the_hospital_when_let_go(
    anonymous: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    anonymous.headers["Authorization"] = f"Bearer {(await login(anonymous, 'ok-dave'))['token']}"
    await run_graphql(anonymous, BIND, h="253", card=CARD, name="张三", id="370102197907025236")
    code = app_of(anonymous).state.sms.sent[-1][1]
    bound = (await run_graphql(anonymous, CONFIRM, h="253", card=CARD, code=code))["data"]["confirmCardBinding"]
    left = (await run_graphql(anonymous, UNBIND, card=CARD))["data"]["unbindCard"]
    assert left == {"__typename": "Me", "cards": []}
    unlinked = calls(sim_admin, method="hospital.interface.unRelateHisPatientCard")
    assert [(c["body"]["oldMedicalCardNumber"], c["body"]["newMedicalCardNumber"]) for c in unlinked] == [
        (CARD, bound["medicalCardNumber"])
    ]
    gone = await run_graphql(anonymous, '{ patient(medicalCardNumber: "001000056254587") { medicalCardNumber } }')
    assert gone == {"data": {"patient": None}}
    assert (await run_graphql(anonymous, UNBIND, card=CARD))["data"]["unbindCard"]["code"] == "CARD_NOT_FOUND_20215"


async def test_a_mother_makes_her_newborn_a_card(anonymous: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    anonymous.headers["Authorization"] = f"Bearer {await sign_in_patient(app_of(anonymous), openid='test:mother')}"
    stranger = await run_graphql(anonymous, NEWBORN, mother="110101199003070000")
    assert stranger["data"]["createHealthCard"] == {"__typename": "Refusal", "code": "CARD_NOT_FOUND_20215"}
    baby = (await run_graphql(anonymous, NEWBORN, mother="370102197907025236"))["data"]["createHealthCard"]
    assert baby["relation"] == "SON"
    filed = calls(sim_admin, method="hospital.interface.newbornCreateCard")
    assert [(c["body"]["medicalCardNumber"], c["body"]["motherIdcard"]) for c in filed] == [
        (baby["medicalCardNumber"], "370102197907025236")
    ]


CONTACT = """
mutation ($card: String!, $id: String!) {
  addCardContact(hospitalId: "253", input: {medicalCardNumber: $card, name: "李四", sex: MALE,
      birthDate: "1980-01-02", address: "山东省济南市历下区", idCardNumber: $id, phone: "13800001111", nation: "01",
      relation: OTHER}) {
    __typename ... on Refusal { code field }
  }
}"""


async def test_a_contact_is_filed_only_on_a_card_the_account_holds(
    anonymous: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    anonymous.headers["Authorization"] = f"Bearer {await sign_in_patient(app_of(anonymous), openid='test:contacts')}"
    filed = await run_graphql(anonymous, CONTACT, card=CARD, id="370102198001023211")
    assert filed["data"]["addCardContact"]["__typename"] == "AddCardContactSuccess"
    assert len(calls(sim_admin, method="hospital.interface.createCardContacts")) == 1
    other = await run_graphql(anonymous, CONTACT, card="001000099999999", id="370102198001023211")
    assert other["data"]["addCardContact"] == {
        "__typename": "Refusal",
        "code": "CARD_NOT_FOUND_20215",
        "field": None,
    }
    malformed = await run_graphql(anonymous, CONTACT, card=CARD, id="37010219801302321")
    assert malformed["data"]["addCardContact"]["code"] == "PARAMETER_FORMAT"
    assert len(calls(sim_admin, method="hospital.interface.createCardContacts")) == 1
    del anonymous.headers["Authorization"]
    anonymous_write = await run_graphql(anonymous, CONTACT, card=CARD, id="370102198001023211")
    assert anonymous_write["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_holder_corrects_their_details(anonymous: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    anonymous.headers["Authorization"] = f"Bearer {await sign_in_patient(app_of(anonymous), openid='test:update')}"
    query = """mutation ($card: String!) {
      updatePatientInfo(hospitalId: "253",
        input: {medicalCardNumber: $card, phone: "13600002222", city: "济南市", detailAddress: "经十路1号"}) {
        __typename ... on Refusal { code }
      }
    }"""
    assert (await run_graphql(anonymous, query, card=CARD))["data"]["updatePatientInfo"] == {
        "__typename": "UpdatePatientInfoSuccess"
    }
    [sent] = calls(sim_admin, method="hospital.interface.updateHisPatientInfo")
    assert sent["body"]["address"] == {"cityName": "济南市", "detailAddress": "经十路1号"}
    refused = await run_graphql(anonymous, query, card="001000099999999")
    assert refused["data"]["updatePatientInfo"]["code"] == "CARD_NOT_FOUND_20215"
