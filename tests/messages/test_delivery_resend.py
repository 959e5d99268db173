"""At least once, shown once: sends whose fate is unknown are repeated under the same client_msg_id,
inside WeChat's 10-minute window, and never after it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from services.messages import DeliveryWorker, MemoryDirectory, OfficialAccountApi, client_msg_id
from services.payments.clock import ManualClock
from store.db import Database
from store.messages import MessageDeliveries, MessageState

from .fake_official_account import FakeOfficialAccount, FakeServer
from .support import Crash, add_patients, dedupe_key, keys_received, make_worker, queue, states


def test_the_client_msg_id_is_stable_short_and_per_message() -> None:
    key = client_msg_id(dedupe_key("r1"))
    assert key == client_msg_id(dedupe_key("r1"))
    assert key != client_msg_id(dedupe_key("r2"))
    assert len(key) == 32
    assert int(key, 16) >= 0


class DiesAfterSending(DeliveryWorker):
    """Crashes between WeChat's answer and the record of it."""

    async def _move(self, claim, from_state, to_state, **moved):  # type: ignore[no-untyped-def]
        if to_state is MessageState.SENT:
            raise Crash
        return await super()._move(claim, from_state, to_state, **moved)


async def crash_after_sending(worker: DeliveryWorker) -> None:
    worker.__class__ = DiesAfterSending
    with pytest.raises(Crash):
        await worker.run_due()


async def test_past_the_dedupe_window_a_send_of_unknown_fate_is_uncertain_not_resent(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")
    await crash_after_sending(make_worker(db, base_url, clock, directory, apis))

    # No worker ran for 9 minutes: a resend now might be shown twice.
    clock.advance(timedelta(minutes=9))
    restarted = make_worker(db, base_url, clock, directory, apis)
    assert await restarted.run_until_idle() == 0
    clock.advance(timedelta(hours=1))
    await restarted.run_until_idle()

    assert official.duplicates == []
    assert keys_received(official) == Counter({"r1": 1})
    assert await states(db) == {"r1": "uncertain"}
    async with db.session() as session:
        listed = await MessageDeliveries(session).recent(hospital_ids=None, state="uncertain")
    assert [m.dedupe_key for m in listed] == [dedupe_key("r1")]


async def test_an_answer_lost_after_delivery_is_resent_and_shown_once(
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
    official.drop_answers = 2  # both delivered, both answers cut off mid-way
    worker = make_worker(db, base_url, clock, directory, apis)

    assert await worker.run_until_idle() == 2
    assert await states(db) == {"r1": "sending", "r2": "sending"}
    clock.advance(timedelta(minutes=2))
    assert await worker.run_until_idle() == 2

    assert await states(db) == {"r1": "sent", "r2": "sent"}
    assert len(official.duplicates) == 2
    assert official.delivered_per_key() == Counter(
        {client_msg_id(dedupe_key("r1")): 1, client_msg_id(dedupe_key("r2")): 1}
    )


async def test_an_answer_that_never_comes_is_resent_and_shown_once(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")
    official.hold_s = 4.0  # longer than the worker's 3-second timeout
    worker = make_worker(db, base_url, clock, directory, apis)
    await worker.run_until_idle()
    assert await states(db) == {"r1": "sending"}

    official.hold_s = 0
    clock.advance(timedelta(minutes=2))
    await worker.run_until_idle()
    assert await states(db) == {"r1": "sent"}
    assert keys_received(official) == Counter({"r1": 1})
    assert len(official.duplicates) == 1


async def test_a_resend_while_wechat_is_unreachable_waits_and_goes_out_within_the_window(
    db: Database,
    fake_server: FakeServer,
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official = fake_server.official
    await add_patients(db)
    await queue(db, "r1")
    await crash_after_sending(make_worker(db, fake_server.base_url, clock, directory, apis))

    fake_server.stop()  # connection refused
    restarted = make_worker(db, fake_server.base_url, clock, directory, apis)
    clock.advance(timedelta(minutes=2))
    assert await restarted.run_due() == 1
    assert await states(db) == {"r1": "sending"}  # given back, first send's time kept
    assert await restarted.run_due() == 0  # paced: not before 10 s
    clock.advance(timedelta(seconds=11))
    assert await restarted.run_due() == 1
    assert await states(db) == {"r1": "sending"}

    fake_server.start()
    clock.advance(timedelta(minutes=1))
    assert await restarted.run_due() == 1
    assert await states(db) == {"r1": "sent"}
    assert keys_received(official) == Counter({"r1": 1})
    assert len(official.duplicates) == 1


async def test_a_resend_still_failing_when_the_window_closes_is_uncertain(
    db: Database,
    fake_server: FakeServer,
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official = fake_server.official
    await add_patients(db)
    await queue(db, "r1")
    await crash_after_sending(make_worker(db, fake_server.base_url, clock, directory, apis))
    official.down = True  # HTTP 503
    restarted = make_worker(db, fake_server.base_url, clock, directory, apis)
    for _ in range(10):
        clock.advance(timedelta(minutes=1))
        await restarted.run_due()
    official.down = False
    clock.advance(timedelta(minutes=1))
    await restarted.run_until_idle()

    assert await states(db) == {"r1": "uncertain"}
    assert official.duplicates == []
    assert keys_received(official) == Counter({"r1": 1})


async def test_a_worker_dying_during_a_resend_leaves_it_uncertain(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1")
    await crash_after_sending(make_worker(db, base_url, clock, directory, apis))
    clock.advance(timedelta(minutes=2))
    await crash_after_sending(make_worker(db, base_url, clock, directory, apis))  # the resend's worker dies too
    assert await states(db) == {"r1": "resending"}

    clock.advance(timedelta(minutes=2))
    await make_worker(db, base_url, clock, directory, apis).run_until_idle()
    assert await states(db) == {"r1": "uncertain"}  # when the first send began died with that worker
    assert keys_received(official) == Counter({"r1": 1})


async def test_a_duplicate_answered_45065_counts_as_sent(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    official, base_url = fake
    official.duplicate_errcode = 45065
    await add_patients(db)
    await queue(db, "r1")
    await crash_after_sending(make_worker(db, base_url, clock, directory, apis))
    clock.advance(timedelta(minutes=3))
    await make_worker(db, base_url, clock, directory, apis).run_until_idle()
    assert await states(db) == {"r1": "sent"}
    assert keys_received(official) == Counter({"r1": 1})


async def test_a_customer_service_message_stays_at_most_once(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    """19.1.6 has no client_msg_id: a send of unknown fate is never repeated."""
    official, base_url = fake
    await add_patients(db)
    await queue(db, "c1", kind="sendCustomizedMessage")
    await queue(db, "c2", kind="sendCustomizedMessage")
    official.drop_answers = 1
    worker = make_worker(db, base_url, clock, directory, apis)
    await worker.run_until_idle()
    assert sorted((await states(db)).values()) == ["sent", "uncertain"]

    await queue(db, "c3", kind="sendCustomizedMessage")
    worker.__class__ = DiesAfterSending
    with pytest.raises(Crash):
        await worker.run_due()
    clock.advance(timedelta(minutes=3))
    await make_worker(db, base_url, clock, directory, apis).run_until_idle()

    assert (await states(db))["c3"] == "uncertain"
    assert len(official.received) == 3  # each went out once; none was sent again
    assert official.duplicates == []
