"""The Mutation root, merged from each domain's mutations (one mutation per file, in <domain>/mutations/)."""

from __future__ import annotations

from .appointments.mutations.book_exam_appointment import BookExamAppointmentMutation
from .appointments.mutations.cancel_exam_appointment import CancelExamAppointmentMutation
from .appointments.mutations.change_exam_appointment import ChangeExamAppointmentMutation
from .appointments.mutations.check_in_at_triage import CheckInAtTriageMutation
from .appointments.mutations.check_in_exam_appointment import CheckInExamAppointmentMutation
from .appointments.mutations.triage_appointment import TriageAppointmentMutation
from .identity.mutations.card_binding_confirm import CardBindingConfirmMutation
from .identity.mutations.card_binding_start import CardBindingStartMutation
from .identity.mutations.card_contact_add import AddCardContactMutation
from .identity.mutations.card_unbind import CardUnbindMutation
from .identity.mutations.dev_login import DevLoginMutation
from .identity.mutations.health_card_create import HealthCardCreateMutation
from .identity.mutations.operator_admin import OperatorAdminMutation
from .identity.mutations.operator_login import OperatorLoginMutation
from .identity.mutations.operator_session import OperatorLogoutMutation, OperatorPasswordChangeMutation
from .identity.mutations.patient_info_update import UpdatePatientInfoMutation
from .identity.mutations.wechat_login import WeChatLoginMutation
from .inpatient.mutations.create_caregiver_pass import CreateCaregiverPassMutation
from .inpatient.mutations.delete_caregiver_pass import DeleteCaregiverPassMutation
from .inpatient.mutations.update_caregiver_pass import UpdateCaregiverPassMutation
from .operators.inbound_call_replay import InboundCallReplayMutation
from .operators.job_runs import JobRunNowMutation
from .operators.parked_order_resolve import ParkedOrderResolveMutation
from .operators.reconciliation_check import AcknowledgeMismatchMutation
from .payments.mutations.admission_payment_create import AdmissionPaymentCreateMutation
from .payments.mutations.appointment_payment_create import AppointmentPaymentCreateMutation
from .payments.mutations.card_refund_request import CardRefundRequestMutation
from .payments.mutations.consultation_payment_create import ConsultationPaymentCreateMutation
from .payments.mutations.deposit_payment_create import DepositPaymentCreateMutation
from .payments.mutations.insurance_payment_create import InsurancePaymentCreateMutation
from .payments.mutations.lab_appointment_payment_create import LabAppointmentPaymentCreateMutation
from .payments.mutations.medical_record_payment_create import MedicalRecordPaymentCreateMutation
from .payments.mutations.outpatient_payment_create import OutpatientPaymentCreateMutation
from .payments.mutations.paid_booking_cancel import PaidBookingCancelMutation
from .payments.mutations.payment_cancel import PaymentCancelMutation
from .payments.mutations.physical_exam_payment_create import PhysicalExamPaymentCreateMutation
from .payments.mutations.recharge_payment_create import RechargePaymentCreateMutation
from .payments.mutations.registration_today_payment_create import TodayRegistrationPaymentCreateMutation
from .payments.mutations.sandbox_pay import SandboxPayMutation
from .payments.mutations.self_order_payment_create import SelfOrderPaymentCreateMutation
from .records.mutations.sign_education import SignEducationMutation
from .records.mutations.sync_consultation_record import SyncConsultationRecordMutation

MUTATIONS: list[type] = [
    # Identity (issue 4): sessions and proving cards.
    WeChatLoginMutation,
    DevLoginMutation,
    OperatorLoginMutation,
    OperatorLogoutMutation,
    OperatorPasswordChangeMutation,
    OperatorAdminMutation,
    CardBindingStartMutation,
    CardBindingConfirmMutation,
    HealthCardCreateMutation,
    CardUnbindMutation,
    AddCardContactMutation,
    UpdatePatientInfoMutation,
    # Money (issue 5): orders written before the provider is asked; refusals typed.
    OutpatientPaymentCreateMutation,
    RechargePaymentCreateMutation,
    DepositPaymentCreateMutation,
    PaymentCancelMutation,
    SandboxPayMutation,
    TodayRegistrationPaymentCreateMutation,
    AppointmentPaymentCreateMutation,
    PhysicalExamPaymentCreateMutation,
    CardRefundRequestMutation,
    PaidBookingCancelMutation,
    AdmissionPaymentCreateMutation,
    LabAppointmentPaymentCreateMutation,
    SelfOrderPaymentCreateMutation,
    InsurancePaymentCreateMutation,
    ConsultationPaymentCreateMutation,
    MedicalRecordPaymentCreateMutation,
    # Writes that move no money (issue 3): refusals and failures come back as the one Refusal (issue 12 item 3).
    CheckInAtTriageMutation,
    TriageAppointmentMutation,
    BookExamAppointmentMutation,
    CancelExamAppointmentMutation,
    ChangeExamAppointmentMutation,
    CheckInExamAppointmentMutation,
    CreateCaregiverPassMutation,
    UpdateCaregiverPassMutation,
    DeleteCaregiverPassMutation,
    SignEducationMutation,
    SyncConsultationRecordMutation,
    # Operators (issue 6): replaying a recorded shim call as its hospital.
    InboundCallReplayMutation,
    # Operators (issue 15): settling an order that waits for a person.
    ParkedOrderResolveMutation,
    # Operators (issue 15 item 9): running a scheduled job now.
    JobRunNowMutation,
    # Operators (issue 15 item 4): saying who looked at a reconciliation mismatch.
    AcknowledgeMismatchMutation,
]
"""Each domain's mutation classes (strawberry types whose fields are mutations)."""
