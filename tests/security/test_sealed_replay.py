"""Replaying a refund or a push whose recorded body is masked, from the sealed copy of the original
(issue 15 item 8): region operators only, every use audited, expired copies purged, no plaintext stored.

Through the real app (real shims, the real PaymentService on the sandbox, the simulated region) and a real,
migrated SQLite database of each test's own (the audit log is append-only: a shared database could not be
emptied after a test)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from api.shims.validation import platform_entry
from services.payments.orders import PaymentService
from services.payments.worker import OutboxWorker
from services.sealing import LedgerSealer, Unsealable
from store.audit import AuditEntry
from store.db import Database
from store.inbound import InboundCall
from store.messages import OutboundMessage
from store.models import utcnow
from store.seed import seed_demo
from tests.api.test_shims_refunds import (
    HIS_REFUND,
    FlakySandbox,
    body_of,
    hospital,
    ledger,
    post,
    provider,
    recharge,
)
from tests.conftest import run_graphql, sign_in_operator
from tests.payments.conftest import clean_region, clock, his, payments, worker

__all__ = ["clean_region", "clock", "his", "hospital", "payments", "provider", "worker"]

REPLAY = """
mutation Replay($id: ID!) { replayInboundCall(callId: $id) {
  __typename ... on InboundReplaySuccess { replyCode reply } ... on Refusal { code message } } }"""
CALLS = """
query { operator { inboundCalls(limit: 50) { id section body reply replayOf replayedBy } } }"""


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'sealed.sqlite3'}")
    await database.migrate()
    yield database
    await database.dispose()


async def _refunded(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> tuple[str, dict[str, object], InboundCall]:
    order = await recharge(payments, worker, provider, "100.00")
    body = body_of("9.1.1", order)  # carries the spec example's idCard (masked in the ledger), amount 32.45
    reply = await post(hospital, "9.1.1", body)
    assert reply["code"] == "10001", reply
    (call,) = await ledger(db, HIS_REFUND)
    assert "*" in json.dumps(call.body, ensure_ascii=False)  # the recorded body is masked
    return order, body, call


async def test_a_region_operator_replays_a_masked_refund_from_its_sealed_copy_once_only(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    """issue 15 item 8: a refund's masked body is replayed from its sealed copy by a region operator, answered as
    the original, refunds nothing twice, is audited, and shows replayOf and replayedBy."""
    order, _, call = await _refunded(hospital, payments, worker, provider, db)
    sign_in_operator(hospital, role="region")
    replayed = await run_graphql(hospital, REPLAY, id=str(call.id))
    result = replayed["data"]["replayInboundCall"]
    assert result["__typename"] == "InboundReplaySuccess", replayed
    assert json.loads(result["reply"]) == call.reply  # answered as the original
    assert [r.amount for r in provider.refunds_of(order)] == [Decimal("32.45")]  # nothing refunded twice
    rows = await ledger(db, HIS_REFUND)
    (again,) = [row for row in rows if row.id != call.id]
    assert (again.replay_of, again.replayed_by) == (call.id, "test.region.all")
    listed = await run_graphql(hospital, CALLS)
    shown = {c["id"]: c for c in listed["data"]["operator"]["inboundCalls"]}
    assert (shown[str(again.id)]["replayOf"], shown[str(again.id)]["replayedBy"]) == (str(call.id), "test.region.all")
    assert call.sealed_body is not None
    assert call.sealed_body not in json.dumps(listed, ensure_ascii=False)  # never in the graph
    async with db.session() as session:
        audited = list(
            (await session.scalars(select(AuditEntry).where(AuditEntry.action == "inbound-call-replayed"))).all()
        )
    details = [json.loads(a.detail or "{}") for a in audited]
    assert {d.get("sealedCopy") for d in details} == {"opened", "used"}  # the use, and the replay
    assert all(a.username == "test.region.all" and a.target == f"inbound call {call.id}" for a in audited)


async def test_a_hospital_operator_may_not_replay_from_the_sealed_copy(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    """issue 15 item 8: only region operators may use the sealed copy; the hospital's own operator is refused."""
    order, _, call = await _refunded(hospital, payments, worker, provider, db)
    sign_in_operator(hospital, role="hospital", hospital_id=call.hospital_id)
    replayed = await run_graphql(hospital, REPLAY, id=str(call.id))
    assert replayed["data"]["replayInboundCall"]["code"] == "REGION_ONLY", replayed
    assert len(await ledger(db, HIS_REFUND)) == 1  # nothing posted
    assert len(provider.refunds_of(order)) == 1
    async with db.session() as session:
        assert (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "inbound-call-replayed"))
        ).all() == []


async def test_an_expired_sealed_copy_cannot_be_replayed_and_is_purged(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    """issue 15 item 8: a sealed copy past its sealed_until is refused and forgotten; a newly recorded refund
    purges expired copies too (bounded)."""
    order, _, call = await _refunded(hospital, payments, worker, provider, db)
    async with db.session() as session:
        await session.execute(
            update(InboundCall).where(InboundCall.id == call.id).values(sealed_until=utcnow() - timedelta(seconds=1))
        )
    sign_in_operator(hospital, role="region")
    replayed = await run_graphql(hospital, REPLAY, id=str(call.id))
    assert replayed["data"]["replayInboundCall"]["code"] == "SEAL_EXPIRED", replayed
    assert len(provider.refunds_of(order)) == 1
    async with db.session() as session:
        row = await session.get(InboundCall, call.id)
        assert row is not None
        assert (row.sealed_body, row.sealed_until) == (None, None)


async def test_the_stored_copy_holds_no_plaintext_and_opens_only_for_its_row(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    """issue 15 item 8: the sealed column holds no ID number, amount or order number; AES-GCM bound to the row id
    with a key from the ledger seal secret (another row or another secret does not open it)."""
    order, body, call = await _refunded(hospital, payments, worker, provider, db)
    sealed = call.sealed_body
    assert sealed is not None
    assert sealed.startswith("v1.")
    for plain in (str(body["idCard"]), "32.45", order, "20180923987121", "idCard"):
        assert plain not in sealed
    assert call.sealed_until is not None
    assert call.sealed_until > utcnow() + timedelta(days=6)
    settings = hospital._transport.app.state.settings  # type: ignore[attr-defined]
    sealer = LedgerSealer(settings.ledger_seal_key, ttl=timedelta(days=7))
    assert sealer.open(call.id, sealed) == body
    for wrong_row, wrong_key in ((call.id + 1, settings.ledger_seal_key), (call.id, b"another deployment")):
        try:
            LedgerSealer(wrong_key, ttl=timedelta(days=7)).open(wrong_row, sealed)
        except Unsealable:
            continue
        raise AssertionError("opened with the wrong row or key")


async def test_recording_a_new_refund_purges_expired_copies(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    """issue 15 item 8: expired copies are forgotten when a new call is recorded (bounded work), after which the
    masked body cannot be replayed at all."""
    order, body, call = await _refunded(hospital, payments, worker, provider, db)
    async with db.session() as session:
        await session.execute(
            update(InboundCall).where(InboundCall.id == call.id).values(sealed_until=utcnow() - timedelta(seconds=1))
        )
    assert (await post(hospital, "9.1.1", body))["code"] == "10001"  # the hospital repeats it: a new row
    rows = {row.id: row for row in await ledger(db, HIS_REFUND)}
    assert (rows[call.id].sealed_body, rows[call.id].sealed_until) == (None, None)
    (newer,) = [row for row in rows.values() if row.id != call.id]
    assert newer.sealed_body is not None
    sign_in_operator(hospital, role="region")
    replayed = await run_graphql(hospital, REPLAY, id=str(call.id))
    assert replayed["data"]["replayInboundCall"]["code"] == "MASKED_BODY", replayed
    assert len(provider.refunds_of(order)) == 1


def test_production_refuses_a_random_ledger_seal_secret(tmp_path: Path) -> None:
    """issue 15 item 8: the sealed copies' key is never a per-process random secret in production: with neither
    HISGRAPH_LEDGER_SEAL_SECRET nor HISGRAPH_SESSION_SECRET set, start-up refuses naming it."""
    from api.settings import Settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'seal.sqlite3'}"
    bare = Settings(mode="production", database_url=url, file_link_secret="f" * 43)
    assert any("HISGRAPH_LEDGER_SEAL_SECRET" in refusal for refusal in bare.production_refusals())
    for given in ({"ledger_seal_secret": "l" * 43, "session_secret": "s" * 43}, {"session_secret": "s" * 43}):
        settings = Settings(mode="production", database_url=url, file_link_secret="f" * 43, **given)  # type: ignore[arg-type]
        assert not any("LEDGER_SEAL" in refusal for refusal in settings.production_refusals())
    own = Settings(mode="production", database_url=url, ledger_seal_secret="l" * 43, session_secret="s" * 43)
    derived = Settings(mode="production", database_url=url, session_secret="s" * 43)
    assert own.ledger_seal_key != derived.ledger_seal_key != b"s" * 43


async def test_a_masked_push_is_replayed_from_its_sealed_copy_as_a_repeat(gateway: httpx.AsyncClient) -> None:
    """issue 15 item 8: a push (19.1.4, ID number and name masked in the ledger) is replayed by a region operator
    from its sealed copy: answered as the first, marked a repeat, and no second message is queued."""
    app_db: Database = gateway._transport.app.state.services.db  # type: ignore[attr-defined]
    await seed_demo(app_db)
    gateway.headers.pop("Authorization", None)
    body = {**platform_entry("19.1.4")["request_example"], "hospitalId": "253", "idCard": "370102197907025236"}
    sent = (await gateway.post("/" + platform_entry("19.1.4")["http_path"], json=body)).json()
    assert sent["code"] == "10001", sent
    async with app_db.session() as session:
        (call,) = (await session.scalars(select(InboundCall))).all()
    assert call.body["idCard"] != body["idCard"]
    assert call.sealed_body is not None
    assert body["idCard"] not in call.sealed_body
    sign_in_operator(gateway, role="region")
    replayed = await run_graphql(gateway, REPLAY, id=str(call.id))
    assert replayed["data"]["replayInboundCall"]["__typename"] == "InboundReplaySuccess", replayed
    assert json.loads(replayed["data"]["replayInboundCall"]["reply"]) == call.reply
    async with app_db.session() as session:
        rows = (await session.scalars(select(InboundCall).order_by(InboundCall.id))).all()
        queued = (await session.scalars(select(OutboundMessage))).all()
    assert [(r.duplicate_of, r.replay_of) for r in rows] == [(None, None), (call.id, call.id)]
    assert len(queued) == 1


async def test_a_refused_push_keeps_a_sealed_copy_and_the_sealed_sections_are_every_push(tmp_path: Path) -> None:
    """issue 15 item 8: a push refused (here 20001) by a caller acting for one hospital keeps its sealed copy
    too, so it can be replayed once the fault is fixed; the ledger's push sections are exactly the pushes the
    shims serve."""
    from api.settings import Settings
    from api.shims.messages import PUSHES
    from his_clients.registry import Hospital, Registry
    from services.shims.ledger import PUSH_SECTIONS
    from tests.conftest import running_gateway

    assert {"11.2.1", *(p.section for p in PUSHES)} == PUSH_SECTIONS
    only = Hospital(id="253", name="医院253", base_url="http://127.0.0.1:9/his/253", allowed_ips=("127.0.0.1",))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'push.sqlite3'}",
        registry=Registry(hospitals=(only,)),
        run_payment_worker=False,
    )
    async with running_gateway(settings, signed_in=False) as gateway:
        await _refused_push_is_sealed(gateway)


async def _refused_push_is_sealed(gateway: httpx.AsyncClient) -> None:
    app_db: Database = gateway._transport.app.state.services.db  # type: ignore[attr-defined]
    body = {**platform_entry("19.1.4")["request_example"], "hospitalId": "253", "idCard": "370102197907025236"}
    del body["reportkey"]
    refused = (await gateway.post("/" + platform_entry("19.1.4")["http_path"], json=body)).json()
    assert refused["code"] == "20001", refused
    async with app_db.session() as session:
        (call,) = (await session.scalars(select(InboundCall))).all()
    assert call.sealed_body is not None
    assert body["idCard"] not in call.sealed_body
    settings = gateway._transport.app.state.settings  # type: ignore[attr-defined]
    assert LedgerSealer(settings.ledger_seal_key, ttl=timedelta(days=1)).open(call.id, call.sealed_body) == body
