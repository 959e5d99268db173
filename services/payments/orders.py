"""Creating orders, recording the provider's paid notification, cancelling, and reading an order.

The order is committed with its out_trade_no before the provider is asked to prepay, so a payment can
never arrive for an order we do not know. The paid notification is recorded once: the order row is
locked (FOR UPDATE on PostgreSQL, SQLite's write lock) and the "notify the hospital" job has a unique
key, so concurrent duplicates change nothing; PAID and that job are written in one transaction.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from his_clients.client import HisClient
from his_clients.errors import HisError
from his_clients.models.card_balance import GET_REFUND_BALANCE, GetRefundBalanceRequest
from his_clients.models.inpatient_records import (
    GET_APPLICATION_HOSPITAL_INFORMATION,
    GetApplicationHospitalInformationRequest,
)
from his_clients.models.internet_hospital import (
    INTERNET_HOSPITAL_QUERY_HOSPITAL_SINGLE_CHARGE,
    InternetHospitalQueryHospitalSingleChargeRequest,
)
from his_clients.models.lab_appointments import (
    PROJECT_APPT_GET_PROJECT_SCHEDULE,
    PROJECT_APPT_SAVE_APPT_INFO,
    ProjectApptGetProjectScheduleRequest,
    ProjectApptSaveApptInfoRequest,
)
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.models.physical_exam import PHYSICAL_GET_PACKAGE_LIST, PhysicalGetPackageListRequest
from his_clients.models.registration_appointment import APPOINTMENT_INFO, AppointmentInfoRequest
from his_clients.models.registration_today import TODAY_REGISTER_GET_DOCTORS, TodayRegisterGetDoctorsRequest
from his_clients.models.self_order import (
    SELF_PRESCRIPTION_GET_SELF_HIS_CHARGE_LIST,
    SELF_PRESCRIPTION_SELF_APPOINTMENT_DATE,
    SelectedGroup,
    SelectedItem,
    SelfPrescriptionGetSelfHisChargeListRequest,
    SelfPrescriptionSelfAppointmentDateRequest,
)
from store.db import Database
from store.orders import (
    CENT,
    RELEASED_REFUND_STATES,
    Order,
    OrderRepository,
    OrderState,
    OutboxRepository,
    Refund,
    RefundState,
    check_amounts,
    refundable_left,
)

from .after_sale import CARD_REFUND_JOB, HIS_CANCEL_JOB, after_sale_note
from .clock import CHINA_TIME, Clock, SystemClock
from .providers.base import PaymentNotification, PaymentProvider, PrepayResult, TradeState
from .sagas import FLOWS, cancellable
from .sagas import card_refund as chapter8
from .sagas.admission import AdmissionFlow
from .sagas.consultation import ConsultationFlow
from .sagas.deposit import DepositFlow
from .sagas.lab_appointment import LabAppointmentFlow
from .sagas.medical_record import MedicalRecordDeliveryFlow
from .sagas.outpatient import OutpatientFlow
from .sagas.physical_exam import PhysicalExamFlow
from .sagas.recharge import RechargeFlow
from .sagas.registration_appointment import AppointmentRegistrationFlow
from .sagas.registration_today import TodayRegistrationFlow
from .sagas.self_order import SelfOrderFlow

log = logging.getLogger("hisgraph.payments")

ZERO = Decimal("0.00")
NOTIFY_HIS = "notify_his"
"""Outbox job kind: tell the hospital the payment arrived (then 14.2.2 / 13.1.1 as the flow says)."""
PAYMENT_EXPIRES_AFTER = timedelta(minutes=15)


class UnknownOrder(LookupError):
    """No order has this out_trade_no."""


class OrderNotCancellable(Exception):
    """Only an order nothing was paid for (CREATED) may be cancelled."""


class QuoteUnavailable(Exception):
    """The hospital did not quote what the order needs (no such schedule, slot refused...)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class PrescribedCharge:
    """One charge the online doctor prescribed (25.1.1 charges): priced by 25.1.6 when the order is made."""

    charge_id: str
    charge_type: int
    """1 检查, 2 检验, 3 处方."""
    charge_name: str
    quantity: int
    group_id: str = ""
    frequency_name: str | None = None
    usage_name: str | None = None
    dose: str | None = None
    memo: str | None = None


class RefundNotPossible(Exception):
    """The user may not have this refund (nothing refundable, more than is left, not cancellable now)."""


@dataclass(frozen=True, slots=True)
class RefundSummary:
    """One refund as callers above the store see it (after-sale refunds leave the order NOTIFIED)."""

    out_refund_no: str
    out_trade_no: str
    amount: Decimal
    state: RefundState
    reason: str
    his_refund_no: str | None = None
    """The hospital's voucher: 8.1.2 outRefundId, 20.1.8 / 21.2.3 refundNo."""
    note: str | None = None
    """Why the refund stands where it does (the last step's outcome)."""

    @classmethod
    def of(cls, order: Order, refund: Refund) -> RefundSummary:
        noted = after_sale_note(order, refund.out_refund_no)
        return cls(
            out_refund_no=refund.out_refund_no,
            out_trade_no=order.out_trade_no,
            amount=refund.amount,
            state=RefundState(refund.state),
            reason=refund.reason,
            his_refund_no=noted.get("his_refund_no"),
            note=noted.get("why"),
        )


@dataclass(frozen=True, slots=True)
class CardRefundRequested:
    """The user's card-balance refund: one refund per recharge order the balance came from."""

    amount: Decimal
    refunds: list[RefundSummary] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order as callers above the store see it."""

    out_trade_no: str
    flow: str
    state: OrderState
    hospital_id: str
    medical_card_number: str
    total_amount: Decimal
    balance_payment: Decimal
    unified_pay_amount: Decimal
    online_amount: Decimal
    his_serial: str | None
    state_reason: str | None

    @classmethod
    def of(cls, order: Order) -> OrderSummary:
        return cls(
            out_trade_no=order.out_trade_no,
            flow=order.flow,
            state=OrderState(order.state),
            hospital_id=order.hospital_id,
            medical_card_number=order.medical_card_number,
            total_amount=order.total_amount,
            balance_payment=order.balance_payment,
            unified_pay_amount=order.unified_pay_amount,
            online_amount=order.online_amount,
            his_serial=order.his_serial,
            state_reason=order.state_reason,
        )


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """What the mini-program needs to pay: the order and wx.requestPayment's parameters."""

    order: OrderSummary
    prepay: PrepayResult | None
    """None when nothing is left to pay online (the card balance covers the bill)."""


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    order: OrderSummary
    duplicate: bool
    """True when this notification (or a concurrent copy) had already been recorded."""


def new_refund_no(now: datetime) -> str:
    """`RE251126100000a1b2c3`: the refund number, chosen once, sent on every 8.1.2 try and to the provider."""
    return f"{chapter8.REFUND_NUMBER_PREFIX}{now.astimezone(CHINA_TIME):%y%m%d%H%M%S}{secrets.token_hex(4)}"


def new_out_trade_no(business_type: str, now: datetime) -> str:
    """`ZJZF-250101120000a1b2c3d4`: the business-type code first (14.1.1 filters on it), at most 32 chars."""
    return f"{business_type}-{now.astimezone(CHINA_TIME):%y%m%d%H%M%S}{secrets.token_hex(4)}"


class PaymentService:
    """The payment flows' entry points, shared by GraphQL mutations and the provider's notification shim."""

    def __init__(
        self,
        *,
        db: Database,
        his: HisClient,
        provider: PaymentProvider,
        clock: Clock | None = None,
        notify_url: str = "",
        his_timeout_s: float = 5.0,
    ) -> None:
        self._db = db
        self._his = his
        self._provider = provider
        self._clock = clock or SystemClock()
        self._notify_url = notify_url
        self._his_timeout_s = his_timeout_s

    async def create_outpatient_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for the bill 3.1.1 quotes right now: its total as quoted, its detail ids kept for 3.1.2."""
        quote = await self._his.call(
            QUERY_WAIT_PAY,
            hospital_id,
            QueryWaitPayRequest(medical_card_number=medical_card_number, id_card=id_card),
        )
        items = [{"id": item.id, "pres_code": item.pres_code, "amount": str(item.item_amount)} for item in quote.detail]
        snapshot = {
            "amount": str(quote.amount),
            "discount_amount": str(quote.discount_amount),
            "detail_ids": [item.id for item in quote.detail],
            "items": items,
        }
        return await self._create(
            flow=OutpatientFlow.name,
            business_type=OutpatientFlow.business_type,
            description="诊间支付",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=quote.amount,
            discount=quote.discount_amount,
            balance_payment=balance_payment,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_recharge_order(
        self, *, hospital_id: str, medical_card_number: str, amount: Decimal, payer_openid: str | None = None
    ) -> CreatedOrder:
        """An order to put `amount` yuan on the card's balance (7.1.2)."""
        return await self._create(
            flow=RechargeFlow.name,
            business_type=RechargeFlow.business_type,
            description="就诊卡充值",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=amount,
            quote={"amount": str(amount)},
            payer_openid=payer_openid,
        )

    async def create_deposit_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        admission_number: str | None,
        amount: Decimal,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for an inpatient deposit of `amount` yuan (10.1.2)."""
        return await self._create(
            flow=DepositFlow.name,
            business_type=DepositFlow.business_type,
            description="住院押金",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=amount,
            quote={"amount": str(amount), "admission_number": admission_number},
            payer_openid=payer_openid,
        )

    async def create_today_registration_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        patient_name: str,
        department_id: str,
        reg_class_id: str,
        doctor_id: str | None = None,
        id_card: str | None = None,
        sequence: str | None = None,
        serial_number: str | None = None,
        register_time: str | None = None,
        am_pm: str | None = None,
        time_code: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for today's registration (20.1.7) at the fee the hospital's schedule (20.1.2) quotes now.

        The schedule row is the one for the doctor (or the department's own desk when doctor_id is None)
        and the registration class asked; the slot fields come from 20.1.3 and are passed on to 20.1.7.
        """
        schedules = await self._his.call(
            TODAY_REGISTER_GET_DOCTORS, hospital_id, TodayRegisterGetDoctorsRequest(department_id=department_id)
        )
        schedule = next(
            (
                row
                for row in schedules
                if (row.doctor_id or None) == (doctor_id or None) and row.reg_class_id == reg_class_id
            ),
            None,
        )
        if schedule is None:
            raise QuoteUnavailable(f"no schedule today for {department_id}/{doctor_id}/{reg_class_id}")
        now = self._clock.now()
        snapshot = {
            "amount": str(schedule.registration_fee),
            "today_register_id": uuid.uuid4().hex,
            "department_id": department_id,
            "department_name": schedule.department_name,
            "doctor_id": doctor_id,
            "doctor_name": schedule.doctor_name,
            "reg_class_id": reg_class_id,
            "reg_class_name": schedule.reg_class_name,
            "schedule_type": schedule.schedule_type,
            "patient_name": patient_name,
            "id_card": id_card,
            "registration_date": f"{now.astimezone(CHINA_TIME):%Y-%m-%d}",
            "sequence": sequence,
            "serial_number": serial_number,
            "register_time": register_time,
            "am_pm": am_pm,
            "time_code": time_code,
        }
        return await self._create(
            flow=TodayRegistrationFlow.name,
            business_type=TodayRegistrationFlow.business_type,
            description="当日挂号",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=schedule.registration_fee,
            balance_payment=balance_payment,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_appointment_order(
        self,
        *,
        hospital_id: str,
        hos_code: str,
        medical_card_number: str,
        patient_name: str,
        patient_id: str,
        patient_phone: str,
        dept_code: str,
        doc_code: str,
        date: str,
        am_pm: str,
        start_time: str,
        fee: Decimal,
        end_time: str | None = None,
        his_time_id: str | None = None,
        serial_number: int | None = None,
        id_type: str = "01",
        id_card: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """Book the slot with 21.2.2 (our recordId), then an order for the fee; 21.2.4 follows the payment.

        `fee` is the registration fee of the schedule the hospital published (chapter 21.1): 21.2.x quote
        none, and 21.2.4 refuses a fee that is not the hospital's (60202), which then asks 13.1.1.
        A refused booking raises QuoteUnavailable with the hospital's code; no order is written.
        """
        record_id = uuid.uuid4().hex
        booking = AppointmentInfoRequest(
            hos_code=hos_code,
            record_id=record_id,
            medical_card=medical_card_number,
            patient_name=patient_name,
            dept_code=dept_code,
            doc_code=doc_code,
            ar_amt=fee,
            date=date,
            am_pm=am_pm,
            start_time=start_time,
            end_time=end_time,
            type=id_type,
            patient_id=patient_id,
            patient_phone=patient_phone,
            his_time_id=his_time_id,
        )
        try:
            confirmation = await self._his.call(APPOINTMENT_INFO, hospital_id, booking)
        except HisError as error:
            raise QuoteUnavailable(f"21.2.2 refused the booking: {error}", code=error.code) from error
        snapshot = {
            "amount": str(fee),
            "record_id": record_id,
            "hos_code": hos_code,
            "appointment_code": confirmation.appointment_code,
            "sn": confirmation.sn,
            "patient_name": patient_name,
            "patient_id": patient_id,
            "patient_phone": patient_phone,
            "id_type": id_type,
            "id_card": id_card,
            "dept_code": dept_code,
            "doc_code": doc_code,
            "date": date,
            "am_pm": am_pm,
            "start_time": start_time,
            "end_time": end_time,
            "his_time_id": his_time_id,
            "serial_number": serial_number,
        }
        return await self._create(
            flow=AppointmentRegistrationFlow.name,
            business_type=AppointmentRegistrationFlow.business_type,
            description="预约挂号",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=fee,
            balance_payment=balance_payment,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_physical_exam_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str,
        name: str,
        sex: str,
        package_ids: list[str],
        date: str,
        tel_no: str | None = None,
        profession_code: str | None = None,
        org_id: str | None = None,
        group_id: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for exam packages at the acPrice 28.1.1 quotes now; 28.1.6 books them after payment.

        `date` is the booking time as 28.1.6 writes it (yyyy-MM-dd HH:mm). Extra items (itemIds) are not
        offered: 28.1.1 quotes packages only.
        """
        packages = await self._his.call(
            PHYSICAL_GET_PACKAGE_LIST,
            hospital_id,
            PhysicalGetPackageListRequest(
                id_card=id_card, medical_card_number=medical_card_number, profession_code=profession_code
            ),
        )
        prices = {package.package_id: package.ac_price for package in packages}
        unknown = [package for package in package_ids if package not in prices]
        if not package_ids or unknown:
            raise QuoteUnavailable(f"28.1.1 quotes no package {unknown or package_ids}")
        total = sum((prices[package] for package in package_ids), ZERO)
        snapshot = {
            "amount": str(total),
            "prices": {package: str(prices[package]) for package in package_ids},
            "package_ids": list(package_ids),
            "name": name,
            "sex": sex,
            "id_card": id_card,
            "tel_no": tel_no,
            "profession_code": profession_code,
            "date": date,
            "org_id": org_id,
            "group_id": group_id,
        }
        return await self._create(
            flow=PhysicalExamFlow.name,
            business_type=PhysicalExamFlow.business_type,
            description="体检预约",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=total,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_admission_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for what the admission application asks now (36.1.1 prepayAmount); 36.1.2 follows payment.

        No application, one asking nothing, or one already paid raises QuoteUnavailable; no order is written.
        """
        try:
            application = await self._his.call(
                GET_APPLICATION_HOSPITAL_INFORMATION,
                hospital_id,
                GetApplicationHospitalInformationRequest(medical_card_number=medical_card_number, id_card=id_card),
            )
        except HisError as error:
            raise QuoteUnavailable(f"36.1.1 gave no admission application: {error}", code=error.code) from error
        if not application.admission_card_id or application.prepay_amount <= 0:
            raise QuoteUnavailable("the admission application asks nothing to pay", code="60102")
        if (application.apply_status or "").strip() == "已缴费":
            raise QuoteUnavailable("the admission application is paid already", code="40002")
        snapshot = {
            "amount": str(application.prepay_amount),
            "admission_card_id": application.admission_card_id,
            "admission_number": application.admission_number,
            "dept_name": application.dept_name,
            "id_card": id_card,
        }
        return await self._create(
            flow=AdmissionFlow.name,
            business_type=AdmissionFlow.business_type,
            description="入院申请缴费",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=application.prepay_amount,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_lab_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        patient_name: str,
        sex: str,
        telephone: str,
        project_id: str,
        scheduling_id: str,
        source_id: str | None = None,
        id_card: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """Lock the slot with 33.1.3 (our recordId) at the price 33.1.1 quotes, then the order; 33.1.4 follows.

        The total is the project's price plus its 诊查费 (inspectingPrice) when 33.1.1 names one. An unknown
        project or schedule, or a refused lock, raises QuoteUnavailable; no order is written.
        """
        try:
            projects = await self._his.call(
                PROJECT_APPT_GET_PROJECT_SCHEDULE, hospital_id, ProjectApptGetProjectScheduleRequest()
            )
        except HisError as error:
            raise QuoteUnavailable(f"33.1.1 quoted no project: {error}", code=error.code) from error
        project = next((p for p in projects if p.project_id == project_id), None)
        if project is None or not any(s.scheduling_id == scheduling_id for s in project.schedule_list):
            raise QuoteUnavailable(f"33.1.1 quotes no project {project_id} on schedule {scheduling_id}")
        total = project.project_price + (project.inspecting_price or ZERO)
        record_id = uuid.uuid4().hex
        lock = ProjectApptSaveApptInfoRequest(
            medical_card_number=medical_card_number,
            id_card_no=id_card,
            pat_name=patient_name,
            sex=sex,
            telephone=telephone,
            source_id=source_id,
            scheduling_id=scheduling_id,
            lock_time=str(int(PAYMENT_EXPIRES_AFTER.total_seconds() // 60)),
            project_id=project_id,
            record_id=record_id,
        )
        try:
            locked = await self._his.call(PROJECT_APPT_SAVE_APPT_INFO, hospital_id, lock)
        except HisError as error:
            raise QuoteUnavailable(f"33.1.3 refused the slot: {error}", code=error.code) from error
        snapshot = {
            "amount": str(total),
            "project_price": str(project.project_price),
            "inspecting_price": None if project.inspecting_price is None else str(project.inspecting_price),
            "project_id": project_id,
            "project_name": project.project_name,
            "scheduling_id": scheduling_id,
            "source_id": source_id,
            "record_id": record_id,
            "time_point": locked.time_point,
            "patient_name": patient_name,
            "sex": sex,
            "telephone": telephone,
            "id_card": id_card,
        }
        return await self._create(
            flow=LabAppointmentFlow.name,
            business_type=LabAppointmentFlow.business_type,
            description="检验项目预约",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=total,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_self_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        groups: dict[str, list[str]],
        appointment_date: str,
        patient_name: str | None = None,
        id_card: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for self-chosen items (29.1.1 prices them now) on a date 29.1.2 offers; 29.1.3 follows payment.

        `groups` maps each chosen groupId to its chosen itemIds (empty: every item of the group). The total
        is the sum of the chosen items' prices. Anything 29.1.1 does not list, or a date 29.1.2 does not
        offer, raises QuoteUnavailable; no order is written.
        """
        try:
            departments = await self._his.call(
                SELF_PRESCRIPTION_GET_SELF_HIS_CHARGE_LIST,
                hospital_id,
                SelfPrescriptionGetSelfHisChargeListRequest(medical_card_number=medical_card_number, id_card=id_card),
            )
        except HisError as error:
            raise QuoteUnavailable(f"29.1.1 quoted no items: {error}", code=error.code) from error
        listed = {group.group_id: group for department in departments for group in department.group}
        chosen: dict[str, list[str]] = {}
        prices: dict[str, str] = {}
        total = ZERO
        for group_id, item_ids in groups.items():
            group = listed.get(group_id)
            if group is None:
                raise QuoteUnavailable(f"29.1.1 lists no group {group_id}")
            items = {item.item_id: item.price for item in group.item}
            wanted = item_ids or list(items)
            unknown = [item for item in wanted if item not in items]
            if not wanted or unknown:
                raise QuoteUnavailable(f"29.1.1 lists no item {unknown or wanted} in group {group_id}")
            chosen[group_id] = wanted
            for item in wanted:
                prices[item] = str(items[item])
                total += items[item]
        if not chosen:
            raise QuoteUnavailable("nothing chosen")
        selection = [
            SelectedGroup(group_id=group_id, item=[SelectedItem(item_id=item) for item in items])
            for group_id, items in chosen.items()
        ]
        try:
            dates = await self._his.call(
                SELF_PRESCRIPTION_SELF_APPOINTMENT_DATE,
                hospital_id,
                SelfPrescriptionSelfAppointmentDateRequest(
                    medical_card_number=medical_card_number, id_card=id_card, group=selection
                ),
            )
        except HisError as error:
            raise QuoteUnavailable(f"29.1.2 offered no date: {error}", code=error.code) from error
        if not any(d.appointment_date == appointment_date and d.count.strip() not in ("", "0") for d in dates):
            raise QuoteUnavailable(f"29.1.2 does not offer {appointment_date}")
        snapshot = {
            "amount": str(total),
            "groups": [{"group_id": group_id, "item_ids": items} for group_id, items in chosen.items()],
            "prices": prices,
            "appointment_date": appointment_date,
            "patient_name": patient_name,
            "id_card": id_card,
        }
        return await self._create(
            flow=SelfOrderFlow.name,
            business_type=SelfOrderFlow.business_type,
            description="自选套餐",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=total,
            balance_payment=balance_payment,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_consultation_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        patient_name: str,
        gender: str,
        phone: str,
        id_card: str,
        birthday: str,
        diagnose_code: str,
        diagnose_name: str,
        bill_doc_hospital: str,
        bill_doc_name: str,
        bill_doc_code: str,
        charges: list[PrescribedCharge],
        description: str | None = None,
        consult_code: int | None = None,
        code: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for what the online doctor prescribed, each unit price as 25.1.6 quotes it now; 25.1.1 follows.

        The total is the sum of price x quantity. A charge 25.1.6 does not price, or a quantity that is
        not a positive whole number, raises QuoteUnavailable; no order is written.
        """
        if not charges:
            raise QuoteUnavailable("nothing prescribed")
        priced: list[dict[str, Any]] = []
        total = ZERO
        for charge in charges:
            if charge.quantity <= 0:
                raise QuoteUnavailable(f"quantity {charge.quantity} of {charge.charge_id}")
            try:
                price = await self._his.call(
                    INTERNET_HOSPITAL_QUERY_HOSPITAL_SINGLE_CHARGE,
                    hospital_id,
                    InternetHospitalQueryHospitalSingleChargeRequest(
                        charge_id=charge.charge_id, charge_type=charge.charge_type
                    ),
                )
            except HisError as error:
                raise QuoteUnavailable(f"25.1.6 priced no {charge.charge_id}: {error}", code=error.code) from error
            unit = Decimal(price).quantize(CENT)
            if unit != Decimal(price) or unit < 0:
                raise QuoteUnavailable(f"25.1.6 priced {charge.charge_id} at {price}")
            total += unit * charge.quantity
            priced.append(
                {
                    "charge_id": charge.charge_id,
                    "charge_type": charge.charge_type,
                    "charge_name": charge.charge_name,
                    "quantity": str(charge.quantity),
                    "price": str(unit),
                    "group_id": charge.group_id,
                    "frequency_name": charge.frequency_name,
                    "usage_name": charge.usage_name,
                    "dose": charge.dose,
                    "memo": charge.memo,
                }
            )
        snapshot = {
            "amount": str(total),
            "charges": priced,
            "patient_name": patient_name,
            "gender": gender,
            "phone": phone,
            "id_card": id_card,
            "birthday": birthday,
            "diagnose_code": diagnose_code,
            "diagnose_name": diagnose_name,
            "description": description,
            "bill_doc_hospital": bill_doc_hospital,
            "bill_doc_name": bill_doc_name,
            "bill_doc_code": bill_doc_code,
            "consult_code": consult_code,
            "code": code,
        }
        return await self._create(
            flow=ConsultationFlow.name,
            business_type=ConsultationFlow.business_type,
            description="在线问诊",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=total,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_medical_record_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        patient_name: str,
        apply_id: str,
        print_number: int,
        print_fee: Decimal,
        mailing_fee: Decimal = ZERO,
        admission_number: str | None = None,
        id_card: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for medical-record copies (27.1.2 after payment): printFee + mailingFee, the platform's tariff.

        Chapter 27 quotes no price: the fees are fixed by the platform's medical-record application.
        """
        if print_number <= 0 or print_fee < 0 or mailing_fee < 0:
            raise ValueError("print_number must be > 0 and fees >= 0")
        snapshot = {
            "amount": str(print_fee + mailing_fee),
            "apply_id": apply_id,
            "print_number": print_number,
            "print_fee": str(print_fee),
            "mailing_fee": str(mailing_fee),
            "admission_number": admission_number,
            "patient_name": patient_name,
            "id_card": id_card,
        }
        return await self._create(
            flow=MedicalRecordDeliveryFlow.name,
            business_type=MedicalRecordDeliveryFlow.business_type,
            description="病案预约配送",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=print_fee + mailing_fee,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def request_card_refund(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        amount: Decimal | None = None,
        id_card: str | None = None,
    ) -> CardRefundRequested:
        """The user takes back card balance (chapter 8): `amount` yuan, or all 8.1.1 calls refundable.

        8.1.1 lists the recharge orders the refundable balance came from; each one we took (a NOTIFIED
        recharge order of this card) gets one refund, never more than 8.1.1 says is left of it nor
        more than is left of its payment. The refunds and their 8.1.2 jobs are written in one
        transaction; the worker carries them out (services.payments.after_sale).
        """
        refundable = await self._his.call(
            GET_REFUND_BALANCE,
            hospital_id,
            GetRefundBalanceRequest(medical_card_number=medical_card_number, id_card=id_card),
        )
        wanted = refundable.balance if amount is None else amount
        if wanted <= 0 or wanted > refundable.balance:
            raise RefundNotPossible(f"{wanted} asked, {refundable.balance} refundable")
        now = self._clock.now()
        async with self._db.session() as session:
            orders, outbox = OrderRepository(session), OutboxRepository(session)
            planned: list[tuple[Order, Refund]] = []
            left = wanted
            for entry in refundable.order:
                if left <= 0:
                    break
                recharge = await orders.get(entry.recharge_no, for_update=True)
                if (
                    recharge is None
                    or recharge.flow != RechargeFlow.name
                    or recharge.state != OrderState.NOTIFIED
                    or recharge.hospital_id != hospital_id
                    or recharge.medical_card_number != medical_card_number
                ):
                    continue
                taken = [r.amount for r in await orders.refunds(recharge) if r.state not in RELEASED_REFUND_STATES]
                part = min(entry.balance, refundable_left(recharge.online_amount, taken), left)
                if part <= 0:
                    continue
                refund = await orders.add_refund(
                    recharge,
                    out_refund_no=new_refund_no(now),
                    amount=part,
                    reason="card balance refund (8.1.2)",
                    at=now,
                    state=RefundState.AWAITING_HIS,
                )
                await outbox.enqueue(
                    kind=CARD_REFUND_JOB,
                    dedupe_key=f"{CARD_REFUND_JOB}:{refund.out_refund_no}",
                    order_id=recharge.id,
                    refund_id=refund.id,
                    at=now,
                )
                planned.append((recharge, refund))
                left -= part
            if left > 0:
                # Rolls the whole request back: part of it was not recharged online through us.
                raise RefundNotPossible(f"only {wanted - left} of {wanted} was recharged online through this platform")
            return CardRefundRequested(wanted, [RefundSummary.of(order, refund) for order, refund in planned])

    async def request_cancel(self, out_trade_no: str) -> RefundSummary:
        """The user cancels a paid booking: the hospital cancels (20.1.8, 21.2.3...), then the refund.

        Idempotent: while a cancellation of the order is under way or done, asking again returns it.
        Refused (RefundNotPossible) unless the hospital applied the order and its flow may be cancelled.
        """
        now = self._clock.now()
        async with self._db.session() as session:
            orders = OrderRepository(session)
            order = await orders.get(out_trade_no, for_update=True)
            if order is None:
                raise UnknownOrder(out_trade_no)
            if cancellable(FLOWS.get(order.flow)) is None:
                raise RefundNotPossible(f"{order.flow} orders cannot be cancelled after payment")
            if order.state != OrderState.NOTIFIED:
                raise RefundNotPossible(f"order {out_trade_no} is {order.state}: only a made booking is cancelled")
            existing = await orders.refunds(order)
            active = next((r for r in existing if r.state not in RELEASED_REFUND_STATES), None)
            if active is not None:
                return RefundSummary.of(order, active)
            if order.online_amount <= 0:
                raise RefundNotPossible(f"order {out_trade_no} was not paid online")
            refund = await orders.add_refund(
                order,
                out_refund_no=f"{order.out_trade_no}-C{len(existing) + 1}",
                amount=order.online_amount,
                reason="cancelled by the patient",
                at=now,
                state=RefundState.AWAITING_HIS,
            )
            await OutboxRepository(session).enqueue(
                kind=HIS_CANCEL_JOB,
                dedupe_key=f"{HIS_CANCEL_JOB}:{refund.out_refund_no}",
                order_id=order.id,
                refund_id=refund.id,
                at=now,
            )
            return RefundSummary.of(order, refund)

    async def refunds(self, out_trade_no: str) -> list[RefundSummary]:
        """Every refund of the order, oldest first."""
        async with self._db.session() as session:
            orders = OrderRepository(session)
            order = await orders.get(out_trade_no)
            if order is None:
                raise UnknownOrder(out_trade_no)
            return [RefundSummary.of(order, refund) for refund in await orders.refunds(order)]

    async def refund(self, out_refund_no: str) -> RefundSummary | None:
        async with self._db.session() as session:
            orders = OrderRepository(session)
            refund = await orders.get_refund_by_no(out_refund_no)
            order = None if refund is None else await orders.get_by_id(refund.order_id)
            return None if order is None or refund is None else RefundSummary.of(order, refund)

    async def record_payment(self, notification: PaymentNotification) -> PaymentRecorded:
        """Record a verified paid notification once; PAID and the job to notify the hospital in one transaction.

        The amount is checked again against the order: money that does not match parks the order.
        Answer the provider only after this returns (it has committed).
        """
        if notification.state is not TradeState.PAID:
            raise ValueError(f"not a paid notification: {notification.state}")
        try:
            return await self._record_payment(notification)
        except (IntegrityError, StaleDataError):
            # A concurrent copy won the race (unique job key / order version): it recorded the payment.
            async with self._db.session() as session:
                order = await OrderRepository(session).get(notification.out_trade_no)
                assert order is not None
                return PaymentRecorded(OrderSummary.of(order), duplicate=True)

    async def _record_payment(self, notification: PaymentNotification) -> PaymentRecorded:
        now = self._clock.now()
        async with self._db.session() as session:
            orders = OrderRepository(session)
            order = await orders.get(notification.out_trade_no, for_update=True)
            if order is None:
                raise UnknownOrder(notification.out_trade_no)
            state = OrderState(order.state)
            if state not in (OrderState.CREATED, OrderState.CANCELLED):
                if order.transaction_id not in (None, notification.transaction_id):
                    log.warning("second payment for one order", extra={"out_trade_no": order.out_trade_no})
                return PaymentRecorded(OrderSummary.of(order), duplicate=True)
            order.transaction_id = notification.transaction_id
            order.paid_at = notification.paid_at or now
            event = f"provider event {notification.event_id}"
            if state is OrderState.CANCELLED:
                await orders.transition(order, OrderState.PARKED, reason=f"{event}: paid after cancel", at=now)
            elif notification.amount != order.online_amount:
                reason = f"{event}: paid {notification.amount}, order says {order.online_amount}"
                await orders.transition(order, OrderState.PARKED, reason=reason, at=now)
            else:
                await orders.transition(order, OrderState.PAID, reason=f"{event}: paid", at=now)
                await OutboxRepository(session).enqueue(
                    kind=NOTIFY_HIS, dedupe_key=f"{NOTIFY_HIS}:{order.out_trade_no}", order_id=order.id, at=now
                )
            return PaymentRecorded(OrderSummary.of(order), duplicate=False)

    async def cancel(self, out_trade_no: str) -> OrderSummary:
        """Close an unpaid order: the provider first (so it can no longer be paid), then the ledger."""
        async with self._db.session() as session:
            order = await OrderRepository(session).get(out_trade_no)
        if order is None:
            raise UnknownOrder(out_trade_no)
        if order.state != OrderState.CREATED:
            raise OrderNotCancellable(f"order {out_trade_no} is {order.state}")
        await self._provider.close_order(out_trade_no)
        async with self._db.session() as session:
            orders = OrderRepository(session)
            order = await orders.get(out_trade_no, for_update=True)
            assert order is not None
            if order.state == OrderState.CREATED:
                await orders.transition(
                    order, OrderState.CANCELLED, reason="cancelled by the payer", at=self._clock.now()
                )
            return OrderSummary.of(order)

    async def get(self, out_trade_no: str) -> OrderSummary | None:
        async with self._db.session() as session:
            order = await OrderRepository(session).get(out_trade_no)
            return None if order is None else OrderSummary.of(order)

    async def _create(
        self,
        *,
        flow: str,
        business_type: str,
        description: str,
        hospital_id: str,
        medical_card_number: str,
        total: Decimal,
        quote: dict[str, Any],
        payer_openid: str | None,
        discount: Decimal = ZERO,
        balance_payment: Decimal = ZERO,
        unified_pay_amount: Decimal = ZERO,
    ) -> CreatedOrder:
        assert flow in FLOWS
        online = total - balance_payment - unified_pay_amount
        check_amounts(
            total=total, balance_payment=balance_payment, unified_pay_amount=unified_pay_amount, online=online
        )
        now = self._clock.now()
        order = Order(
            out_trade_no=new_out_trade_no(business_type, now),
            business_type=business_type,
            flow=flow,
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            description=description,
            total_amount=total,
            discount_amount=discount,
            balance_payment=balance_payment,
            unified_pay_amount=unified_pay_amount,
            online_amount=online,
            quote=quote,
            provider=self._provider.name,
        )
        async with self._db.session() as session:
            orders = OrderRepository(session)
            await orders.add(order, at=now)
            if online == 0:
                # Nothing to pay online: the hospital is told at once (balancePayment covers the bill).
                order.paid_at = now
                await orders.transition(order, OrderState.PAID, reason="nothing to pay online", at=now)
                await OutboxRepository(session).enqueue(
                    kind=NOTIFY_HIS, dedupe_key=f"{NOTIFY_HIS}:{order.out_trade_no}", order_id=order.id, at=now
                )
                return CreatedOrder(OrderSummary.of(order), None)
        prepay = await self._provider.prepay(
            out_trade_no=order.out_trade_no,
            amount=online,
            description=description,
            payer_openid=payer_openid,
            notify_url=self._notify_url,
            expires_at=now + PAYMENT_EXPIRES_AFTER,
        )
        async with self._db.session() as session:
            stored = await OrderRepository(session).get(order.out_trade_no, for_update=True)
            assert stored is not None
            stored.prepay_id = prepay.prepay_id
            return CreatedOrder(OrderSummary.of(stored), prepay)
