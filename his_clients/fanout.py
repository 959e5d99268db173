"""Asking many hospitals: their ids as the spec writes them, a deadline for all, and which of them one
call may carry together (a regional group) and how its reply splits back per hospital.

The concurrency itself lives where the answers are used: the graph settles each hospital's entry on
its own under the request's deadline (resolvers/fanout.py); jobs gather their calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from .method import HisMethod
from .registry import Registry


def parse_hospital_ids(raw: str | Iterable[str]) -> list[str]:
    """``"253, 254,253"`` -> ``["253", "254"]``: the spec's comma-separated hospitalId, de-duplicated."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for part in parts:
        hospital_id = part.strip()
        if hospital_id:
            seen.setdefault(hospital_id, None)
    return list(seen)


def deadline_in(seconds: float) -> float:
    """An absolute deadline on the running loop's clock."""
    return asyncio.get_running_loop().time() + seconds


def group_for_one_call(registry: Registry, method: HisMethod[Any, Any], hospital_ids: Sequence[str]) -> list[list[str]]:
    """Which hospitals one call may carry together.

    Behind one regional endpoint, methods the spec lets carry ``hospitalId1,hospitalId2`` go as one
    call; everything else goes one call per hospital.
    """
    if not method.multi_hospital:
        return [[hospital_id] for hospital_id in hospital_ids]
    groups: dict[str, list[str]] = {}
    for hospital_id in hospital_ids:
        hospital = registry.hospital(hospital_id)
        key = f"endpoint:{hospital.endpoint}" if hospital and hospital.endpoint else f"hospital:{hospital_id}"
        groups.setdefault(key, []).append(hospital_id)
    return list(groups.values())


def split_by_hospital(reply: Any, hospital_ids: Sequence[str]) -> dict[str, Any]:
    """One multi-hospital reply (``hospitalId: "256,257"``) as one reply per hospital.

    Records are told apart by their own ``hospitalId``: a list of records is split into lists; a
    model holding lists of records (16.1.1's ``report``) is copied once per hospital with only that
    hospital's records. A record naming no hospital cannot be attributed: callers check
    `has_unlabelled_records` first and ask each hospital on its own for such a reply.
    """
    if isinstance(reply, list):
        return {h: [r for r in reply if _hospital_of(r) == h] for h in hospital_ids}
    if isinstance(reply, BaseModel):
        lists = {
            name: value
            for name, value in ((name, getattr(reply, name)) for name in type(reply).model_fields)
            if isinstance(value, list) and any(_hospital_of(item) is not None for item in value)
        }
        if lists:
            return {h: reply.model_copy(update=_only(lists, h)) for h in hospital_ids}
    return dict.fromkeys(hospital_ids, reply)


def has_unlabelled_records(reply: Any) -> bool:
    """Whether a multi-hospital reply holds records naming no hospital (the record-level hospitalId is
    optional): such a reply cannot be split, so each hospital of the group is asked on its own instead,
    where an unlabelled record plainly belongs to the only hospital asked."""
    if isinstance(reply, list):
        return any(_labellable(r) and _hospital_of(r) is None for r in reply)
    if isinstance(reply, BaseModel):
        return any(
            isinstance(value, list) and any(_labellable(item) and _hospital_of(item) is None for item in value)
            for value in (getattr(reply, name) for name in type(reply).model_fields)
        )
    return False


def _labellable(record: Any) -> bool:
    return isinstance(record, BaseModel) and "hospital_id" in type(record).model_fields


def _only(lists: dict[str, list[Any]], hospital_id: str) -> dict[str, list[Any]]:
    return {name: [r for r in records if _hospital_of(r) == hospital_id] for name, records in lists.items()}


def _hospital_of(record: Any) -> str | None:
    hospital_id = getattr(record, "hospital_id", None)
    return hospital_id if isinstance(hospital_id, str) and hospital_id else None
