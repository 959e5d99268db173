"""The spec's reply envelope: {"success", "msg", "code", "data"} with 附四 codes as strings."""

from __future__ import annotations

from typing import Any

from simulator.catalog import return_code_meanings

SUCCESS = "10001"
NOT_FOUND = "10002"
SYSTEM_ERROR = "10003"
MISSING_PARAM = "20001"
INVALID_PARAM = "20003"
HOSPITAL_UNKNOWN = "60001"
DOCTOR_UNKNOWN = "60002"
NO_PENDING_BILL = "60102"
AMOUNT_MISMATCH = "60103"
FEE_ITEM_UNKNOWN = "60104"
REGISTRATION_AMOUNT_MISMATCH = "60202"
REGISTRATION_UNKNOWN = "60204"
SLOTS_FULL = "60205"
CARD_UNKNOWN = "20215"
CARD_UNKNOWN_FOR_CARD_SERVICES = "60506"
DISCHARGED = "60402"
ALREADY_EXECUTED = "60601"
ALREADY_TRIAGED = "60701"

Reply = dict[str, Any]


class Rejected(Exception):
    """A business refusal: the hospital answers success=false with a 附四 code."""

    def __init__(self, code: str, msg: str | None = None) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg or return_code_meanings().get(code, "失败")


def ok(data: Any = None, *, msg: str = "成功", **top_level: Any) -> Reply:
    reply: Reply = {"success": True, "msg": msg, "code": SUCCESS}
    if data is not None:
        reply["data"] = data
    reply.update(top_level)
    return reply


def fail(code: str, msg: str | None = None) -> Reply:
    return {
        "success": False,
        "msg": msg or return_code_meanings().get(code, "失败"),
        "code": code,
        "data": None,
    }
