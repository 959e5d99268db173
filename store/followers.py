"""The official account's followers and the access tokens every worker shares.

The mini-program's openid is not the official account's: the same person has another openid there,
linked through the unionid. ``official_followers`` holds the official account's side (fed by its follow
and unfollow events, its user list, and the interactions that open the 48-hour customer-service window),
so a message for a card's holder finds the openid to send to. ``shared_tokens`` holds credentials such as
the official account's access_token, so one holder serves every worker and instance.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime, utcnow


class OfficialFollower(Base):
    """One user of the official account, found by unionid."""

    __tablename__ = "official_followers"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    unionid: Mapped[str] = mapped_column(String(128), unique=True)
    openid: Mapped[str] = mapped_column(String(128), unique=True)
    """The official account's openid of this user."""
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The user's last message or click in the official account (customer-service messages need one)."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SharedToken(Base):
    """A credential shared by every worker (e.g. ``wechat_official:access_token``), with its expiry."""

    __tablename__ = "shared_tokens"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
