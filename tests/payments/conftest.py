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
from services.registration_uploads import SCHEDULE, schedule_key
from store.db import Database
from store.uploads import HospitalUploads
from tests.store.conftest import database_factory, db, migrated_database

__all__ = ["database_factory", "db", "migrated_database", "upload_schedule"]

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


async def upload_schedule(
    db: Database,
    *,
    hospital_id: str = "253",
    date: str = "20251203",
    am_pm: str = "AM",
    dept_code: str = "0256",
    doc_code: str = "256654",
    fee: str | None = "16.00",
) -> None:
    """The half-day schedule a hospital uploads with 21.1.4 (arAmt its fee), as the shim stores it.

    The defaults are the simulated doctor 256654 of hospital 253, whose fee the simulator holds at 16.00.
    """
    payload = {
        "hosCode": "0531_csyy",
        "hosName": "测试医院",
        "deptCode": dept_code,
        "deptName": "科室",
        "docCode": doc_code,
        "docName": "医生",
        "scheduleDate": date,
        "amPm": am_pm,
        "opType": "1",
        "scheduleType": "1",
        "upLimit": "14",
        "appNum": "0",
    }
    if fee is not None:
        payload["arAmt"] = fee
    async with db.session() as session:
        await HospitalUploads(session).put(
            hospital_id=hospital_id,
            kind=SCHEDULE,
            natural_key=schedule_key(date, am_pm, dept_code, doc_code),
            payload=payload,
            at=datetime.now(UTC),
        )
