"""Who receives a message: the patient's account (by card), its unionid, the official account's openid.

The mini-program's openid (``accounts.openid``) is not the official account's: the same person has
another openid there, linked through the unionid. The store has no table of official-account followers
yet (migration 0004 adds none), so that lookup is the `OfficialAccountDirectory` interface: fed by the
official account's follow events / user list in production, `MemoryDirectory` in tests. No account, no
unionid or no follower means the message is undeliverable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Account, AccountCard
from store.messages import OutboundMessage


@dataclass(frozen=True, slots=True)
class OfficialFollower:
    openid: str
    """The official account's openid."""
    last_interaction_at: datetime | None = None
    """The user's last message or click in the official account (customer-service messages need one)."""


class OfficialAccountDirectory(Protocol):
    async def follower(self, unionid: str) -> OfficialFollower | None:
        """The official account's follower with this unionid; None when they do not follow it."""
        ...


class MemoryDirectory:
    """Followers held in memory (tests, or a deployment that loads them at start)."""

    def __init__(self, followers: dict[str, OfficialFollower] | None = None) -> None:
        self._followers = dict(followers or {})

    def add(self, unionid: str, follower: OfficialFollower) -> None:
        self._followers[unionid] = follower

    async def follower(self, unionid: str) -> OfficialFollower | None:
        return self._followers.get(unionid)


async def recipient_unionid(session: AsyncSession, message: OutboundMessage) -> str | None:
    """The unionid of the account holding the message's card (at its hospital, or a platform card; by
    the hospital's physical card number too), else the card proven with its ID number. The card holder's
    own account (relation "0") comes first, then the earliest binding; one recipient per message."""
    if message.medical_card_number:
        card = message.medical_card_number
        where = or_(AccountCard.medical_card_number == card, AccountCard.physical_card_number == card)
    elif message.id_card_number:
        where = AccountCard.id_card_number == message.id_card_number
    else:
        return None
    query = (
        select(Account.unionid)
        .join(AccountCard, AccountCard.account_id == Account.id)
        .where(
            where,
            or_(AccountCard.hospital_id.is_(None), AccountCard.hospital_id == message.hospital_id),
            Account.unionid.is_not(None),
        )
        .order_by(case((AccountCard.relation == "0", 0), else_=1), AccountCard.id)
        .limit(1)
    )
    unionid: str | None = (await session.execute(query)).scalar_one_or_none()
    return unionid
