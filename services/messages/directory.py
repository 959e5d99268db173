"""Who receives a message: the patient's account (by card), its unionid, the official account's openid.

The mini-program's openid (``accounts.openid``) is not the official account's: the same person has
another openid there, linked through the unionid. `StoreDirectory` finds it in ``official_followers``
(filled by ``hisgraph followers import`` and, later, the official account's follow events);
`MemoryDirectory` holds followers in memory for tests. No account, no unionid, no follower, or a
follower who unsubscribed means the message is undeliverable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import case, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.accounts import Account, AccountCard
from store.followers import FollowerRepository
from store.messages import OutboundMessage


@dataclass(frozen=True, slots=True)
class OfficialFollower:
    openid: str
    """The official account's openid."""
    last_interaction_at: datetime | None = None
    """The user's last message or click in the official account (customer-service messages need one)."""


class OfficialAccountDirectory(Protocol):
    async def follower(self, session: AsyncSession, unionid: str) -> OfficialFollower | None:
        """The official account's follower with this unionid; None when they do not follow it. Read in
        the caller's session (on SQLite a second session would wait for the first one's lock)."""
        ...


class StoreDirectory:
    """Followers from the ``official_followers`` table (the production directory)."""

    async def follower(self, session: AsyncSession, unionid: str) -> OfficialFollower | None:
        row = await FollowerRepository(session).by_unionid(unionid)
        if row is None or not row.subscribed:
            return None
        return OfficialFollower(row.openid, last_interaction_at=row.last_interaction_at)


class MemoryDirectory:
    """Followers held in memory (tests, or a deployment that loads them at start)."""

    def __init__(self, followers: dict[str, OfficialFollower] | None = None) -> None:
        self._followers = dict(followers or {})

    def add(self, unionid: str, follower: OfficialFollower) -> None:
        self._followers[unionid] = follower

    async def follower(self, session: AsyncSession, unionid: str) -> OfficialFollower | None:
        return self._followers.get(unionid)


async def recipient_unionid(session: AsyncSession, message: OutboundMessage) -> str | None:
    """The unionid of the account holding the message's card (at its hospital, or a platform card; by
    the hospital's physical card number too), else the card proven with its ID number. The card holder's
    own account (relation "self") comes first, then the earliest binding; one recipient per message."""
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
        .order_by(case((AccountCard.relation == "self", 0), else_=1), AccountCard.id)
        .limit(1)
    )
    unionid: str | None = (await session.execute(query)).scalar_one_or_none()
    return unionid
