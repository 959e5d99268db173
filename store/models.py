"""Tables of the platform's own records, as SQLAlchemy 2 declarative models.

Every constraint and index gets its name from `NAMING_CONVENTION`, so a migration written on SQLite
names things exactly as PostgreSQL will, and a later migration can drop them by name on both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Dialect, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT identity on PostgreSQL; SQLite only auto-increments a column declared exactly INTEGER.
BigIntegerId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: the only kind of datetime the store accepts."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps the offset (timestamptz); SQLite keeps none and would hand back naive values, so
    values are stored as naive UTC there and given their UTC zone back on the way out. Naive values are
    refused on the way in: guessing their zone is how timestamps drift by eight hours.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes timezone-aware datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table; `Base.metadata` is what Alembic compares migrations with."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampedMixin:
    """created_at / updated_at, set by the application in UTC (no server defaults to keep in sync)."""

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


GENDER_SEX: Final = {"1": "男", "2": "女"}
"""Spec gender code (性别代码, 男1 女2) to the spec's sex label (用户性别)."""


class HealthCard(TimestampedMixin, Base):
    """An e-health card (电子就诊卡 / 电子健康卡) issued by the platform itself (spec 1.3.1-1.3.3).

    Hospitals look these up by number when a patient shows the card's QR code (1.3.1 getPatientInfo),
    ask us to issue one for patients without a smartphone (1.3.2 genCard) and push their edits back
    (1.3.3 updateCard). The number is a 15-digit platform card number, or the 64-character national
    e-health card id when the provincial card platform verified the patient's identity.
    """

    __tablename__ = "health_cards"
    __table_args__ = (CheckConstraint("gender IN ('1', '2')", name="gender"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    medical_card_number: Mapped[str] = mapped_column(String(64), unique=True)
    """就诊卡号: 15-digit platform card number or 64-character national e-health card id."""
    hospital_id: Mapped[str | None] = mapped_column(String(32))
    """The hospital the card was issued for (genCard's hospitalId); absent for cards made in the app."""
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(1))
    """性别代码: "1" male, "2" female."""
    birthdate: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(255))
    id_card_number: Mapped[str | None] = mapped_column(String(32), index=True)
    """证件号码 of the document `id_document_type` names (a resident ID card number by default)."""
    id_document_type: Mapped[str] = mapped_column(String(2), default="01", server_default="01")
    """证件类型, 附七 code: 01 居民身份证, 02 居民户口簿, 03 护照, ..."""
    phone: Mapped[str | None] = mapped_column(String(32))
    nation: Mapped[str | None] = mapped_column(String(2))
    """民族, 附一 code ("01" 汉族)."""
    qr_code: Mapped[str] = mapped_column(String(300))
    """二维码内容 (at most 300 characters): the card number itself for platform cards."""

    @property
    def sex(self) -> str:
        """用户性别 as the spec spells it (男 / 女), derived from `gender` so the two never disagree."""
        return GENDER_SEX[self.gender]

    def __repr__(self) -> str:
        # No name, ID-card number or phone: reprs end up in logs.
        return f"HealthCard(id={self.id!r}, medical_card_number={self.medical_card_number!r})"
