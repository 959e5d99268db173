"""Fixtures of the message-delivery tests: the store on both backends, a manual clock, the fake official account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from services.messages import MemoryDirectory, OfficialAccountApi, OfficialFollower
from services.payments.clock import ManualClock
from tests.store.conftest import database_factory, db, empty_database_url, migrated_database

from .fake_official_account import FakeOfficialAccount, FakeServer

__all__ = ["database_factory", "db", "empty_database_url", "migrated_database"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 11, 26, 2, 0, tzinfo=UTC))


@pytest.fixture
def fake_server(clock: ManualClock) -> Iterator[FakeServer]:
    """The fake official account on its own loopback port; `.official` is the fake, `stop()`/`start()` close
    and reopen the port. It tells token lifetimes by the test's clock."""
    server = FakeServer(FakeOfficialAccount(clock=clock))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake(fake_server: FakeServer) -> tuple[FakeOfficialAccount, str]:
    return fake_server.official, fake_server.base_url


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
