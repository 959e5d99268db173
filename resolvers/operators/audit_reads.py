"""Reads that return patients' data are audited (issue 15 item 12): which view, which patients (masked)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from services.audit import record_read
from services.identity.principal import OperatorPrincipal

from ..context import Info

T = TypeVar("T")


async def audited(
    info: Info, entry: Awaitable[T], *, view: str, patients: Callable[[T], Iterable[tuple[str | None, str]]]
) -> T:
    """Await one entry of a view; when it holds patients' data, write who read whom before answering."""
    result = await entry
    principal = info.context.principal
    if result is not None and isinstance(principal, OperatorPrincipal):
        cards = [(hospital, card) for hospital, card in patients(result) if card]
        if cards:
            await record_read(info.context.services.db, principal, view=view, cards=cards)
    return result
