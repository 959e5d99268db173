"""Message pushes the hospitals send (11.2.1, 19.1.x, 22.2.1, 23.2.1, 26.2.1, 36.2.x, 38.2.x, 40.2.1, 41.2.1).

Each is checked against its catalog entry, recorded in the inbound ledger and its message(s) queued for
delivery in the same transaction. A push is deduplicated on the spec's natural key where it has one (a
report key, an order or prescription id...) and on its whole content otherwise: a repeat answers as the
first did and queues nothing. The reply says the call succeeded; delivery is best effort (40.2.1's note).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.shims.ledger import NewMessage, ShimCall, accept_push

from ..survey import with_survey_url
from .platform import platform_shim, reply_response, success_reply
from .validation import platform_entry


@dataclass(frozen=True)
class Push:
    """A message push: its section and the fields that identify one message (None: the whole content)."""

    section: str
    path: str
    """The spec's path, written out so a reader (and spec-coverage) finds it; a test holds it to the catalog."""
    key_fields: tuple[str, ...] | None = None

    @property
    def kind(self) -> str:
        return str(platform_entry(self.section)["http_path"]).rstrip("/").rsplit("/", 1)[-1]


PUSHES: tuple[Push, ...] = (
    Push("19.1.1", "prefront/sendTipMessage/payment"),
    Push("19.1.2", "prefront/sendTipMessage/medicalInsuranceOrder", ("tradeId",)),
    Push("19.1.3", "prefront/sendTipMessage/pacsReport", ("reportkey",)),
    Push("19.1.4", "prefront/sendTipMessage/lisReport", ("reportkey",)),
    Push("19.1.5", "prefront/sendTipMessage/phyReport", ("healthExamNo",)),
    Push("19.1.6", "prefront/sendTipMessage/sendCustomizedMessage"),
    Push("19.1.7", "prefront/sendTipMessage/patientQueue"),
    Push("19.1.8", "prefront/sendTipMessage/sendRevisitMsg", ("medicalCardNumber", "departmentCode", "revisitTime")),
    Push("19.1.9", "prefront/sendTipMessage/sendCustomTemplateMsg"),
    Push("19.1.10", "prefront/sendTipMessage/sendDoctorRemindMessage"),
    Push("19.1.11", "prefront/sendTipMessage/sendAllocateBedMessage"),
    Push(
        "22.2.1",
        "prefront/satisfactionSurveyAfterDiagnosis/sendSatisfactionSurveyMessage",
        ("registerId", "questionnaireType"),
    ),
    Push("23.2.1", "prefront/inhospitalEducation/sendInHospitalEducation", ("id",)),
    Push("26.2.1", "prefront/sendTipMessage/sendQueueMessage"),
    Push("36.2.1", "prefront/admissionApplicationPrepayController/sendAdmissionAppPrepay", ("admissionCardId",)),
    Push("36.2.2", "prefront/sendTipMessage/sendAdmissionApplicationMessage", ("admissionCardId",)),
    Push("38.2.1", "prefront/sendTipMessage/prescriptionInfo", ("prescriptionId",)),
    Push("38.2.2", "prefront/sendTipMessage/medicationGuide", ("prescriptionId",)),
    Push("40.2.1", "prefront/sendTipMessage/ecgReport", ("reportKey",)),
    Push("41.2.1", "prefront/sendTipMessage/pathologyReport", ("reportKey",)),
)


def _digest(value: Any) -> str:
    canonical = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def dedupe_key(section: str, hospital_id: str, fields: dict[str, Any], key_fields: tuple[str, ...] | None) -> str:
    """``section:hospital:identity``; the identity is the natural key's values, or a digest of the content
    when the push has no natural key or leaves part of it out."""
    content = {k: v for k, v in fields.items() if k != "hospitalId"}
    if key_fields is not None and all(fields.get(k) for k in key_fields):
        identity = "|".join(str(fields[k]) for k in key_fields)
        if len(identity) > 160:
            identity = _digest(identity)
    else:
        identity = _digest(content)
    return f"{section}:{hospital_id}:{identity}"


def _payload(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != "hospitalId" and v is not None}


def push_shim(push: Push) -> Route:
    """The route of one single-patient message push."""

    @platform_shim(push.section)
    async def handler(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
        assert call.hospital_id is not None
        key = dedupe_key(push.section, call.hospital_id, fields, push.key_fields)
        payload = _payload(fields)
        if push.section == "22.2.1":  # the survey message carries the link to its page (api/survey.py)
            payload = with_survey_url(request, call.hospital_id, payload)
        message = NewMessage(
            kind=push.kind,
            medical_card_number=fields.get("medicalCardNumber"),
            id_card_number=fields.get("idCard"),
            payload=payload,
            dedupe_key=key,
        )
        reply, _ = await accept_push(
            request.app.state.services.db,
            call,
            dedupe_key=key,
            messages=[message],
            reply=success_reply(push.section),
        )
        return reply_response(reply)

    handler.__name__ = f"push_{push.kind}"
    title = platform_entry(push.section)["title"]
    handler.__doc__ = f"{push.section} {push.path}: {title}."
    return Route(f"/{push.path}", handler, methods=["POST"])


@platform_shim("11.2.1")
async def insufficient_deposit_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """11.2.1 prefront/sendTipMessage/sendInsufficientDepositMsg: low-deposit reminders, one per patient listed.

    The same call twice is one call; a patient's reminder with the same figures is queued once even when
    a later call lists it again.
    """
    assert call.hospital_id is not None
    messages = []
    for patient in fields["patientList"]:
        payload = {"sendWay": fields["sendWay"] or "", **_payload(patient)}
        messages.append(
            NewMessage(
                kind="sendInsufficientDepositMsg",
                medical_card_number=patient.get("medicalCardNumber"),
                id_card_number=patient.get("idCard"),
                payload=payload,
                dedupe_key=f"11.2.1:{call.hospital_id}:{_digest(payload)}",
            )
        )
    reply, _ = await accept_push(
        request.app.state.services.db,
        call,
        dedupe_key=dedupe_key("11.2.1", call.hospital_id, fields, None),
        messages=messages,
        reply=success_reply("11.2.1"),
    )
    return reply_response(reply)


routes = [
    Route("/prefront/sendTipMessage/sendInsufficientDepositMsg", insufficient_deposit_shim, methods=["POST"]),
    *(push_shim(push) for push in PUSHES),
]
