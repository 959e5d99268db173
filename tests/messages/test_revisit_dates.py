"""19.1.8 revisit messages go out on the date the hospital gives, not at once (issue 11 item 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services.messages import (
    AccessTokenHolder,
    DeliveryWorker,
    MemoryDirectory,
    OfficialAccountApi,
    Template,
    TemplateMessageSender,
)
from services.payments.clock import ManualClock
from store.db import Database
from store.inbound import InboundCall
from store.messages import MessageOutbox, OutboundMessage

from .fake_official_account import APPID, SECRET, FakeOfficialAccount
from .support import HOSPITAL, add_patients

TEMPLATES = {
    "sendRevisitMsg": Template(
        template_id="tmpl-revisit", data={"first": "{patientName}，请于{revisitTime}到{departmentName}复诊"}
    ),
}


def make_worker(
    db: Database, base_url: str, clock: ManualClock, directory: MemoryDirectory, apis: list[OfficialAccountApi]
) -> DeliveryWorker:
    api = OfficialAccountApi(base_url=base_url, timeout_s=3.0)
    apis.append(api)
    tokens = AccessTokenHolder(api, appid=APPID, secret=SECRET, clock=clock)
    return DeliveryWorker(
        db=db,
        sender=TemplateMessageSender(api, tokens),
        directory=directory,
        templates=TEMPLATES,
        clock=clock,
    )


async def push_revisit(db: Database, revisit: str, *, name: str = "revisitTime", pushed: bool = True) -> None:
    """What the 19.1.8 shim writes: the inbound call and its message (our own 19.2.x job writes no call)."""
    async with db.session() as session:
        call_id = None
        if pushed:
            call = InboundCall(
                section="19.1.8",
                path="/prefront/sendTipMessage/sendRevisitMsg",
                hospital_id=HOSPITAL,
                body={},
                reply_code="10001",
                reply={},
            )
            session.add(call)
            await session.flush()
            call_id = call.id
        await MessageOutbox(session).queue(
            kind="sendRevisitMsg",
            hospital_id=HOSPITAL,
            medical_card_number="card-zhang",
            id_card_number=None,
            payload={"patientName": "张三", "departmentName": "防痨科门诊", name: revisit},
            dedupe_key=f"19.1.8:{HOSPITAL}:card-zhang|1551902701623828482|{revisit}|{pushed}",
            inbound_call_id=call_id,
        )


async def rows(db: Database) -> list[OutboundMessage]:
    async with db.session() as session:
        return list((await session.execute(select(OutboundMessage).order_by(OutboundMessage.id))).scalars())


@pytest.mark.parametrize("name", ["revisitTime", "revisitDate"])
async def test_a_revisit_push_waits_for_its_date(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
    name: str,
) -> None:
    """issue 11 item 10: pushed on 11-26 10:00 (Beijing, the fixture's clock) for a revisit on 11-28, the
    message goes out on 11-28 at 08:00 Beijing time, once, and holding it costs no delivery attempt."""
    official, base_url = fake
    await add_patients(db)
    await push_revisit(db, "2025-11-28", name=name)
    worker = make_worker(db, base_url, clock, directory, apis)

    await worker.run_until_idle()
    assert official.templates() == []
    clock.advance(timedelta(days=1, hours=21, minutes=59))  # 11-28 07:59 in Beijing
    await worker.run_until_idle()
    assert official.templates() == []

    clock.advance(timedelta(minutes=1))  # 11-28 08:00 in Beijing
    await worker.run_until_idle()
    [sent] = official.templates()
    assert sent["template_id"] == "tmpl-revisit"
    assert sent["data"]["first"]["value"].startswith("张三，请于")
    [row] = await rows(db)
    assert (row.state, row.attempts) == ("sent", 1)
    clock.advance(timedelta(days=1))
    await worker.run_until_idle()
    assert len(official.templates()) == 1


async def test_a_revisit_due_today_or_past_goes_at_once(
    db: Database,
    fake: tuple[FakeOfficialAccount, str],
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
) -> None:
    """issue 11 item 10: a revisit dated today (after 08:00) or earlier is not held; our own 19.2.x reminders,
    queued ahead of the revisit on purpose, are not held either."""
    official, base_url = fake
    await add_patients(db)
    await push_revisit(db, "2025-11-26")
    await push_revisit(db, "2025-11-20")
    await push_revisit(db, "2025-11-27", pushed=False)
    worker = make_worker(db, base_url, clock, directory, apis)
    await worker.run_until_idle()
    assert len(official.templates()) == 3
