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
    if result is not None:
        await audit_patients(info, view=view, cards=list(patients(result)))
    return result


async def audit_patients(info: Info, *, view: str, cards: list[tuple[str | None, str]]) -> None:
    """Record that the operator asking was shown these patients (hospital, card) in ``view``."""
    principal = info.context.principal
    cards = [(hospital, card) for hospital, card in cards if card]
    if cards and isinstance(principal, OperatorPrincipal):
        await record_read(info.context.services.db, principal, view=view, cards=cards)
