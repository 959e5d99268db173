"""Methods whose spec example reply is unparseable or lacks a field its own table requires."""

from __future__ import annotations

from simulator.envelope import Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext
from simulator.handlers.template import default_handler, render


@handles("hospital.interface.projectAppt.saveApptInfo")
def lock_project_slot(ctx: CallContext) -> Reply:
    """号源锁定: the example's `timePoint` key is unquoted in the spec."""
    ctx.patient()
    return ok({"timePoint": "16:00"}, msg="")


@handles("hospital.interface.invalidInPatsInfo")
def cancel_admission(ctx: CallContext) -> Reply:
    """The table says `refoundNo`, the example `refundNo`: answer both spellings."""
    ctx.patient()

    def apply() -> Reply:
        refund_no = ctx.hospital.next_id("TK")
        return render(ctx, values={"data": {"refundNo": refund_no, "refoundNo": refund_no}})

    return ctx.once(f"admission-cancel:{ctx.body.text('patInHosId')}", apply)


@handles("hospital.interface.updateCaregivers", "hospital.interface.deleteCaregivers")
def caregiver_change(ctx: CallContext) -> Reply:
    """The tables require `data`, the examples omit it (约定: data must always be present)."""
    reply = default_handler(ctx)
    reply.setdefault("data", "1")
    return reply
