"""Who may see what: patients' accounts and the cards they proved, operators, and hospitals' nonces.

A patient account is a WeChat user (openid of the mini-program, unionid to find them again in the
official account). It holds only cards it has proven: created through the platform, or a physical
card bound after the name and ID number matched the hospital's record and a one-time code sent to
the phone the hospital holds came back. Family members' cards sit on the same account with their
relation (附五).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, TimestampedMixin, UtcDateTime, utcnow


class Account(TimestampedMixin, Base):
    """A patient's account, one per WeChat user of the mini-program."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(128), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(128), index=True)


class AccountCard(TimestampedMixin, Base):
    """A card an account has proven it may use: its holder's own, or a family member's."""

    __tablename__ = "account_cards"
    __table_args__ = (UniqueConstraint("account_id", "medical_card_number", name="uq_account_cards_account_card"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    medical_card_number: Mapped[str] = mapped_column(String(64), index=True)
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    """The hospital whose physical card this is; None for the platform's own e-health cards."""
    relation: Mapped[str] = mapped_column(String(8), default="self")
    """How the card holder relates to the account holder: "self" for the holder's own card, else a 附五
    亲属关系 code (01 父亲, 02 母亲, 03 儿子, 04 女儿, 05 其他). Migration 0010 converted the old 0-4 scheme."""
    how: Mapped[str] = mapped_column(String(16))
    """created (the platform issued it) or bound (made from a physical card proven by name, ID and code)."""
    physical_card_number: Mapped[str | None] = mapped_column(String(64), index=True)
    """For a bound card: the hospital's physical card it was made from (2.1.2 oldMedicalCardNumber)."""
    id_card_number: Mapped[str | None] = mapped_column(String(32))
    """The holder's ID number, only where it is PROVEN: by the code sent to the phone the hospital holds
    (a bound card), or by real-name verification (a created national e-health card). Queries keyed by an ID
    number (34.1.1, 28.1.10...) may use only these. A typed ID number is never recorded here."""


class Operator(TimestampedMixin, Base):
    """A dashboard user: a region operator sees every hospital, a hospital operator only theirs."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    """region or hospital."""
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Set by disableOperator / `hisgraph operator disable`: no login, and every session ends at once."""
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OperatorSession(Base):
    """A signed-in operator's session: the token carries a random id whose SHA-256 is ``id_hash``.

    Checked on every operator request: ended (logout, password change or reset, disable), past
    ``expires_at`` or idle longer than the idle timeout, or its operator disabled or deleted, and the token
    opens nothing.
    """

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_why: Mapped[str | None] = mapped_column(String(32))
    """logout, password-changed, password-reset, disabled."""


class OneTimeCode(Base):
    """A code sent by SMS to prove a card binding; stored hashed, single use, few attempts."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(160))
    """What the code proves, e.g. bind:<hospital>:<card>."""
    code_hash: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Throttle(Base):
    """A counter that holds across requests, batches, aliases and instances: SMS codes per card and per phone,
    login attempts per username and per address (services/identity/throttles.py).

    ``key`` is a keyed hash of what is counted, so no phone number or username is stored here. Updates are
    compare-and-set on ``version``: concurrent claims cannot both pass.
    """

    __tablename__ = "throttles"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_throttles_scope_key"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(32))
    """What is counted: sms-card, sms-phone, login-user, login-address."""
    key: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)
    """Codes sent (or login attempts not yet followed by a success) since ``window_start``."""
    window_start: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)


class ShimNonce(Base):
    """A nonce a hospital signed a shim request with: seen once, so a replay is refused."""

    __tablename__ = "shim_nonces"
    __table_args__ = (UniqueConstraint("hospital_id", "nonce", name="uq_shim_nonces_hospital_nonce"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    hospital_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_openid(self, openid: str) -> Account | None:
        found: Account | None = await self.session.scalar(select(Account).where(Account.openid == openid))
        return found

    async def get_or_create(self, *, openid: str, unionid: str | None) -> Account:
        account = await self.by_openid(openid)
        if account is None:
            account = Account(openid=openid, unionid=unionid)
            self.session.add(account)
            await self.session.flush()
        elif unionid and account.unionid != unionid:
            account.unionid = unionid
        return account

    async def cards(self, account_id: int) -> list[AccountCard]:
        rows = await self.session.scalars(
            select(AccountCard).where(AccountCard.account_id == account_id).order_by(AccountCard.id)
        )
        return list(rows)

    async def holds(self, account_id: int, medical_card_number: str) -> bool:
        """Whether the account proved this card (its e-card number, or the physical card it was made from)."""
        found = await self.session.scalar(
            select(AccountCard.id)
            .where(AccountCard.account_id == account_id)
            .where(
                (AccountCard.medical_card_number == medical_card_number)
                | (AccountCard.physical_card_number == medical_card_number)
            )
            .limit(1)
        )
        return found is not None

    async def add_card(
        self,
        *,
        account_id: int,
        medical_card_number: str,
        hospital_id: str | None,
        relation: str,
        how: str,
        physical_card_number: str | None = None,
        id_card_number: str | None = None,
    ) -> AccountCard:
        existing = await self.session.scalar(
            select(AccountCard).where(
                AccountCard.account_id == account_id, AccountCard.medical_card_number == medical_card_number
            )
        )
        if existing is not None:
            if id_card_number and not existing.id_card_number:
                existing.id_card_number = id_card_number  # proven now (a binding, or the dev login's demo card)
            return existing
        card = AccountCard(
            account_id=account_id,
            medical_card_number=medical_card_number,
            hospital_id=hospital_id,
            relation=relation,
            how=how,
            physical_card_number=physical_card_number,
            id_card_number=id_card_number,
        )
        self.session.add(card)
        await self.session.flush()
        return card

    async def remove_card(self, *, account_id: int, medical_card_number: str) -> bool:
        card = await self.session.scalar(
            select(AccountCard).where(
                AccountCard.account_id == account_id, AccountCard.medical_card_number == medical_card_number
            )
        )
        if card is None:
            return False
        await self.session.delete(card)
        return True
