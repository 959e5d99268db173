"""replayInboundCall: an operator posts a recorded shim call again, as the hospital that made it."""

from __future__ import annotations

import json
from typing import Annotated

import strawberry

from services.audit import record
from services.identity.principal import OperatorPrincipal
from services.refusals import RefusalCode, Refused
from services.shims.replay import ReplayRefused, replay_call
from store.inbound import InboundCall

from ..access import Forbidden
from ..context import Info
from ..refusal import Refusal
from .inbound import InboundCallRecord


@strawberry.type(description="The recorded call was posted to its shim again; the shim's new answer.")
class InboundReplaySuccess:
    original: InboundCallRecord = strawberry.field(description="The call replayed, as the ledger holds it.")
    success: bool = strawberry.field(description="The new answer's success flag.")
    reply_code: str | None = strawberry.field(
        description="The new answer's 附四 code (10001 success); null when the entry's reply has none (14.1.2)."
    )
    reply: str = strawberry.field(
        description="The new answer as JSON text, ID numbers, phones and names masked. The replay is itself "
        "recorded in the inbound ledger as a new call."
    )


ReplayInboundCallResult = Annotated[
    InboundReplaySuccess | Refusal,
    strawberry.union(
        "ReplayInboundCallResult",
        description=(
            "The shim's new answer, or why the call was not replayed (Refusal: NOT_FOUND, NO_HOSPITAL, MASKED_BODY, "
            "BODY_NOT_RECORDED, NOT_A_SHIM, REGION_ONLY, SEAL_EXPIRED)."
        ),
    ),
]


@strawberry.type
class InboundCallReplayMutation:
    @strawberry.mutation(
        description=(
            "Post a call recorded in the inbound ledger to its shim again, acting as the hospital it acted for "
            "(operators only: a region operator any call, a hospital operator only their hospital's). The replay "
            "is an ordinary call: validated, deduplicated (a repeat of an accepted call is answered as the first "
            "was and acts no second time) and recorded. A body with masked personal data in it is replayed from "
            "the sealed copy of the original that refunds and pushes keep for a few days: by region operators "
            "only, and each use is audited."
        )
    )
    async def replay_inbound_call(
        self,
        info: Info,
        call_id: Annotated[
            strawberry.ID, strawberry.argument(description="The ledger's id of the call (inboundCalls id).")
        ],
    ) -> ReplayInboundCallResult:
        principal = info.context.principal
        if not isinstance(principal, OperatorPrincipal):
            raise Forbidden("仅限操作员：请先用 logInOperator 登录。")
        services = info.context.services
        try:
            number = int(str(call_id).strip())
        except ValueError:
            return Refusal.of(Refused(RefusalCode.NOT_FOUND, f"no recorded call {call_id}", field="callId"))
        dispatch = services.replay_inbound
        if dispatch is None:  # pragma: no cover - create_app always sets it
            return Refusal.of(Refused(RefusalCode.NOT_A_SHIM, "replay is not available here"))

        def may_see(hospital_id: str | None) -> bool:
            return principal.role == "region" or (hospital_id is not None and principal.may_see(hospital_id))

        async def audit_unseal(original: InboundCall) -> None:
            async with services.db.session() as db:  # every use of a sealed copy is audited, before it is opened
                record(
                    db,
                    principal,
                    "inbound-call-replayed",
                    hospital_id=original.hospital_id,
                    target=f"inbound call {number}",
                    detail={"path": original.path, "sealedCopy": "opened"},
                )

        try:
            replayed = await replay_call(
                services.db,
                dispatch,
                call_id=number,
                may_see=may_see,
                operator=principal.username or f"operator-{principal.operator_id}",
                may_unseal=principal.role == "region",
                on_unseal=audit_unseal,
            )
        except ReplayRefused as refused:
            return Refusal.of(refused)
        code = replayed.reply.get("code")
        async with services.db.session() as db:  # audited (issue 15 item 12)
            record(
                db,
                principal,
                "inbound-call-replayed",
                hospital_id=replayed.original.hospital_id,
                target=f"inbound call {number}",
                detail={"path": replayed.original.path, "replyCode": str(code) if code is not None else None}
                | ({"sealedCopy": "used"} if replayed.from_sealed_copy else {}),
            )
        return InboundReplaySuccess(
            original=InboundCallRecord.from_row(replayed.original),
            success=replayed.reply.get("success") is True,
            reply_code=str(code) if code is not None else None,
            reply=json.dumps(replayed.reply, ensure_ascii=False),
        )
