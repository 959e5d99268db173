"""Opaque slot ids (号源, issue 12 item 8): booking takes the ``slotId`` the slot itself returned.

Every bookable slot of the hospital graph (a same-day registration slot or schedule, an appointment slot, an
examination room's period, a physical-examination time, a self-order day, a lab-test number source) answers a
``slotId`` that carries everything its booking needs: the hospital, the schedule's and slot's codes, the day,
the half-day, the clinic type. A client never translates field names; it hands the id back.

The id is ``s1.<base64url JSON>.<base64url HMAC-SHA256>``, keyed from the app's sealing key
(``Settings.ledger_seal_key``) under a purpose of its own, so it cannot be forged or edited, and the same slot
always gets the same id. It names no patient: a slot is the hospital's offer, not anyone's booking.
Booking reads it back with ``decode_slot_id``, which refuses anything else with one refusal (20003, field slotId).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

import strawberry

from services.refusals import RefusalCode, Refused

from ..values import HalfDay

if TYPE_CHECKING:
    from ..context import Info

_VERSION: Final = "s1"
_PURPOSE: Final = b"hisgraph slot id key"
_MAC_BYTES: Final = 16
MAX_SLOT_ID_LENGTH: Final = 2048
"""Longer than any id we make; anything longer is refused unread."""
_UNUSABLE: Final = "号源信息无效，请重新查询号源后再预约。"


class SlotKind(Enum):
    """Which booking a slot id is for; its value is written into the id."""

    TODAY_REGISTRATION = "t"
    """当日挂号 (20.1.2 schedule, 20.1.3 slot) -> 20.1.7 after payment."""
    APPOINTMENT = "a"
    """预约挂号 (21.2.1) -> 21.2.2."""
    EXAM = "e"
    """预约检查 (24.1.3) -> 24.1.4 / 24.1.7."""
    PHYSICAL_EXAM = "p"
    """体检 (28.1.4) -> 28.1.6 after payment."""
    SELF_ORDER = "s"
    """自选套餐 (29.1.2) -> 29.1.3 after payment."""
    LAB = "l"
    """检验项目预约 (33.1.1 schedule, 33.1.2 number source) -> 33.1.3."""


@dataclass(frozen=True, slots=True)
class SlotRef:
    """What a slot id carries: the hospital, the kind of booking, and that booking's fields.

    ``fields`` holds the spec-neutral names listed per kind in ``SlotIds`` (``department_id``, ``doctor_id``,
    ``clinic_type_id``, ``date`` (yyyy-MM-dd), ``half_day`` (a ``HalfDay`` value: AM, PM, NIGHT), ...); a field the
    hospital left empty is absent or None. Read them with ``get``, ``text``, ``day`` and ``half_day``.
    """

    kind: SlotKind
    hospital_id: str
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.fields.get(name)

    def text(self, name: str) -> str | None:
        value = self.fields.get(name)
        return None if value is None else str(value)

    @property
    def day(self) -> date | None:
        value = self.fields.get("date")
        return date.fromisoformat(value) if isinstance(value, str) and value else None

    @property
    def half_day(self) -> HalfDay | None:
        value = self.fields.get("half_day")
        return HalfDay(value) if value else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SlotIds:
    """Makes and reads slot ids under a key derived from the app's sealing key."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("a sealing secret is required")
        self._key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, f"{_VERSION}.{body}".encode(), hashlib.sha256).digest()[:_MAC_BYTES])

    def encode(self, ref: SlotRef) -> strawberry.ID:
        fields = {name: value for name, value in ref.fields.items() if value is not None}
        payload = {"k": ref.kind.value, "h": ref.hospital_id, "f": fields}
        body = _b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode())
        return strawberry.ID(f"{_VERSION}.{body}.{self._mac(body)}")

    def decode(self, slot_id: str) -> SlotRef:
        """The slot an id names; ``Refused(PARAMETER_FORMAT, field="slotId")`` for anything not made by us."""
        if not isinstance(slot_id, str) or len(slot_id) > MAX_SLOT_ID_LENGTH:
            raise Refused(RefusalCode.PARAMETER_FORMAT, _UNUSABLE, field="slotId")
        version, _, rest = slot_id.strip().partition(".")
        body, _, mac = rest.partition(".")
        if version != _VERSION or not body or not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise Refused(RefusalCode.PARAMETER_FORMAT, _UNUSABLE, field="slotId")
        try:
            payload = json.loads(_unb64(body))
            ref = SlotRef(kind=SlotKind(payload["k"]), hospital_id=str(payload["h"]), fields=dict(payload["f"]))
        except (binascii.Error, ValueError, KeyError, TypeError):  # signed by us, so only an old shape gets here
            raise Refused(RefusalCode.PARAMETER_FORMAT, _UNUSABLE, field="slotId") from None
        return ref


def slot_id(info: Info, kind: SlotKind, hospital_id: str, **fields: Any) -> strawberry.ID:
    """The id of a slot the graph shows (``fields`` as ``SlotRef`` lists them; None values are left out)."""
    return info.context.services.slot_ids.encode(SlotRef(kind=kind, hospital_id=str(hospital_id), fields=fields))


def decode_slot_id(info: Info, slot_id: str, *, kind: SlotKind | None = None) -> SlotRef:
    """What a booking mutation's ``slotId`` names: a ``SlotRef`` (kind, hospital_id, fields).

    Refuses (``Refused(PARAMETER_FORMAT, field="slotId")``) an id this deployment did not make, one that was
    edited, and, when ``kind`` is given, a slot of another kind of booking (an exam period given to registration).
    """
    ref = info.context.services.slot_ids.decode(slot_id)
    if kind is not None and ref.kind is not kind:
        raise Refused(RefusalCode.PARAMETER_FORMAT, _UNUSABLE, field="slotId")
    return ref
