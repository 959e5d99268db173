"""Enums for values every domain shares, each read leniently from what hospitals write (issue 12 item 8).

One concept, one enum: sex is ``Sex`` wherever it appears (the spec writes 1/2, 0, 男/女, M/F), half-day is
``HalfDay`` (a/p/n, A/P/N, AM/PM). Unknown spellings read as None: a field shows null, never a guess.
"""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Sex (性别). The spec writes it 1/2 (gender), 男/女 (sex) or 0; each is read into this.")
class Sex(Enum):
    MALE = strawberry.enum_value("男", description="男, male (the spec's 1 or 男).")
    FEMALE = strawberry.enum_value("女", description="女, female (the spec's 2, or 0 where 1.2.1 writes 0 女).")

    @classmethod
    def read(cls, text: object, *, zero_is_female: bool = False) -> Sex | None:
        """What a hospital wrote, leniently: 1/男/M/male -> MALE, 2/女/F/female -> FEMALE (0 only where told)."""
        value = str(text if text is not None else "").strip().lower()
        if value in {"1", "男", "m", "male"}:
            return cls.MALE
        if value in {"2", "女", "f", "female"} or (zero_is_female and value == "0"):
            return cls.FEMALE
        return None

    @property
    def gender_code(self) -> str:
        """The spec's gender code: 1 male, 2 female."""
        return "1" if self is Sex.MALE else "2"


@strawberry.enum(description="Half of the day a slot or session belongs to (上午/下午/晚上).")
class HalfDay(Enum):
    MORNING = strawberry.enum_value("AM", description="上午 (a / AM).")
    AFTERNOON = strawberry.enum_value("PM", description="下午 (p / PM).")
    EVENING = strawberry.enum_value("NIGHT", description="晚上 (n), same-day registration only.")

    @classmethod
    def read(cls, text: str | None) -> HalfDay | None:
        """The spec writes a/p/n (20.1.3), A/P/N (20.1.7) and AM/PM (21.x)."""
        value = (text or "").strip().lower()
        return {"a": cls.MORNING, "am": cls.MORNING, "p": cls.AFTERNOON, "pm": cls.AFTERNOON, "n": cls.EVENING}.get(
            value
        )
