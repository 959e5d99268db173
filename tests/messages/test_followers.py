"""The official account's followers: imported from a CSV, found by unionid, and what happens without one."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.cli import build_parser
from services.messages import OfficialAccountApi, StoreDirectory, import_followers, parse_followers_csv
from services.payments.clock import ManualClock
from store.db import Database
from store.followers import FollowerRepository

from .fake_official_account import FakeOfficialAccount
from .support import add_patients, keys_received, make_worker, queue, states

CSV = """\ufeffunionid,openid,subscribed,last_interaction_at
union-zhang,oa-zhang,1,2025-11-26 09:30:00
union-li,oa-li,,
union-wang,oa-wang,0,1764120000
,oa-nobody,1,
union-zhao,oa-zhao,maybe,
union-qian,oa-qian,1,yesterday
union-sun,oa-zhang,1,
"""


def test_the_csv_is_read_row_by_row() -> None:
    rows, refused = parse_followers_csv(CSV)
    by_union = {row.unionid: row for _, row in rows}
    assert set(by_union) == {"union-zhang", "union-li", "union-wang", "union-sun"}
    # yyyy-MM-dd HH:mm:ss is Beijing time, as the spec writes times; digits are Unix seconds.
    assert by_union["union-zhang"].last_interaction_at == datetime(2025, 11, 26, 1, 30, tzinfo=UTC)
    assert by_union["union-wang"].last_interaction_at == datetime.fromtimestamp(1764120000, UTC)
    assert by_union["union-li"].subscribed is True
    assert by_union["union-wang"].subscribed is False
    assert [line for line, _ in refused] == [5, 6, 7]
    assert "required" in refused[0][1]
    assert "subscribed" in refused[1][1]
    assert "not a time" in refused[2][1]
    assert parse_followers_csv("openid\nx\n") == ([], [(1, "header lacks unionid")])


async def test_imported_followers_are_found_by_unionid(db: Database) -> None:
    rows, _ = parse_followers_csv(CSV)
    report = await import_followers(db, rows)
    assert report.applied == 3
    assert report.skipped == [(8, "openid oa-zha... already belongs to another unionid")]

    async with db.session() as session:
        directory = StoreDirectory()
        zhang = await directory.follower(session, "union-zhang")
        assert zhang is not None
        assert zhang.openid == "oa-zhang"
        assert zhang.last_interaction_at == datetime(2025, 11, 26, 1, 30, tzinfo=UTC)
        assert await directory.follower(session, "union-wang") is None  # unsubscribed
        assert await directory.follower(session, "union-nobody") is None

    # Imported again with a later interaction and a changed subscription: brought up to date.
    again, _ = parse_followers_csv("unionid,openid,subscribed,last_interaction_at\nunion-wang,oa-wang,1,\n")
    assert (await import_followers(db, again)).applied == 1
    async with db.session() as session:
        assert await StoreDirectory().follower(session, "union-wang") is not None
        assert await FollowerRepository(session).count() == 3


async def test_the_worker_sends_to_store_followers_and_not_to_others(
    db: Database, fake: tuple[FakeOfficialAccount, str], clock: ManualClock, apis: list[OfficialAccountApi]
) -> None:
    official, base_url = fake
    await add_patients(db)
    rows, _ = parse_followers_csv("unionid,openid,subscribed\nunion-zhang,oa-zhang,1\nunion-li,oa-li,0\n")
    await import_followers(db, rows)
    await queue(db, "r1", card="card-zhang")
    await queue(db, "r2", card="card-li")  # unsubscribed
    await queue(db, "r3", card="card-wang")  # no follower
    await queue(db, "c1", card="card-zhang", kind="sendCustomizedMessage")  # no interaction on record

    worker = make_worker(db, base_url, clock, StoreDirectory(), apis)  # type: ignore[arg-type]
    await worker.run_until_idle()
    clock.advance(timedelta(hours=1))
    await worker.run_until_idle()

    assert keys_received(official) == Counter({"r1": 1})
    assert official.templates()[0]["touser"] == "oa-zhang"
    assert await states(db) == {"r1": "sent", "r2": "undeliverable", "r3": "undeliverable", "c1": "undeliverable"}


def hisgraph(*argv: str) -> int:
    """The CLI's command, without main()'s logging set-up (it would replace the test run's log handlers)."""
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


def test_the_cli_imports_a_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "followers.csv"
    source.write_text(CSV, encoding="utf-8")
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    assert hisgraph("followers", "import", str(source), "--database-url", url) == 0
    out, err = capsys.readouterr()
    assert "3 followers recorded, 4 lines skipped" in out
    assert "line 5: skipped: unionid and openid are required" in err

    assert hisgraph("followers", "import", str(tmp_path / "missing.csv"), "--database-url", url) == 2
