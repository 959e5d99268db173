"""One access_token for every worker: kept in ``shared_tokens``, renewed once however many workers ask."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TypedDict, Unpack

import pytest

from services.messages import AccessTokenHolder, OfficialAccountApi, StoreTokenCache
from services.messages.tokens import ACCESS_TOKEN_NAME
from services.messages.wechat import WeChatUnavailable
from services.payments.clock import ManualClock
from store.db import Database
from store.followers import SharedTokens

from .fake_official_account import APPID, SECRET, FakeOfficialAccount

NAME = ACCESS_TOKEN_NAME.format(appid=APPID)


class HolderOptions(TypedDict, total=False):
    wait_s: float


def holders(
    db: Database,
    base_url: str,
    clock: ManualClock,
    apis: list[OfficialAccountApi],
    count: int,
    **options: Unpack[HolderOptions],
) -> list[AccessTokenHolder]:
    """`count` holders as `count` gateway instances build them: each its own HTTP session, one store."""
    made = []
    for _ in range(count):
        api = OfficialAccountApi(base_url=base_url, timeout_s=3.0)
        apis.append(api)
        made.append(
            AccessTokenHolder(
                api,
                appid=APPID,
                secret=SECRET,
                cache=StoreTokenCache(db, name=NAME),
                clock=clock,
                poll_s=0.02,
                **options,
            )
        )
    return made


async def test_instances_share_one_token_and_renew_it_once(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, apis: list[OfficialAccountApi]
) -> None:
    official, base_url = fake
    instances = holders(db, base_url, clock, apis, 4)

    tokens = await asyncio.gather(*(holder.token() for holder in instances))
    assert tokens == ["tok-1"] * 4
    assert official.token_fetches == 1
    async with db.session() as session:
        stored = await SharedTokens(session).get(NAME)
    assert stored is not None
    assert stored.value == "tok-1"
    assert stored.expires_at == clock.now() + timedelta(seconds=7200)

    # WeChat refused tok-1 to all of them at once: one renewal.
    renewed = await asyncio.gather(*(holder.refresh("tok-1") for holder in instances))
    assert renewed == ["tok-2"] * 4
    assert official.token_fetches == 2

    # A gateway started later finds the token in the store.
    (late,) = holders(db, base_url, clock, apis, 1)
    assert await late.token() == "tok-2"
    assert official.token_fetches == 2


async def test_the_token_is_renewed_before_it_expires(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, apis: list[OfficialAccountApi]
) -> None:
    official, base_url = fake
    first, second = holders(db, base_url, clock, apis, 2)
    assert await first.token() == "tok-1"
    clock.advance(timedelta(seconds=7200 - 600))
    assert await second.token() == "tok-1"  # ten minutes left: still good
    clock.advance(timedelta(seconds=301))
    assert list(await asyncio.gather(first.token(), second.token())) == ["tok-2", "tok-2"]
    assert official.token_fetches == 2


async def test_a_lease_held_by_a_dead_instance_is_waited_out(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, apis: list[OfficialAccountApi]
) -> None:
    official, base_url = fake
    cache = StoreTokenCache(db, name=NAME)
    assert await cache.take_lease("dead-instance", until=clock.now() + timedelta(seconds=20), now=clock.now())
    (holder,) = holders(db, base_url, clock, apis, 1, wait_s=0.2)

    with pytest.raises(WeChatUnavailable, match="renewing"):
        await holder.token()
    assert official.token_fetches == 0

    clock.advance(timedelta(seconds=21))  # the dead instance's lease ran out
    assert await holder.token() == "tok-1"
    assert official.token_fetches == 1


async def test_a_refused_appid_or_secret_sends_nothing(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, apis: list[OfficialAccountApi]
) -> None:
    official, base_url = fake
    api = OfficialAccountApi(base_url=base_url, timeout_s=3.0)
    apis.append(api)
    holder = AccessTokenHolder(api, appid=APPID, secret="wrong", cache=StoreTokenCache(db, name=NAME), clock=clock)
    with pytest.raises(WeChatUnavailable, match="40125"):
        await holder.token()
    # The lease was given back: a holder with the right secret renews at once.
    (right,) = holders(db, base_url, clock, apis, 1, wait_s=0.5)
    assert await right.token() == "tok-1"
    assert official.token_fetches == 1
