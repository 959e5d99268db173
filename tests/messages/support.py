"""Helpers shared by the message-delivery tests: patients, queued messages, a worker as a gateway builds it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from services.messages import (
    AccessTokenHolder,
    CustomerServiceText,
    DeliveryWorker,
    MemoryDirectory,
    OfficialAccountApi,
    Template,
    TemplateMessageSender,
    TokenCache,
)
from services.payments.clock import ManualClock
from store.accounts import Account, AccountCard
from store.db import Database
from store.messages import MessageOutbox, OutboundMessage

from .fake_official_account import APPID, SECRET, FakeOfficialAccount

HOSPITAL = "253"
TEMPLATES: dict[str, Template | CustomerServiceText] = {
    "lisReport": Template(
        template_id="tmpl-lis",
        data={"first": "{userName}，您的检验报告已出", "keyword1": "{item}", "key": "{reportkey}"},
        url="https://example.org/report/{reportkey}",
    ),
    "sendCustomizedMessage": CustomerServiceText(),
}


class Crash(BaseException):
    """The process dying: not an Exception, so nothing on the way catches it."""


def make_worker(
    db: Database,
    base_url: str,
    clock: ManualClock,
    directory: MemoryDirectory,
    apis: list[OfficialAccountApi],
    *,
    cache: TokenCache | None = None,
    resend_delays: tuple[timedelta, ...] = (timedelta(seconds=10),),
) -> DeliveryWorker:
    """A worker as a freshly started gateway builds it (its own token holder, nothing cached)."""
    api = OfficialAccountApi(base_url=base_url, timeout_s=3.0)
    apis.append(api)
    tokens = AccessTokenHolder(api, appid=APPID, secret=SECRET, clock=clock, cache=cache)
    return DeliveryWorker(
        db=db,
        sender=TemplateMessageSender(api, tokens),
        directory=directory,
        templates=TEMPLATES,
        clock=clock,
        resend_delays=resend_delays,
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


def dedupe_key(key: str) -> str:
    return f"19.1.4:{HOSPITAL}:{key}"


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
            dedupe_key=dedupe_key(key),
            inbound_call_id=None,
        )


async def states(db: Database) -> dict[str, str]:
    async with db.session() as session:
        rows = (await session.execute(select(OutboundMessage))).scalars()
        return {row.dedupe_key.rsplit(":", 1)[-1]: row.state for row in rows}


def keys_received(official: FakeOfficialAccount) -> Counter[str]:
    return Counter(body["data"]["key"]["value"] for body in official.templates())
