"""Card shims the hospitals call (spec chapter 1.3, 公众号提供的接口)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from services.cards import get_patient_info, is_valid_card_number
from services.shims.ledger import ShimCall, record_call
from store.models import utcnow

from .auth import caller_of
from .envelope import ShimError, ok, read_body, shim, text_field

PATH = "/prefront/patient/getPatientInfo"


@shim
async def get_patient_info_shim(request: Request) -> Response:
    """1.3.1 prefront/patient/getPatientInfo: who holds this card, from the platform's own records.

    It hands out a patient's identity, so every call is recorded in the inbound ledger (masked), its
    refusals included."""
    received = utcnow()
    body: Any = {}
    hospital_id = caller_of(request).hospital_id
    try:
        body = await read_body(request)
        response = await _patient_info(request, body)
    except ShimError as refusal:
        refused = {"success": False, "msg": refusal.msg, "code": refusal.code.value, "data": None}
        await _record(request, body, hospital_id, received, refused)
        raise
    await _record(request, body, hospital_id, received, json.loads(bytes(response.body)))  # masked when kept
    return response


async def _record(request: Request, body: Any, hospital_id: str | None, received: datetime, reply: Any) -> None:
    named = body.get("hospitalId") if isinstance(body, dict) else None
    acted_for = named if isinstance(named, str) and named.strip() in caller_of(request).hospital_ids else hospital_id
    call = ShimCall(section="1.3.1", path=PATH, hospital_id=acted_for, body=body, received_at=received)
    code = str(reply.get("code", "")) if isinstance(reply, dict) else ""
    await record_call(request.app.state.services.db, call, reply_code=code, reply=reply)


async def _patient_info(request: Request, body: dict[str, Any]) -> Response:
    # 1.3.1 names no hospital: the platform's own records answer any authenticated hospital. A caller
    # that sends a hospitalId anyway may only name its own.
    named_hospital = text_field(body, "hospitalId", required=False)
    if named_hospital is not None:
        caller_of(request).ensure_own_hospital(named_hospital)
    # The table spells it MedicalCardNumber, the example medicalCardNumber: both are accepted.
    card_number = text_field(body, "medicalCardNumber")
    assert card_number is not None
    if not is_valid_card_number(card_number):
        raise ShimError(ReturnCode.PARAMETER_FORMAT, "就诊卡号格式错误: 应为15位卡号或64位电子健康卡ID")
    info = await get_patient_info(request.app.state.services.db, card_number)
    if info is None:
        raise ShimError(ReturnCode.NO_DATA)
    return ok(
        {
            "name": info.name,
            "phone": info.phone or "",
            "sex": info.sex,
            "gender": info.gender,
            "address": info.address or "",
            "birthdate": info.birthdate.isoformat() if info.birthdate else "",
            "idCardNo": info.id_card_number or "",
            "medicalCardNumber": info.medical_card_number,
        }
    )


routes = [Route(PATH, get_patient_info_shim, methods=["POST"])]
