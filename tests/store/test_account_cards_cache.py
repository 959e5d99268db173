"""A patient's proven cards, as the per-request authorisation reads them (AccountService.cards).

Concurrent requests of one patient share one store read, and a card added or removed here is seen by
the next ask, even when a read begun before the change finishes after it.
"""

from __future__ import annotations

import asyncio

import pytest

from services.identity.accounts import AccountService
from store.accounts import AccountCard, AccountRepository
from store.db import Database


def _service(db: Database) -> AccountService:
    return AccountService(db=db, his=None, sms=None, wechat=None)  # type: ignore[arg-type]  # no HIS, SMS or WeChat call here


async def _account(db: Database) -> int:
    async with db.session() as session:
        account = await AccountRepository(session).get_or_create(openid="o-cache", unionid=None)
        return account.id


def _numbers(cards: list[AccountCard]) -> set[str]:
    return {card.medical_card_number for card in cards}


async def test_concurrent_asks_share_one_store_read(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = _service(db)
    account_id = await _account(db)
    await accounts.grant(account_id=account_id, medical_card_number="C1", hospital_id="253", how="test")
    reads = 0
    release = asyncio.Event()
    read_cards = AccountRepository.cards

    async def counted(self: AccountRepository, account: int) -> list[AccountCard]:
        nonlocal reads
        reads += 1
        await release.wait()
        return await read_cards(self, account)

    monkeypatch.setattr(AccountRepository, "cards", counted)
    asks = [asyncio.create_task(accounts.cards(account_id)) for _ in range(20)]
    await asyncio.sleep(0.05)
    release.set()
    answers = await asyncio.gather(*asks)
    assert reads == 1
    assert all(_numbers(answer) == {"C1"} for answer in answers)
    assert _numbers(await accounts.cards(account_id)) == {"C1"}  # kept: no second read
    assert reads == 1


async def test_one_asker_cancelled_does_not_cancel_the_others(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    accounts = _service(db)
    account_id = await _account(db)
    await accounts.grant(account_id=account_id, medical_card_number="C1", hospital_id="253", how="test")
    release = asyncio.Event()
    read_cards = AccountRepository.cards

    async def slow(self: AccountRepository, account: int) -> list[AccountCard]:
        await release.wait()
        return await read_cards(self, account)

    monkeypatch.setattr(AccountRepository, "cards", slow)
    first = asyncio.create_task(accounts.cards(account_id))
    second = asyncio.create_task(accounts.cards(account_id))
    await asyncio.sleep(0.05)
    first.cancel()
    release.set()
    assert _numbers(await second) == {"C1"}
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_change_during_a_read_is_seen_by_the_next_ask(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if db.url.get_backend_name() == "sqlite":
        pytest.skip("SQLite serialises the read and the change (BEGIN IMMEDIATE): the race exists on PostgreSQL")
    accounts = _service(db)
    account_id = await _account(db)
    await accounts.grant(account_id=account_id, medical_card_number="C1", hospital_id="253", how="test")
    release = asyncio.Event()
    read_cards = AccountRepository.cards
    read = asyncio.Event()

    async def read_then_wait(self: AccountRepository, account: int) -> list[AccountCard]:
        cards = await read_cards(self, account)  # read before the change below commits
        read.set()
        await release.wait()
        return cards

    monkeypatch.setattr(AccountRepository, "cards", read_then_wait)
    stale = asyncio.create_task(accounts.cards(account_id))
    await read.wait()
    monkeypatch.setattr(AccountRepository, "cards", read_cards)
    await accounts.grant(account_id=account_id, medical_card_number="C2", hospital_id="253", how="test")
    release.set()
    assert _numbers(await stale) == {"C1"}  # that ask began before the change
    assert _numbers(await accounts.cards(account_id)) == {"C1", "C2"}  # the stale read was not kept
