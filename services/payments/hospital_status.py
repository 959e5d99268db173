"""What a hospital said about one of our orders after it was made (20.2.1, 25.2.2), as the order keeps it.

The word is kept in the order's quote under ``hospital_status``: the latest word per item (the
registration, or each charge of a consultation), with the spec's code, its meaning and when we were
told. It never moves money nor changes the order's state. services.shims.order_status writes it;
OrderSummary carries it to the patient's graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from store.orders import Order

HOSPITAL_STATUS_KEY: Final = "hospital_status"
"""The order's quote key holding what the hospital said, one entry per item."""
REGISTRATION_ITEM: Final = "registration"

REGISTER_STATES: Final = {"3": "已过号", "4": "已取消", "5": "已就诊"}
"""20.2.1 registerState."""
CHARGE_STATUSES: Final = {"1": "已登记（取药）", "2": "取消登记（已退药）"}
"""25.2.2 status."""
CHARGE_TYPES: Final = {"1": "检查", "2": "检验", "3": "处方"}
"""25.x chargeType."""
REGISTERED: Final = "1"


@dataclass(frozen=True, slots=True)
class HospitalStatus:
    """The hospital's latest word about one item of an order."""

    section: str
    """20.2.1 or 25.2.2."""
    item: str
    """``registration``, or ``charge:<chargeType>:<chargeId>``."""
    state: str
    """The spec's code: registerState 3/4/5, or status 1/2."""
    description: str
    at: datetime
    """When we were told (UTC)."""
    charge_id: str | None = None
    charge_type: str | None = None


def charge_item(charge_type: str, charge_id: str) -> str:
    return f"charge:{charge_type.strip()}:{charge_id.strip()}"


def hospital_statuses(quote: Mapping[str, Any] | None) -> list[HospitalStatus]:
    """What hospitals said about an order, from its quote (oldest word first)."""
    notes: Mapping[str, Any] = (quote or {}).get(HOSPITAL_STATUS_KEY) or {}
    statuses = [
        HospitalStatus(
            section=str(note["section"]),
            item=item,
            state=str(note["state"]),
            description=str(note["description"]),
            at=datetime.fromisoformat(str(note["at"])),
            charge_id=note.get("charge_id"),
            charge_type=note.get("charge_type"),
        )
        for item, note in notes.items()
        if isinstance(note, Mapping)
    ]
    return sorted(statuses, key=lambda status: (status.at, status.item))


def charge_status(quote: Mapping[str, Any] | None, charge_type: str, charge_id: str) -> str | None:
    """The latest 25.2.2 status of one charge of a consultation order, or None if the hospital never said."""
    notes: Mapping[str, Any] = (quote or {}).get(HOSPITAL_STATUS_KEY) or {}
    note = notes.get(charge_item(charge_type, charge_id))
    return str(note["state"]) if isinstance(note, Mapping) else None


def note_hospital_status(order: Order, item: str, note: dict[str, Any]) -> bool:
    """Put the note on the order unless it already says that state; whether it changed."""
    quote = dict(order.quote or {})
    notes = dict(quote.get(HOSPITAL_STATUS_KEY) or {})
    current = notes.get(item)
    if isinstance(current, Mapping) and current.get("state") == note["state"]:
        return False
    notes[item] = note
    quote[HOSPITAL_STATUS_KEY] = notes
    order.quote = quote  # a new dict: the JSON column sees the change
    return True
