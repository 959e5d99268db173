"""Loading the official account's followers (unionid -> official-account openid) into the store.

The official account knows its followers by its own openid; a message for a card's holder reaches them
only through the unionid their mini-program account shares. ``hisgraph followers import <file.csv>``
loads a CSV (e.g. exported from the official account's user list, ``cgi-bin/user/info`` giving each
openid's unionid) with a header row::

    unionid,openid,subscribed,last_interaction_at
    o6_bmasdasdsad6_2sgVt7hMZOPfL,oLVPpjqs9BhvzwPj5A-vTYAX3GLc,1,2025-11-26 09:00:00

``subscribed`` (1/0, true/false, yes/no; default 1) and ``last_interaction_at`` (the user's last message
or click, which opens the customer-service window: ISO 8601, ``yyyy-MM-dd HH:mm:ss`` in Beijing time as
the spec writes times, or Unix seconds as WeChat's CreateTime; default none) may be left out. A row
that cannot be read, or whose openid belongs to another unionid, is reported and skipped; the others
are applied (a follower already known is brought up to date).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from sqlalchemy.exc import IntegrityError

from services.payments.clock import CHINA_TIME
from store.db import Database
from store.followers import FollowerRepository, OpenidTaken
from store.models import utcnow

REQUIRED_COLUMNS: Final = ("unionid", "openid")
_TRUE: Final = frozenset({"1", "true", "yes", "y"})
_FALSE: Final = frozenset({"0", "false", "no", "n"})


@dataclass(frozen=True, slots=True)
class FollowerRow:
    """One follower to record."""

    unionid: str
    openid: str
    subscribed: bool = True
    last_interaction_at: datetime | None = None


@dataclass(slots=True)
class FollowerImport:
    """What an import did: rows applied, and the rows skipped with why (by CSV line number)."""

    applied: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


def parse_followers_csv(text: str) -> tuple[list[tuple[int, FollowerRow]], list[tuple[int, str]]]:
    """The rows of a followers CSV, each with its line number, and the lines that could not be read."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        return [], [(1, f"header lacks {', '.join(missing)}")]
    rows: list[tuple[int, FollowerRow]] = []
    refused: list[tuple[int, str]] = []
    for raw in reader:
        line = reader.line_num
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        try:
            rows.append((line, _row(values)))
        except ValueError as error:
            refused.append((line, str(error)))
    return rows, refused


def _row(values: dict[str, str]) -> FollowerRow:
    unionid, openid = values.get("unionid", ""), values.get("openid", "")
    if not unionid or not openid:
        raise ValueError("unionid and openid are required")
    if len(unionid) > 128 or len(openid) > 128:
        raise ValueError("unionid or openid longer than 128 characters")
    flag = values.get("subscribed", "").lower()
    if flag and flag not in _TRUE | _FALSE:
        raise ValueError(f"subscribed must be 1 or 0, not {flag[:10]!r}")
    return FollowerRow(
        unionid=unionid,
        openid=openid,
        subscribed=flag not in _FALSE,
        last_interaction_at=_moment(values.get("last_interaction_at", "")),
    )


def _moment(text: str) -> datetime | None:
    if not text:
        return None
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"last_interaction_at is not a time: {text[:30]!r}") from None
    return moment.replace(tzinfo=CHINA_TIME) if moment.tzinfo is None else moment


async def import_followers(
    db: Database, rows: Iterable[tuple[int, FollowerRow]], *, now: datetime | None = None
) -> FollowerImport:
    """Record the followers, in one transaction; a row refused by the store is skipped, not fatal."""
    report = FollowerImport()
    now = now or utcnow()
    async with db.session() as session:
        followers = FollowerRepository(session)
        for line, row in rows:
            try:
                async with session.begin_nested():
                    await followers.upsert(
                        unionid=row.unionid,
                        openid=row.openid,
                        subscribed=row.subscribed,
                        last_interaction_at=row.last_interaction_at,
                        now=now,
                    )
            except OpenidTaken as error:
                report.skipped.append((line, str(error)))
            except IntegrityError:
                report.skipped.append((line, "conflicts with another follower (unionid or openid)"))
            else:
                report.applied += 1
    return report
