"""Delivering queued messages through a local fake of the official account's API, over the real store."""

from __future__ import annotations

import socket
from collections import Counter
from datetime import timedelta

import pytest

from services.messages import (
    CustomerServiceText,
    DeliveryWorker,
    MemoryDirectory,
    OfficialAccountApi,
    Template,
    client_msg_id,
)
from services.messages.templates import templates_from_config
from services.payments.clock import ManualClock
from store.db import Database
from store.messages import MessageDeliveries, MessageState

from .fake_official_account import FakeOfficialAccount
from .support import HOSPITAL, Crash, add_patients, keys_received, make_worker, queue, states


async def test_each_pending_message_reaches_the_fake_once(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
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
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
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
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
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


async def test_a_retry_is_never_seen_without_its_reason(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    """The state and lastError are written together: read the row the moment the move returns."""
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")
    official.fail_next(45009)
    seen: list[tuple[str, str | None]] = []

    class ReadsRightAfterTheMove(DeliveryWorker):
        async def _move(self, claim, from_state, to_state, **moved):  # type: ignore[no-untyped-def]
            result = await super()._move(claim, from_state, to_state, **moved)
            async with db.session() as session:
                (row,) = await MessageDeliveries(session).recent(hospital_ids=[HOSPITAL])
                seen.append((row.state, row.last_error))
            return result

    worker = make_worker(db, base_url, clock, directory, apis)
    worker.__class__ = ReadsRightAfterTheMove
    assert await worker.run_due() == 1
    state, reason = seen[-1]
    assert state == "retry"
    assert reason is not None
    assert "45009" in reason

    clock.advance(timedelta(seconds=31))
    assert await worker.run_due() == 1
    assert seen[-1] == ("sent", None)  # delivered: the old reason is cleared with the move


async def test_a_rejected_token_is_refreshed_once_and_the_message_sent_again(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
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
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
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


async def test_a_send_whose_worker_died_is_resent_under_the_same_client_msg_id_and_shown_once(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")

    class DiesAfterSending(DeliveryWorker):
        async def _move(self, claim, from_state, to_state, **moved):  # type: ignore[no-untyped-def]
            if to_state is MessageState.SENT:
                raise Crash
            return await super()._move(claim, from_state, to_state, **moved)

    crashing = make_worker(db, base_url, clock, directory, apis)
    crashing.__class__ = DiesAfterSending
    with pytest.raises(Crash):
        await crashing.run_due()
    assert keys_received(official) == Counter({"r1": 1})
    assert await states(db) == {"r1": "sending"}

    # Within the send lease a new worker leaves it alone (its worker may still be alive).
    restarted = make_worker(db, base_url, clock, directory, apis)
    assert await restarted.run_until_idle() == 0
    clock.advance(timedelta(minutes=3))
    assert await restarted.run_until_idle() == 1
    clock.advance(timedelta(hours=2))
    assert await restarted.run_until_idle() == 0

    # Sent twice under one client_msg_id: WeChat (the fake) delivered it once.
    key = client_msg_id(f"19.1.4:{HOSPITAL}:r1")
    assert [body["client_msg_id"] for body in official.duplicates] == [key]
    assert official.delivered_per_key() == Counter({key: 1})
    assert keys_received(official) == Counter({"r1": 1})
    assert await states(db) == {"r1": "sent"}


async def test_a_crash_before_sending_loses_nothing(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")

    class DiesBeforeSending(DeliveryWorker):
        async def _move(self, claim, from_state, to_state, **moved):  # type: ignore[no-untyped-def]
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
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
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
