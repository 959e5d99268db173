"""The payment sagas, one module per paid flow of the spec; `FLOWS` finds a flow by Order.flow."""

from __future__ import annotations

from typing import Final

from .admission import AdmissionFlow
from .base import (
    Cancellable,
    Flow,
    FlowPolicy,
    GiveUp,
    HisCancellation,
    Releases,
    cancellable,
    is_refusal,
    releases,
    retry_delay,
)
from .consultation import ConsultationFlow
from .deposit import DepositFlow
from .insurance import InsuranceFlow
from .lab_appointment import LabAppointmentFlow
from .medical_record import MedicalRecordDeliveryFlow
from .outpatient import OutpatientFlow
from .physical_exam import PhysicalExamFlow
from .recharge import RechargeFlow
from .registration_appointment import AppointmentRegistrationFlow
from .registration_today import TodayRegistrationFlow
from .self_order import SelfOrderFlow

FLOWS: Final[dict[str, Flow]] = {
    flow.name: flow
    for flow in (
        OutpatientFlow(),
        DepositFlow(),
        RechargeFlow(),
        TodayRegistrationFlow(),
        AppointmentRegistrationFlow(),
        PhysicalExamFlow(),
        AdmissionFlow(),
        LabAppointmentFlow(),
        SelfOrderFlow(),
        ConsultationFlow(),
        MedicalRecordDeliveryFlow(),
        InsuranceFlow(),
    )
}

__all__ = [
    "FLOWS",
    "AdmissionFlow",
    "AppointmentRegistrationFlow",
    "Cancellable",
    "ConsultationFlow",
    "DepositFlow",
    "Flow",
    "FlowPolicy",
    "GiveUp",
    "HisCancellation",
    "InsuranceFlow",
    "LabAppointmentFlow",
    "MedicalRecordDeliveryFlow",
    "OutpatientFlow",
    "PhysicalExamFlow",
    "RechargeFlow",
    "Releases",
    "SelfOrderFlow",
    "TodayRegistrationFlow",
    "cancellable",
    "is_refusal",
    "releases",
    "retry_delay",
]
