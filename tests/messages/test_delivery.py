"""Delivering queued messages through a local fake of the official account's API, over the real store."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.messages import (
    AccessTokenHolder,
    CustomerServiceText,
    DeliveryWorker,
    MemoryDirectory,
    OfficialAccountApi,
    OfficialFollower,
    Template,
    TemplateMessageSender,
)
from services.messages.templates import templates_from_config
from services.payments.clock import ManualClock
from store.accounts import Account, AccountCard
from store.db import Database
from store.messages import MessageDeliveries, MessageOutbox, MessageState, OutboundMessage
from tests.fakes.serve import serving
from tests.store.conftest import database_factory, db, migrated_database

from .fake_official_account import APPID, SECRET, FakeOfficialAccount

__all__ = ["database_factory", "db", "migrated_database"]

HOSPITAL = "253"
TEMPLATES = {
    "lisReport": Template(
        template_id="tmpl-lis",
        data={"first": "{userName}，您的检验报告已出", "keyword1": "{item}", "key": "{reportkey}"},
        url="https://example.org/report/{reportkey}",
    ),
    "sendCustomizedMessage": CustomerServiceText(),
}


class Crash(BaseException):
    """The process dying: not an Exception, so nothing on the way catches it."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 11, 26, 2, 0, tzinfo=UTC))


@pytest.fixture
def fake() -> Iterator[tuple[FakeOfficialAccount, str]]:
    official = FakeOfficialAccount()
    with serving(official.app) as base_url:
        yield official, base_url


@pytest.fixture
def directory() -> MemoryDirectory:
    return MemoryDirectory(
        {
            "union-zhang": OfficialFollower("oa-zhang", last_interaction_at=datetime(2025, 11, 26, 1, 0, tzinfo=UTC)),
            "union-li": OfficialFollower("oa-li"),
        }
    )


@pytest.fixture
async def apis() -> AsyncIterator[list[OfficialAccountApi]]:
    opened: list[OfficialAccountApi] = []
    yield opened
    for api in opened:
        await api.aclose()


def make_worker(
    db: Database, base_url: str, clock: ManualClock, directory: MemoryDirectory, apis: list[OfficialAccountApi]
) -> DeliveryWorker:
    """A worker as a freshly started gateway builds it (its own token holder, nothing cached)."""
    api = OfficialAccountApi(base_url=base_url, timeout_s=3.0)
    apis.append(api)
    tokens = AccessTokenHolder(api, appid=APPID, secret=SECRET, clock=clock)
    return DeliveryWorker(
        db=db, sender=TemplateMessageSender(api, tokens), directory=directory, templates=TEMPLATES, clock=clock
    )


async def add_patients(db: Database) -> None:
    async with db.session() as session:
        zhang = Account(openid="mp-zhang", unionid="union-zhang")
        li = Account(openid="mp-li", unionid="union-li")
        wang = Account(openid="mp-wang", unionid="union-wang")  # follows no official account
        session.add_all([zhang, li, wang])
        await session.flush()
        for account, card in ((zhang, "card-zhang"), (li, "card-li"), (wang, "card-wang")):
            session.add(AccountCard(account_id=account.id, medical_card_number=card, how="created"))


async def queue(db: Database, key: str, *, card: str = "card-zhang", kind: str = "lisReport") -> None:
    payload = {"userName": "张三", "item": "血常规", "reportkey": key}
    if kind == "sendCustomizedMessage":
        payload = {"functionTitle": "检验注意事项", "functionDescription": "请空腹", "functionRemark": key}
    async with db.session() as session:
        await MessageOutbox(session).queue(
            kind=kind,
            hospital_id=HOSPITAL,
            medical_card_number=card,
            id_card_number=None,
            payload=payload,
            dedupe_key=f"19.1.4:{HOSPITAL}:{key}",
            inbound_call_id=None,
        )


async def states(db: Database) -> dict[str, str]:
    async with db.session() as session:
        rows = (await session.execute(select(OutboundMessage))).scalars()
        return {row.dedupe_key.rsplit(":", 1)[-1]: row.state for row in rows}


def keys_received(official: FakeOfficialAccount) -> Counter[str]:
    return Counter(body["data"]["key"]["value"] for body in official.templates())


async def test_each_pending_message_reaches_the_fake_once(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    for key, card in (("r1", "card-zhang"), ("r2", "card-zhang"), ("r3", "card-li"), ("r4", "card-wang")):
        await queue(db, key, card=card)
    await queue(db, "r5", card="card-nobody")
    worker = make_worker(db, base_url, clock, directory, apis)

    assert await worker.run_until_idle() == 5
    clock.advance(timedelta(hours=3))
    assert await worker.run_until_idle() == 0

    assert keys_received(official) == Counter({"r1": 1, "r2": 1, "r3": 1})
    first = next(body for body in official.templates() if body["data"]["key"]["value"] == "r1")
    assert first["touser"] == "oa-zhang"  # the official account's openid, found through the unionid
    assert first["template_id"] == "tmpl-lis"
    assert first["url"] == "https://example.org/report/r1"
    assert first["data"]["first"] == {"value": "张三，您的检验报告已出"}
    assert {b["touser"] for b in official.templates() if b["data"]["key"]["value"] == "r3"} == {"oa-li"}
    assert await states(db) == {
        "r1": "sent",
        "r2": "sent",
        "r3": "sent",
        "r4": "undeliverable",  # no official-account openid
        "r5": "undeliverable",  # no account holds the card
    }
    assert official.token_fetches == 1
    async with db.session() as session:
        listed = await MessageDeliveries(session).recent(hospital_ids=[HOSPITAL], state="undeliverable")
    assert len(listed) == 2


async def test_not_following_is_undeliverable_and_never_retried(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")
    await queue(db, "r2", card="card-li")
    official.fail_next(43004, 43101)
    worker = make_worker(db, base_url, clock, directory, apis)

    await worker.run_until_idle()
    for _ in range(5):
        clock.advance(timedelta(hours=2))
        await worker.run_until_idle()

    assert official.received == []
    assert official.rejected == [43004, 43101]
    assert await states(db) == {"r1": "undeliverable", "r2": "undeliverable"}


async def test_rate_limited_messages_are_retried_after_the_backoff(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")
    official.fail_next(45009, 45009)
    worker = make_worker(db, base_url, clock, directory, apis)

    assert await worker.run_due() == 1
    assert await states(db) == {"r1": "retry"}
    assert await worker.run_due() == 0  # not due before its backoff
    clock.advance(timedelta(seconds=31))
    assert await worker.run_due() == 1
    assert await states(db) == {"r1": "retry"}
    clock.advance(timedelta(seconds=31))
    assert await worker.run_due() == 0  # the second backoff is longer
    clock.advance(timedelta(seconds=30))
    assert await worker.run_due() == 1

    assert official.rejected == [45009, 45009]
    assert keys_received(official) == Counter({"r1": 1})
    assert await states(db) == {"r1": "sent"}


async def test_a_rejected_token_is_refreshed_once_and_the_message_sent_again(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")
    worker = make_worker(db, base_url, clock, directory, apis)
    await worker.run_until_idle()
    assert official.token_fetches == 1

    official.expire_tokens()  # e.g. another tool fetched a token for the same account
    await queue(db, "r2")
    await queue(db, "r3", card="card-li")
    await worker.run_until_idle()

    assert official.token_fetches == 2  # one refresh, though both messages may have been refused 40001
    refused = list(official.rejected)
    assert set(refused) == {40001}
    assert keys_received(official) == Counter({"r1": 1, "r2": 1, "r3": 1})

    # Refreshed before it expires: 7200 s tokens, fetched again within the last five minutes.
    clock.advance(timedelta(seconds=7200 - 200))
    await queue(db, "r4")
    await worker.run_until_idle()
    assert official.token_fetches == 3
    assert official.rejected == refused  # no send was refused this time


async def test_wechat_down_then_up_across_a_restart_delivers_each_key_exactly_once(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    keys = [f"r{n}" for n in range(8)]
    for n, key in enumerate(keys):
        await queue(db, key, card="card-zhang" if n % 2 else "card-li")

    # Unreachable: nothing listens on the port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = make_worker(db, f"http://127.0.0.1:{closed_port}", clock, directory, apis)
    assert await unreachable.run_due() == len(keys)
    assert set((await states(db)).values()) == {"retry"}

    # Answering 503.
    official.down = True
    answering_503 = make_worker(db, base_url, clock, directory, apis)
    clock.advance(timedelta(minutes=1))
    assert await answering_503.run_due() == len(keys)
    assert set((await states(db)).values()) == {"retry"}
    assert official.received == []

    # Back up; the gateway was restarted meanwhile (a new worker, a new token holder).
    official.down = False
    restarted = make_worker(db, base_url, clock, directory, apis)
    for _ in range(5):
        clock.advance(timedelta(minutes=3))
        await restarted.run_until_idle()

    assert keys_received(official) == Counter(dict.fromkeys(keys, 1))
    assert set((await states(db)).values()) == {"sent"}


async def test_a_worker_after_a_crash_does_not_resend_what_wechat_received(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")

    class DiesAfterSending(DeliveryWorker):
        async def _move(self, claim, from_state, to_state):  # type: ignore[no-untyped-def]
            if to_state is MessageState.SENT:
                raise Crash
            return await super()._move(claim, from_state, to_state)

    crashing = make_worker(db, base_url, clock, directory, apis)
    crashing.__class__ = DiesAfterSending
    with pytest.raises(Crash):
        await crashing.run_due()
    assert keys_received(official) == Counter({"r1": 1})
    assert await states(db) == {"r1": "sending"}

    # Within the lease a new worker leaves it alone (its worker may still be alive).
    restarted = make_worker(db, base_url, clock, directory, apis)
    assert await restarted.run_until_idle() == 0
    clock.advance(timedelta(minutes=6))
    await restarted.run_until_idle()
    clock.advance(timedelta(hours=2))
    await restarted.run_until_idle()

    assert keys_received(official) == Counter({"r1": 1})
    assert await states(db) == {"r1": "uncertain"}


async def test_a_crash_before_sending_loses_nothing(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")

    class DiesBeforeSending(DeliveryWorker):
        async def _move(self, claim, from_state, to_state):  # type: ignore[no-untyped-def]
            raise Crash

    crashing = make_worker(db, base_url, clock, directory, apis)
    crashing.__class__ = DiesBeforeSending
    with pytest.raises(Crash):
        await crashing.run_due()
    assert await states(db) == {"r1": "claimed"}

    restarted = make_worker(db, base_url, clock, directory, apis)
    assert await restarted.run_until_idle() == 0  # the claim's lease still runs
    clock.advance(timedelta(minutes=6))
    await restarted.run_until_idle()

    assert keys_received(official) == Counter({"r1": 1})
    assert await states(db) == {"r1": "sent"}


async def test_customized_message_is_a_customer_service_message_within_24_hours(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, directory: MemoryDirectory, apis: list
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "c1", kind="sendCustomizedMessage")  # 张三 interacted an hour ago
    await queue(db, "c2", card="card-li", kind="sendCustomizedMessage")  # 李 never did
    worker = make_worker(db, base_url, clock, directory, apis)
    await worker.run_until_idle()

    assert official.templates() == []
    assert official.received == [
        {"touser": "oa-zhang", "msgtype": "text", "text": {"content": "检验注意事项\n请空腹\nc1"}},
    ]
    assert await states(db) == {"c1": "sent", "c2": "undeliverable"}

    clock.advance(timedelta(hours=24))  # 张三's last interaction is now 25 h old
    await queue(db, "c3", kind="sendCustomizedMessage")
    await worker.run_until_idle()
    assert len(official.received) == 1
    assert (await states(db))["c3"] == "undeliverable"


def test_templates_from_configuration() -> None:
    wordings = templates_from_config(
        {
            "lisReport": {"template_id": "t1", "data": {"keyword1": "{item}"}, "url": "https://x/{reportkey}"},
            "sendCustomizedMessage": {"template_id": "ignored"},
            "payment": {"customer_service": "{msg}"},
        }
    )
    assert wordings["lisReport"] == Template(template_id="t1", data={"keyword1": "{item}"}, url="https://x/{reportkey}")
    assert wordings["sendCustomizedMessage"] == CustomerServiceText()
    assert wordings["payment"] == CustomerServiceText("{msg}")
    with pytest.raises(ValueError, match="template_id"):
        templates_from_config({"x": {}})
