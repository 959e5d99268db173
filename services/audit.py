"""Writing the operators' audit trail (store/audit.py): who did what, to whom, from where.

``record`` adds the row to the caller's session, so it commits with the action it records. Patients are
named masked (``card 0010****4587``): the trail says which patient a read returned without repeating it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.client_address import current_client_address
from services.identity.principal import OperatorPrincipal
from store.audit import AuditEntry, AuditRepository
from store.db import Database

ACTIONS = (
    "login",
    "login-failed",
    "logout",
    "password-changed",
    "password-reset",
    "operator-disabled",
    "inbound-call-replayed",
    "parked-order-resolved",
    "job-run-started",
    "reconciliation-checked",
    "mismatch-acknowledged",
    "patient-data-read",
)
"""Every action the trail records (auditLog's ``action`` filter takes these)."""


def mask_card(card: str) -> str:
    """``001000056254587`` -> ``0010*******4587``: enough to tell patients apart, not to use the card."""
    card = card.strip()
    if len(card) <= 8:
        return "*" * len(card)
    return card[:4] + "*" * (len(card) - 8) + card[-4:]


def record(
    db: AsyncSession,
    actor: OperatorPrincipal,
    action: str,
    *,
    hospital_id: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """One row for an operator's action, in the action's own transaction.

    The row's hospital is the one the action concerns, else the operator's own (a hospital operator's rows
    are always theirs); region-wide actions of region operators have none."""
    return AuditRepository(db).append(
        operator_id=actor.operator_id,
        username=actor.username or f"operator-{actor.operator_id}",
        action=action,
        hospital_id=hospital_id or actor.hospital_id,
        target=target,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
        address=current_client_address(),
    )


async def record_read(
    db: Database, actor: OperatorPrincipal, *, view: str, cards: list[tuple[str | None, str]]
) -> None:
    """An operator's read that returned patients' data: one row per (hospital, patient) pair, cards masked."""
    seen: set[tuple[str | None, str]] = set()
    async with db.session() as session:
        for hospital, card in cards:
            if not card or (hospital, card) in seen:
                continue
            seen.add((hospital, card))
            record(
                session,
                actor,
                "patient-data-read",
                hospital_id=hospital,
                target=f"card {mask_card(card)}",
                detail={"view": view},
            )
