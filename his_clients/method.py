"""What we know about one HIS method: its wire name, section, models and how its reply is wrapped."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from .models.base import HisRequest

RequestT = TypeVar("RequestT", bound=HisRequest)
ReplyT = TypeVar("ReplyT")


class Envelope(StrEnum):
    """How a method's reply is wrapped."""

    DATA = "data"
    """``{success, msg, code, data}``: the usual shape."""
    TOP_LEVEL = "top_level"
    """The reply's fields sit beside success/msg/code (30.1.1 statistics, 21.2.3 ``refundNo``)."""
    BARE = "bare"
    """Only ``{success, msg, code}``: an acknowledgement."""
    FILE = "file"
    """A raw byte stream with no envelope (16.1.4, a GET)."""


class Access(StrEnum):
    """Whether a call only reads or changes something at the hospital.

    Reads are retried automatically when a hospital is unavailable; writes never are here: the
    money sagas retry them, because only they know the write is idempotent.
    """

    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, eq=False)
class HisMethod(Generic[RequestT, ReplyT]):
    """One ``direction: his`` entry of the specification."""

    section: str
    name: str
    """The method name as the spec writes it (``hospital.inerface.`` typos included)."""
    title: str
    request: type[RequestT]
    reply: type[ReplyT]
    """The type of ``data``: a model, a list of one, ``str``, ``int``, or ``NoneType`` for none."""
    access: Access
    envelope: Envelope = Envelope.DATA
    multi_hospital: bool = False
    """Behind a regional endpoint, one call may carry ``hospitalId: "id1,id2"`` (e.g. 16.1.1)."""
    http_verb: str = "POST"
    deprecated: bool = False
    """Chapter 6 is marked 淄博专版，已废弃 by the spec."""
    _adapter: TypeAdapter[ReplyT] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_adapter", TypeAdapter(self.reply))

    def parse_reply(self, data: Any) -> ReplyT:
        """Validate ``data`` into the reply type; raises pydantic.ValidationError."""
        if self.reply is type(None):
            # Acknowledgements carry nothing worth keeping, whatever sits in ``data``.
            return None
        return self._adapter.validate_python(data)

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HisMethod) and other.name == self.name
