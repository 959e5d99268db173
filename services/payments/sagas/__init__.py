"""The payment sagas, one module per paid flow of the spec; `FLOWS` finds a flow by Order.flow."""

from __future__ import annotations

from typing import Final

from .base import Flow, FlowPolicy, GiveUp, is_refusal, retry_delay
from .deposit import DepositFlow
from .outpatient import OutpatientFlow
from .recharge import RechargeFlow

FLOWS: Final[dict[str, Flow]] = {flow.name: flow for flow in (OutpatientFlow(), DepositFlow(), RechargeFlow())}

__all__ = [
    "FLOWS",
    "DepositFlow",
    "Flow",
    "FlowPolicy",
    "GiveUp",
    "OutpatientFlow",
    "RechargeFlow",
    "is_refusal",
    "retry_delay",
]
