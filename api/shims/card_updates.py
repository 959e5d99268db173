"""Cards the hospitals issue and edit through the platform (spec 1.3.2 genCard, 1.3.3 updateCard)."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from services.shims.cards import NewCard, issue_card, update_card
from services.shims.ledger import ShimCall
from store.cards import HealthCardChanges

from .envelope import ShimError
from .platform import platform_shim, reply_response, success_reply
from .validation import id_birth_date


def _gender_from_id(id_number: str) -> str:
    """性别 from an ID number: the 17th (18-digit) or 15th (15-digit) digit, odd for men."""
    digit = id_number[16] if len(id_number) == 18 else id_number[14]
    return "1" if int(digit) % 2 else "2"


@platform_shim("1.3.2")
async def gen_card_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """1.3.2 prefront/patient/genCard: issue a platform e-health card for a patient without a smartphone."""
    id_number = fields["idcard"]
    born = id_birth_date(id_number) if id_number else None
    birthdate = date.fromisoformat(fields["birthdate"]) if fields["birthdate"] else born
    gender = fields["gender"] or (_gender_from_id(id_number) if id_number else None)
    if gender is None:  # pragma: no cover - validation requires gender without an ID number
        raise ShimError(ReturnCode.MISSING_PARAMETER, "缺少参数: gender")
    card = NewCard(
        name=fields["name"],
        gender=gender,
        birthdate=birthdate,
        phone=fields["phone"],
        address=fields["address"],
        id_card_number=id_number,
        nation=fields["nation"],
    )
    issued = await issue_card(request.app.state.services.db, call, card)
    data = {
        "medicalCardNumber": issued.medical_card_number,
        "idcard": issued.id_card_number or "",
        "qrcode": issued.qr_code,
    }
    return reply_response(success_reply("1.3.2", data))


@platform_shim("1.3.3")
async def update_card_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """1.3.3 prefront/patient/updateCard: a hospital's edits of a patient's card, synced to the platform."""
    changes: HealthCardChanges = {"name": fields["name"]}
    if fields["gender"]:
        changes["gender"] = fields["gender"]
    if fields["birthdate"]:
        changes["birthdate"] = date.fromisoformat(fields["birthdate"])
    if fields["address"]:
        changes["address"] = fields["address"]
    if fields["idcard"]:
        changes["id_card_number"] = fields["idcard"]
    if fields["phone"]:
        changes["phone"] = fields["phone"]
    reply = success_reply("1.3.3")
    db = request.app.state.services.db
    if not await update_card(db, call, fields["medicalCardNumber"], changes, reply):
        raise ShimError(ReturnCode.CARD_NOT_FOUND_20215)
    return reply_response(reply)


routes = [
    Route("/prefront/patient/genCard", gen_card_shim, methods=["POST"]),
    Route("/prefront/patient/updateCard", update_card_shim, methods=["POST"]),
]
