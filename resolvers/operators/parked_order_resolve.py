"""resolveParkedOrder: an operator settles an order no automatic step could (issue 15 item 2)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

import strawberry

from services.operations.parked import Evidence, Outcome, ResolveRefused, resolve_parked_order

from ..context import Info
from ..refusal import Refusal
from ..scalars import Money
from .audit_reads import audit_patients
from .orders import LedgerOrder, patient_names, signed_in


@strawberry.enum(description="What becomes of the order.")
class ParkedOrderOutcome(Enum):
    MARK_NOTIFIED = strawberry.enum_value(
        Outcome.MARK_NOTIFIED.value,
        description="The hospital has the payment: NOTIFIED. Only when 14.2.2 lists it as complete.",
    )
    REFUND = strawberry.enum_value(
        Outcome.REFUND.value,
        description="Give the money back: REFUNDING, then the worker refunds what is left of the online part. "
        "Only when 14.2.2 answers that the hospital does not have it. Region operators only.",
    )
    RETRY_NOTIFY = strawberry.enum_value(
        Outcome.RETRY_NOTIFY.value,
        description="Tell the hospital again: back to PAID with a fresh retry window; the worker does the rest. "
        "Refused when 14.2.2 already lists the payment, or when the provider took another amount than the order's.",
    )


@strawberry.type(description="One trade 14.2.2 listed under the order's number.")
class HospitalTrade:
    trade_no: str = strawberry.field(description="The order number the hospital holds (tradeNo).")
    amount: Money = strawberry.field(description="Its amount, in yuan.")
    trade_time: str = strawberry.field(description="When it was paid, as the hospital wrote it.")
    complete: bool = strawberry.field(description="Whether the hospital calls the trade complete.")


@strawberry.type(description="What the hospital's 14.2.2 (queryByOutTradeNo) said when the operator acted.")
class ParkedOrderEvidence:
    section: str = strawberry.field(description="The spec's section asked: 14.2.2.")
    answered: bool = strawberry.field(description="Whether the hospital gave a usable answer.")
    hospital_has_payment: bool | None = strawberry.field(
        description="Whether it lists the payment as complete; null when it did not answer."
    )
    error_code: str | None = strawberry.field(description="The failure's code when it did not answer.")
    trades: list[HospitalTrade] = strawberry.field(description="The trades it listed under the order's number.")

    @classmethod
    def of(cls, evidence: Evidence) -> ParkedOrderEvidence:
        return cls(
            section="14.2.2",
            answered=evidence.answered,
            hospital_has_payment=evidence.hospital_has_payment,
            error_code=evidence.error_code,
            trades=[
                HospitalTrade(trade_no=t.trade_no, amount=Money(t.amount), trade_time=t.trade_time, complete=t.complete)
                for t in evidence.trades
            ],
        )


@strawberry.type(description="The decision was carried out; the order as it is now.")
class ParkedOrderResolved:
    order: LedgerOrder = strawberry.field(description="The order after the decision (new state, events, jobs).")
    from_state: str = strawberry.field(description="The state it left.")
    evidence: ParkedOrderEvidence | None = strawberry.field(description="The 14.2.2 answer the decision relied on.")


ResolveParkedOrderResult = Annotated[
    ParkedOrderResolved | Refusal,
    strawberry.union(
        "ResolveParkedOrderResult",
        description=(
            "The order after the decision, or why it was refused and nothing changed (Refusal: NOT_FOUND, "
            "NOT_ACTIONABLE, REGION_ONLY, STALE_VERSION, NO_EVIDENCE, HOSPITAL_HAS_PAYMENT, HOSPITAL_LACKS_PAYMENT, "
            "NOTHING_TO_REFUND: the code says what 14.2.2 answered)."
        ),
    ),
]


@strawberry.type
class ParkedOrderResolveMutation:
    @strawberry.mutation(
        description=(
            "Settle an order that waits for an operator: a PARKED order, or a PAID one whose job has run past its "
            "retry window (LedgerOrder.waitsForOperator). The hospital's 14.2.2 is asked first and its answer is "
            "shown: MARK_NOTIFIED needs it to list the payment as complete, REFUND needs it to answer that the "
            "hospital does not have it. expectedVersion must be the order's version as you read it (a stale one is "
            "refused). Money moves only through the ledger's outbox and refund machinery, never twice. A region "
            "operator may choose every outcome; a hospital operator only for their own hospital's orders, and only "
            "RETRY_NOTIFY or MARK_NOTIFIED (REFUND needs a region operator). Audited with the evidence and note, in "
            "the same transaction."
        )
    )
    async def resolve_parked_order(
        self,
        info: Info,
        out_trade_no: Annotated[str, strawberry.argument(description="The order's number (outTradeNo).")],
        outcome: Annotated[ParkedOrderOutcome, strawberry.argument(description="What becomes of it.")],
        note: Annotated[str, strawberry.argument(description="Why, for the audit trail (at most 500 characters).")],
        expected_version: Annotated[
            int, strawberry.argument(description="The order's version as you read it (LedgerOrder.version).")
        ],
    ) -> ResolveParkedOrderResult:
        principal = signed_in(info)
        services = info.context.services
        try:
            resolved = await resolve_parked_order(
                db=services.db,
                his=services.his,
                actor=principal,
                out_trade_no=out_trade_no.strip(),
                outcome=Outcome(str(outcome.value)),
                note=note.strip(),
                expected_version=expected_version,
                deadline=info.context.deadline,
            )
        except ResolveRefused as refused:
            return Refusal.of(refused)
        order = resolved.order.order
        names = await patient_names(info, {order.medical_card_number})
        await audit_patients(info, view="resolveParkedOrder", cards=[(order.hospital_id, order.medical_card_number)])
        return ParkedOrderResolved(
            order=LedgerOrder.of(resolved.order, names, datetime.now(UTC)),
            from_state=resolved.from_state,
            evidence=None if resolved.evidence is None else ParkedOrderEvidence.of(resolved.evidence),
        )
