"""What goes over the wire to the official-account API (issue 11 item 19): raw UTF-8 JSON, stable tokens."""

from __future__ import annotations

import httpx

from services.messages import MemoryDirectory, OfficialAccountApi
from services.payments.clock import ManualClock
from store.db import Database

from .fake_official_account import APPID, FakeOfficialAccount
from .support import add_patients, make_worker, queue


async def test_bodies_carry_chinese_as_raw_utf8(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    """issue 11 item 19: a template body is raw UTF-8, not \\uXXXX escapes (some endpoints answer 40033)."""
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1", card="card-zhang")
    worker = make_worker(db, base_url, clock, directory, apis)
    assert await worker.run_until_idle() == 1

    ((content_type, raw),) = official.raw_bodies
    assert content_type.startswith("application/json")
    assert "charset=utf-8" in content_type.lower()
    assert "张三，您的检验报告已出".encode() in raw
    assert b"\\u" not in raw


async def test_tokens_come_from_stable_token_and_survive_another_systems_fetch(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    """issue 11 item 19: cgi-bin/stable_token in normal mode; another system calling cgi-bin/token
    does not invalidate our token, so the second message goes out without a renewal."""
    official, base_url = fake
    await add_patients(db)
    await queue(db, "r1", card="card-zhang")
    worker = make_worker(db, base_url, clock, directory, apis)
    assert await worker.run_until_idle() == 1
    assert official.stable_token_calls == [{"grant_type": "client_credential", "appid": APPID, "force_refresh": False}]

    # Another system of the same account fetches a token the legacy way.
    httpx.get(f"{base_url}/cgi-bin/token", params={"grant_type": "client_credential", "appid": APPID})

    await queue(db, "r2", card="card-zhang")
    assert await worker.run_until_idle() == 1
    assert official.rejected == []
    assert official.token_fetches == 1
    assert len(official.received) == 2
