"""The issue's done-when, through the real gateway: hospitals push messages through the real shims while
the (fake) WeChat API is down, the gateway is stopped, or dies mid-send, and is started again on the same
database; once WeChat is back every accepted message reaches it exactly once per dedupe key, and the
store (and the operators' view) says sent."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.settings import Settings
from his_clients.registry import Registry
from services.messages import Template, client_msg_id, import_followers, parse_followers_csv
from services.messages.config import OfficialAccountConfig
from store.accounts import Account, AccountCard
from store.db import Database
from store.messages import OutboundMessage
from tests.conftest import run_graphql, running_gateway, sign_in_operator

from .fake_official_account import APPID, SECRET, FakeServer

HOSPITAL = "253"
ZHANG, LI, NOBODY = "001000056254587", "001000056254588", "001000056254599"
PACS_DATA = {"first": "{userName}，您的检查报告已出", "keyword1": "{item}", "keyword2": "{time}"}
PACS_URL = "https://example.org/pacs/{reportkey}"
PACS_TEMPLATE = {"template_id": "tmpl-pacs", "data": PACS_DATA, "url": PACS_URL}


def gateway_settings(database_url: str, region: Registry, wechat_base_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        registry=region,
        request_deadline_s=5.0,
        wechat_official=OfficialAccountConfig(
            appid=APPID,
            secret=SECRET,
            base_url=wechat_base_url,
            templates={"pacsReport": PACS_TEMPLATE},
            timeout_s=5.0,
            idle_s=0.05,
            send_lease_s=1.0,
            retry_delays_s=(0.2,),
            resend_delays_s=(0.2,),
            shutdown_grace_s=0.3,
        ),
    )


def db_of(client: httpx.AsyncClient) -> Database:
    db: Database = client._transport.app.state.services.db  # type: ignore[attr-defined]
    return db


async def add_patients(db: Database) -> None:
    """张 and 李 hold cards in the mini-program and follow the official account (another openid, one unionid)."""
    async with db.session() as session:
        for openid, unionid, card in (("mp-zhang", "union-zhang", ZHANG), ("mp-li", "union-li", LI)):
            account = Account(openid=openid, unionid=unionid)
            session.add(account)
            await session.flush()
            session.add(AccountCard(account_id=account.id, medical_card_number=card, hospital_id=HOSPITAL, how="bound"))
    rows, _ = parse_followers_csv("unionid,openid\nunion-zhang,oa-zhang\nunion-li,oa-li\n")
    await import_followers(db, rows)


async def push_report(client: httpx.AsyncClient, card: str, reportkey: str) -> None:
    """19.1.3 pacsReport as a hospital's HIS sends it; the call succeeds whatever WeChat's state."""
    body = {
        "hospitalId": HOSPITAL,
        "medicalCardNumber": card,
        "idCard": "370102197907025236",
        "dept": "B超室",
        "reportkey": reportkey,
        "userName": "张三",
        "item": "心脏B超常规检查",
        "time": "2018-12-17 12:34:34",
        "isPositive": "0",
    }
    reply = (await client.post("/prefront/sendTipMessage/pacsReport", json=body)).json()
    assert reply == {"success": True, "msg": "", "code": "10001"}


async def message_states(db: Database) -> dict[str, str]:
    async with db.session() as session:
        rows = (await session.execute(select(OutboundMessage))).scalars()
        return {row.dedupe_key: row.state for row in rows}


async def until(check: Callable[[], Awaitable[bool]], *, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


def pacs_key(reportkey: str) -> str:
    return f"19.1.3:{HOSPITAL}:{reportkey}"


REPORTS = [(ZHANG if n % 2 else LI, f"7495802{n:02d}") for n in range(6)]


async def test_wechat_down_and_the_gateway_restarted_every_message_arrives_once(
    region: Registry, fake_server: FakeServer, empty_database_url: str
) -> None:
    official = fake_server.official
    fake_server.stop()  # WeChat unreachable: connection refused
    settings = gateway_settings(empty_database_url, region, fake_server.base_url)

    async with running_gateway(settings, signed_in=False) as first:
        db = db_of(first)
        await add_patients(db)
        for card, reportkey in REPORTS:
            await push_report(first, card, reportkey)
        await push_report(first, NOBODY, "749580299")  # nobody in the mini-program holds this card

        async def all_tried() -> bool:
            return sorted(set((await message_states(db)).values())) == ["retry", "undeliverable"]

        await until(all_tried)
        fake_server.start()
        official.down = True  # now answering 503
        await asyncio.sleep(0.5)
    assert official.received == []

    official.down = False  # back, while the gateway was stopped
    async with running_gateway(settings, signed_in=False) as second:
        db = db_of(second)

        async def settled() -> bool:
            return set((await message_states(db)).values()) == {"sent", "undeliverable"}

        await until(settled)
        states = await message_states(db)
        sign_in_operator(second)
        view = await run_graphql(second, OPERATOR_QUERY, state="SENT")
        sign_in_operator(second, role="hospital", hospital_id="254")
        other_hospital = await run_graphql(second, OPERATOR_QUERY, state=None)
        not_theirs = await run_graphql(second, 'query { operator { messageDeliveries(hospitalId: "253") { id } } }')

    expected = {client_msg_id(pacs_key(reportkey)): 1 for _, reportkey in REPORTS}
    assert official.delivered_per_key() == Counter(expected)
    assert {body["touser"] for body in official.received} == {"oa-zhang", "oa-li"}
    assert states == {**{pacs_key(k): "sent" for _, k in REPORTS}, pacs_key("749580299"): "undeliverable"}

    deliveries = view["data"]["operator"]["messageDeliveries"]
    assert len(deliveries) == len(REPORTS)
    assert {d["state"] for d in deliveries} == {"SENT"}
    assert {d["medicalCardNumber"] for d in deliveries} == {"0010*******4587", "0010*******4588"}
    assert all(d["kind"] == "pacsReport" and d["hospitalId"] == HOSPITAL for d in deliveries)
    assert all(d["attempts"] >= 2 for d in deliveries)  # tried while WeChat was down, sent after
    counts = {c["state"]: c["count"] for c in view["data"]["operator"]["messageDeliveryCounts"]}
    assert counts["SENT"] == len(REPORTS)
    assert counts["UNDELIVERABLE"] == 1
    assert counts["RETRY"] == counts["UNCERTAIN"] == 0
    assert other_hospital["data"]["operator"]["messageDeliveries"] == []
    assert sum(c["count"] for c in other_hospital["data"]["operator"]["messageDeliveryCounts"]) == 0
    assert not_theirs["errors"]


async def test_a_gateway_dying_mid_send_resends_after_restart_and_wechat_shows_each_once(
    region: Registry, fake_server: FakeServer, empty_database_url: str
) -> None:
    official = fake_server.official
    settings = gateway_settings(empty_database_url, region, fake_server.base_url)
    async with running_gateway(settings.model_copy(update={"run_message_worker": False}), signed_in=False) as intake:
        # Pushes accepted by a gateway that delivers nothing: they wait in the store.
        await add_patients(db_of(intake))
        for card, reportkey in REPORTS:
            await push_report(intake, card, reportkey)

    official.hold_s = 3.0  # WeChat takes each message, then answers slowly
    async with running_gateway(settings, signed_in=False):

        async def all_delivered_unanswered() -> bool:
            return len(official.received) == len(REPORTS)

        await until(all_delivered_unanswered)
    # Shut down within its grace (0.3 s): the worker was cancelled between WeChat taking the messages and
    # their outcome being recorded, as in a crash.
    leftover = await states_of(empty_database_url)
    assert set(leftover.values()) == {"sending"}, leftover

    official.hold_s = 0
    async with running_gateway(settings, signed_in=False) as second:
        db = db_of(second)

        async def all_sent() -> bool:
            return set((await message_states(db)).values()) == {"sent"}

        await until(all_sent)

    assert official.delivered_per_key() == Counter({client_msg_id(pacs_key(k)): 1 for _, k in REPORTS})
    assert len(official.duplicates) == len(REPORTS)  # each was sent again, and WeChat dropped the repeat


async def states_of(database_url: str) -> dict[str, str]:
    db = Database(database_url)
    try:
        return await message_states(db)
    finally:
        await db.dispose()


OPERATOR_QUERY = """
query($state: MessageDeliveryState) {
  operator {
    messageDeliveries(state: $state) {
      id kind hospitalId state attempts medicalCardNumber dedupeKey queuedAt updatedAt
    }
    messageDeliveryCounts { state count }
  }
}
"""


def test_templates_come_from_a_toml_file_and_inline_settings_win(tmp_path: Path) -> None:
    path = tmp_path / "templates.toml"
    path.write_text(
        '[messages.templates.lisReport]\ntemplate_id = "tmpl-lis"\ndata = { first = "{userName}" }\n'
        '[messages.templates.pacsReport]\ntemplate_id = "from-file"\n',
        encoding="utf-8",
    )
    config = OfficialAccountConfig(
        appid=APPID,
        secret=SECRET,
        templates_path=path,
        templates={"pacsReport": PACS_TEMPLATE},
    )
    wordings = config.wordings()
    assert wordings["lisReport"] == Template(template_id="tmpl-lis", data={"first": "{userName}"})
    assert wordings["pacsReport"] == Template(
        template_id="tmpl-pacs",
        data=PACS_DATA,
        url=PACS_URL,
    )


def test_no_official_account_no_worker_and_asking_for_one_without_it_is_refused() -> None:
    assert Settings().message_worker_on is False
    with pytest.raises(ValueError, match="wechat_official"):
        _ = Settings(run_message_worker=True).message_worker_on
    config = OfficialAccountConfig(appid=APPID, secret=SECRET)
    assert Settings(wechat_official=config).message_worker_on is True
    assert Settings(wechat_official=config, run_message_worker=False).message_worker_on is False
    with pytest.raises(ValueError, match="template_id"):
        OfficialAccountConfig(appid=APPID, secret=SECRET, templates={"lisReport": {}})
    with pytest.raises(ValueError, match="send_lease_s"):
        OfficialAccountConfig(appid=APPID, secret=SECRET, send_lease_s=600, resend_window_s=300)
