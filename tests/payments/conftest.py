"""Fixtures of the payment tests: the store on SQLite and PostgreSQL, the simulated region, a manual clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from his_clients.client import HisClient
from his_clients.registry import Registry
from services.payments.clock import ManualClock
from services.payments.orders import PaymentService
from services.payments.providers.sandbox import SandboxProvider
from services.payments.worker import OutboxWorker
from store.db import Database
from tests.store.conftest import database_factory, db, migrated_database

__all__ = ["database_factory", "db", "migrated_database"]

CARD = "001000056254587"
"""张三: at every simulated hospital, with pending bills, a balance and an ongoing stay (admission 060508)."""


@pytest.fixture
def clean_region(sim_admin: httpx.Client) -> httpx.Client:
    """The simulator rebuilt from its seed: 张三's bills are pending again, nothing applied yet."""
    sim_admin.post("/admin/reset").raise_for_status()
    return sim_admin


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 11, 26, 2, 0, tzinfo=UTC))


@pytest.fixture
def provider(clock: ManualClock) -> SandboxProvider:
    return SandboxProvider(clock=clock)


@pytest.fixture
async def his(region: Registry) -> AsyncIterator[HisClient]:
    async with HisClient(region) as client:
        yield client


@pytest.fixture
def payments(db: Database, his: HisClient, provider: SandboxProvider, clock: ManualClock) -> PaymentService:
    return PaymentService(db=db, his=his, provider=provider, clock=clock, notify_url="http://gateway/pay/notify")


@pytest.fixture
def worker(db: Database, his: HisClient, provider: SandboxProvider, clock: ManualClock) -> OutboxWorker:
    return OutboxWorker(db=db, his=his, provider=provider, clock=clock, his_timeout_s=3.0)


def applied(admin: httpx.Client, hospital_id: str, key: str) -> int:
    """How often the simulated hospital applied this outTradeNo."""
    response = admin.get("/admin/applied")
    response.raise_for_status()
    count: int = response.json().get(hospital_id, {}).get(key, 0)
    return count
