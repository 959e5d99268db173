"""What the identity mutations share: turning a principal into a session, and the signed-in account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import strawberry

from services.identity.principal import PatientPrincipal, Principal
from store.accounts import AccountCard as StoredCard

from ...access import Unauthenticated, refuse_invalid_session
from ...arguments import beijing
from ...context import Info
from ..types import AccountCard, CardOrigin, Relation, Session


def session_for(info: Info, principal: Principal) -> Session:
    sessions = info.context.services.sessions
    return Session(
        token=sessions.issue(principal), expires_at=beijing(datetime.now(UTC) + timedelta(seconds=sessions.ttl_s))
    )


def signed_in_account(info: Info) -> int:
    principal = info.context.principal
    refuse_invalid_session(principal)
    if not isinstance(principal, PatientPrincipal):
        raise Unauthenticated("请先以患者身份登录。")
    return principal.account_id


def card_type(card: StoredCard) -> AccountCard:
    return AccountCard(
        medical_card_number=card.medical_card_number,
        hospital_id=strawberry.ID(card.hospital_id) if card.hospital_id else None,
        relation=Relation.of(card.relation),
        origin=CardOrigin.of(card.how),
        physical_card_number=card.physical_card_number,
    )
