"""Replies built from the spec's own response example, filled from the data model and the request.

Used for the rarely important methods, and as the skeleton the domain handlers fill in.
"""

from __future__ import annotations

import copy
from typing import Any

from simulator.data.model import Hospital, Patient
from simulator.envelope import SUCCESS, Reply
from simulator.handlers.context import CallContext
from simulator.validation import normalise

_NAME_KEYS = {"patientname", "patname", "username", "outpatname", "inpatname"}
_PERSON_MARKERS = {"sex", "phone", "idcard", "idcardno", "gender"}
_ECHO_SUFFIXES = ("id", "no", "number", "ids")
_NO_ECHO = {"hospitalid", "code", "appointmentcode"}
# Identifiers the caller names but the hospital assigns anew; never echoed.
_WRITE_KEYS = ("outTradeNo", "tradeNo", "payId", "blTradeNo", "consultCode")


def render(
    ctx: CallContext,
    *,
    patient: Patient | None = None,
    hospital: Hospital | None = None,
    values: dict[str, Any] | None = None,
) -> Reply:
    """The entry's response example with the hospital, the patient and the request's ids filled in."""
    example = ctx.entry.response_example
    reply: Reply = copy.deepcopy(example) if isinstance(example, dict) else {}
    reply["success"] = True
    reply["code"] = SUCCESS
    reply.setdefault("msg", "成功")
    if reply.get("msg") not in ("", "成功"):
        reply["msg"] = "成功"
    filler = _Filler(ctx, patient, hospital or ctx.hospital, {normalise(k): v for k, v in (values or {}).items()})
    for key, value in list(reply.items()):
        if key not in ("success", "code", "msg"):
            reply[key] = filler.fill(key, value, reply)
    return reply


class _Filler:
    def __init__(self, ctx: CallContext, patient: Patient | None, hospital: Hospital, values: dict[str, Any]) -> None:
        self.ctx = ctx
        self.patient = patient
        self.hospital = hospital
        self.values = values

    def fill(self, key: str, value: Any, parent: dict[str, Any]) -> Any:
        name = normalise(key)
        if name in self.values:
            return self.values[name]
        if isinstance(value, dict):
            return {k: self.fill(k, v, value) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(key, item, parent) if isinstance(item, (dict, list)) else item for item in value]
        if name == "hospitalid":
            return self.hospital.hospital_id
        if name == "hospitalname":
            return self.hospital.name
        patient = self.patient
        if patient is not None:
            person = _PERSON_MARKERS & {normalise(k) for k in parent}
            if name in _NAME_KEYS or (name == "name" and person):
                return patient.name
            if name in ("sex", "general") and person | {"age"} & {normalise(k) for k in parent}:
                return patient.sex
            if name in ("idcard", "idcardno") and person:
                return patient.id_card
            if name in ("phone", "telno", "phoneno") and person:
                return patient.phone
            if name in ("medicalcardnumber", "outcardno", "hiscardcode"):
                return self.ctx.card_number or patient.card
            if name == "age" and isinstance(value, str):
                return f"{patient.age()}岁" if value.endswith("岁") else str(patient.age())
        if name.endswith(_ECHO_SUFFIXES) and name not in _NO_ECHO and not isinstance(value, (dict, list)):
            asked = self.ctx.body.top.get(name)
            if isinstance(asked, (str, int)) and not isinstance(asked, bool) and str(asked).strip():
                return str(asked).strip() if isinstance(value, str) else asked
        return value


def write_key(ctx: CallContext) -> str | None:
    for key in _WRITE_KEYS:
        value = ctx.body.text(key)
        if value:
            return f"{ctx.entry.method}:{value}" if key == "consultCode" else value
    return None


def default_handler(ctx: CallContext) -> Reply:
    """Any method without a domain handler: check the patient, apply writes once, answer the example."""
    patient = ctx.patient() if ctx.card_number else ctx.find_patient()
    key = write_key(ctx)
    if key is None:
        return render(ctx, patient=patient)
    return ctx.once(key, lambda: render(ctx, patient=patient))
