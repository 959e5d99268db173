"""Real-name verification for card creation: the spec's 国家电子健康卡 path (sections 1.1 and 1.2.1).

Where the official account has the national e-health card configured, the name and ID number typed when a
card is made are checked by the provincial card management platform (省卡管平台); when it vouches for them
it issues the 64-character national e-health card ID, which becomes the card's number. When it does not (or
is not configured), the platform issues a 15-digit card number, and the typed ID number proves nothing: the
account reaches that card alone, never other records under that ID number (issue 10 item 1).

The platform's own protocol differs per province, so it sits behind ``RealNameVerifier``; it is off by
default (``Settings.real_name_verification``). ``FakeRealNameVerifier`` stands in for it in dev and tests.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("hisgraph.real_name")

NATIONAL_CARD_ID_LENGTH = 64


@dataclass(frozen=True, slots=True)
class RealNameVouched:
    """The provincial platform checked the name and ID number and issued this national e-health card ID."""

    national_card_id: str


class RealNameVerifier(Protocol):
    async def verify(self, *, name: str, id_number: str, id_type: str) -> RealNameVouched | None:
        """The national card ID when the platform vouches for this name and ID number, else None."""
        ...


def is_national_card_id(value: str) -> bool:
    return len(value) == NATIONAL_CARD_ID_LENGTH and value.isascii() and value.isalnum()


def resident_id_shaped(id_number: str) -> bool:
    """18 characters: 17 digits and a digit or X (the check character is the platform's to judge)."""
    text = id_number.strip().upper()
    return len(text) == 18 and text.isascii() and text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")


@dataclass
class FakeRealNameVerifier:
    """A stand-in for the provincial platform (dev and tests only; production refuses to start with it).

    Vouches for a non-empty name with a resident ID number of the right shape, unless that ID number is in
    ``refuse``; the national card ID it issues is derived from both, so the same person always gets the same.
    """

    refuse: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)

    async def verify(self, *, name: str, id_number: str, id_type: str) -> RealNameVouched | None:
        self.asked.append(id_number)
        if id_type != "01" or not name.strip() or not resident_id_shaped(id_number) or id_number in self.refuse:
            return None
        digest = hashlib.sha256(f"{name.strip()}|{id_number.strip().upper()}".encode()).hexdigest().upper()
        return RealNameVouched(national_card_id=digest)
