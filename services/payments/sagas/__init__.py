"""The payment sagas, one module per paid flow of the spec; `FLOWS` finds a flow by Order.flow."""

from __future__ import annotations

from typing import Final

from .base import Cancellable, Flow, FlowPolicy, GiveUp, HisCancellation, cancellable, is_refusal, retry_delay
from .deposit import DepositFlow
from .outpatient import OutpatientFlow
from .physical_exam import PhysicalExamFlow
from .recharge import RechargeFlow
from .registration_appointment import AppointmentRegistrationFlow
from .registration_today import TodayRegistrationFlow

FLOWS: Final[dict[str, Flow]] = {
    flow.name: flow
    for flow in (
        OutpatientFlow(),
        DepositFlow(),
        RechargeFlow(),
        TodayRegistrationFlow(),
        AppointmentRegistrationFlow(),
        PhysicalExamFlow(),
    )
}

__all__ = [
    "FLOWS",
    "AppointmentRegistrationFlow",
    "Cancellable",
    "DepositFlow",
    "Flow",
    "FlowPolicy",
    "GiveUp",
    "HisCancellation",
    "OutpatientFlow",
    "PhysicalExamFlow",
    "RechargeFlow",
    "TodayRegistrationFlow",
    "cancellable",
    "is_refusal",
    "retry_delay",
]
