"""Creating orders, recording the provider's paid notification, cancelling, and reading an order.

The order is committed with its out_trade_no before the provider is asked to prepay, so a payment can
never arrive for an order we do not know. The paid notification is recorded once: the order row is
locked (FOR UPDATE on PostgreSQL, SQLite's write lock) and the "notify the hospital" job has a unique
key, so concurrent duplicates change nothing; PAID and that job are written in one transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Collection
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from his_clients import guard
from his_clients.client import HisClient
from his_clients.models.base import HisRequest
from store.db import Database
from store.orders import Order, OrderRepository, OrderState, check_amounts
from store.outbox import OutboxRepository

from . import entry_after_sale as after_sale
from . import entry_bills as bills
from . import entry_bookings as bookings
from . import entry_insurance as insurance
from . import entry_online as online
from . import entry_registration as registration
from . import hospital_refunds
from .clock import CHINA_TIME, Clock, SystemClock
from .entry_after_sale import new_refund_no as new_refund_no
from .entry_base import HospitalAsk, PricedOrder
from .entry_insurance import InsuranceOrderCreated
from .entry_online import MEDICAL_RECORD_TARIFF, MedicalRecordTariff
from .entry_online import PrescribedCharge as PrescribedCharge
from .hospital_refunds import HospitalRefund, HospitalRefundKind
from .providers.base import PaymentNotification, PaymentProvider, TradeState
from .quotes import Quote
from .results import PAYMENT_EXPIRES_AFTER as PAYMENT_EXPIRES_AFTER
from .results import ZERO as ZERO
from .results import CardRefundRequested as CardRefundRequested
from .results import CreatedOrder as CreatedOrder
from .results import OrderNotCancellable as OrderNotCancellable
from .results import OrderSummary as OrderSummary
from .results import PaymentRecorded as PaymentRecorded
from .results import PaymentRefused
from .results import QuoteUnavailable as QuoteUnavailable
from .results import RefundNotPossible as RefundNotPossible
from .results import RefundSummary as RefundSummary
from .results import UnknownOrder as UnknownOrder
from .sagas import FLOWS, releases

log = logging.getLogger("hisgraph.payments")

T = TypeVar("T")

NOTIFY_HIS = "notify_his"
"""Outbox job kind: tell the hospital the payment arrived (then 14.2.2 / 13.1.1 as the flow says)."""
EXPIRE_UNPAID = "expire_unpaid"
"""Outbox job kind, due when the payment window ends: an order still unpaid is closed and what it holds
at the hospital released (flows that hold something before payment: sagas.base.Releases)."""
EXPIRY_GRACE = timedelta(minutes=1)
"""After the provider's own expiry (PAYMENT_EXPIRES_AFTER), so a payment made in the last second is not raced."""
RELEASE_HELD = "release_held"
"""Outbox job kind: release what an unpaid, cancelled or refunded order holds at the hospital (21.2.3, 5.1.3)."""


OUT_TRADE_NO_MAX = 32
"""WeChat Pay's limit on out_trade_no."""


def new_out_trade_no(business_type: str, now: datetime, hospital_id: str = "") -> str:
    """`ZJZF-253-251201120000a1b2c3`: business type, hospital, Beijing time and 24 random bits.

    The spec's examples write ``JZKCZ-SCXRMYY-18062229055``: the business-type code first (14.1.1
    filters on it), then the hospital's segment. Ours is the hospital id, letters and digits only,
    its tail kept where it must be shortened to stay within WeChat's 32 characters.
    """
    serial = f"{now.astimezone(CHINA_TIME):%y%m%d%H%M%S}{secrets.token_hex(3)}"
    room = OUT_TRADE_NO_MAX - len(business_type) - len(serial) - 2
    segment = "".join(c for c in hospital_id if c.isascii() and c.isalnum()).upper()[-room:] if room > 0 else ""
    return f"{business_type}-{segment}-{serial}" if segment else f"{business_type}-{serial}"


class OrderNames(HisRequest):
    """Whom an order names: the calls its saga makes once paid (outside any request, so under no guard)
    carry them, so the request that creates the order must be allowed to name them now."""

    medical_card_number: str = Field(alias="medicalCardNumber")
    id_card: str | None = Field(default=None, alias="idCard")


async def _check_order_names(flow: str, medical_card_number: str, quote: Quote) -> None:
    """Run the request's guard (his_clients/guard.py) on the card and every ID number the order will send.

    The quote calls made while creating an order are checked as they go out; this covers what only the
    saga sends later (25.1.1's idCard, typed by the caller and sent after payment): the quote's
    ``id_numbers()``. Refused: the guard's NotFound (20215), and no order is written.
    """
    named: list[str | None] = [*quote.id_numbers()] or [None]
    for id_card in named:
        await guard.check(f"order:{flow}", OrderNames(medical_card_number=medical_card_number, id_card=id_card))


async def _naming_hospital(hospital_id: str, pricing: Awaitable[T]) -> T:
    """Price an order; a refusal on the way names the hospital asked (Refusal.hospitalId)."""
    try:
        return await pricing
    except PaymentRefused as refused:
        refused.naming(hospital_id)
        raise


class PaymentService:
    """The payment flows' entry points, shared by GraphQL mutations and the provider's notification shim.

    A plain class over the store, the hospitals' client and the payment provider. Each create_* asks the
    hospital for the price through its flow's pricing function (entry_bills, entry_registration,
    entry_bookings, entry_online, entry_insurance), then writes the order here (``_write``): the order,
    its typed quote (services.payments.quotes) and, unless nothing is paid online, the provider's prepay.
    Refund requests (entry_after_sale) and the hospitals' own refunds (hospital_refunds) are module
    functions over the same store; recording the provider's payment, cancelling and reading live here.
    """

    def __init__(
        self,
        *,
        db: Database,
        his: HisClient,
        provider: PaymentProvider,
        clock: Clock | None = None,
        notify_url: str = "",
        his_timeout_s: float = 5.0,
        medical_record_tariff: MedicalRecordTariff = MEDICAL_RECORD_TARIFF,
        hospital_refund_timeout_s: float = 5.0,
    ) -> None:
        self._db = db
        self._medical_record_tariff = medical_record_tariff
        self._his = his
        self._provider = provider
        self._clock = clock or SystemClock()
        self._notify_url = notify_url
        self._ask = HospitalAsk(his, his_timeout_s)
        """How each entry point asks a hospital (``his_timeout_s`` per call, retries included)."""
        self.hospital_refund_timeout_s = hospital_refund_timeout_s
        """How long a hospital's refund call waits for the provider before answering 10002."""

    # -- paying what the hospital bills or holds (entry_bills) ---------------------------------------

    async def create_outpatient_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
        unified_pay_amount: Decimal = ZERO,
        unified_pay_trade_no: str | None = None,
    ) -> CreatedOrder:
        """An order for the bill 3.1.1 quotes now (entry_bills.outpatient_order); 3.1.2 follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            bills.outpatient_order(
                self._ask,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                id_card=id_card,
                balance_payment=balance_payment,
                unified_pay_amount=unified_pay_amount,
                unified_pay_trade_no=unified_pay_trade_no,
            ),
        )
        return await self._write(priced, payer_openid)

    async def create_recharge_order(
        self, *, hospital_id: str, medical_card_number: str, amount: Decimal, payer_openid: str | None = None
    ) -> CreatedOrder:
        """An order to put ``amount`` yuan on the card (entry_bills.recharge_order); 7.1.2 follows payment."""
        priced = bills.recharge_order(hospital_id=hospital_id, medical_card_number=medical_card_number, amount=amount)
        return await self._write(priced, payer_openid)

    async def create_deposit_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        patient_name: str,
        admission_number: str | None,
        amount: Decimal,
        id_card: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An inpatient deposit within the stay's limits (entry_bills.deposit_order); 10.1.2 follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            bills.deposit_order(
                self._ask,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                patient_name=patient_name,
                admission_number=admission_number,
                amount=amount,
                id_card=id_card,
            ),
        )
        return await self._write(priced, payer_openid)

    async def create_admission_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """What the admission application asks (entry_bills.admission_order); 36.1.2 follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            bills.admission_order(
                self._ask, hospital_id=hospital_id, medical_card_number=medical_card_number, id_card=id_card
            ),
        )
        return await self._write(priced, payer_openid)

    # -- registration (entry_registration) ---------------------------------------------------------

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
        shown_fee: Decimal | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """Today's registration at this patient's price (entry_registration.today_registration_order); 20.1.7
        follows payment. ``shown_fee`` that is not that price refuses the order (60202)."""
        priced = await _naming_hospital(
            hospital_id,
            registration.today_registration_order(
                self._ask,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                patient_name=patient_name,
                department_id=department_id,
                reg_class_id=reg_class_id,
                doctor_id=doctor_id,
                id_card=id_card,
                sequence=sequence,
                serial_number=serial_number,
                register_time=register_time,
                am_pm=am_pm,
                time_code=time_code,
                balance_payment=balance_payment,
                shown_fee=shown_fee,
                registration_date=f"{self._clock.now().astimezone(CHINA_TIME):%Y-%m-%d}",
            ),
        )
        return await self._write(priced, payer_openid)

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
        shown_fee: Decimal | None = None,
        end_time: str | None = None,
        his_time_id: str | None = None,
        serial_number: int | None = None,
        id_type: str = "01",
        id_card: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """Book the slot (21.2.2) at the hospital's price (entry_registration.appointment_order), then the
        order; 21.2.4 follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            registration.appointment_order(
                self._ask,
                self._db,
                hospital_id=hospital_id,
                hos_code=hos_code,
                medical_card_number=medical_card_number,
                patient_name=patient_name,
                patient_id=patient_id,
                patient_phone=patient_phone,
                dept_code=dept_code,
                doc_code=doc_code,
                date=date,
                am_pm=am_pm,
                start_time=start_time,
                shown_fee=shown_fee,
                end_time=end_time,
                his_time_id=his_time_id,
                serial_number=serial_number,
                id_type=id_type,
                id_card=id_card,
                balance_payment=balance_payment,
            ),
        )
        return await self._write(priced, payer_openid)

    # -- bookings of exams and items (entry_bookings) ----------------------------------------------

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
        """Exam packages at 28.1.1's acPrice (entry_bookings.physical_exam_order); 28.1.6 follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            bookings.physical_exam_order(
                self._ask,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                id_card=id_card,
                name=name,
                sex=sex,
                package_ids=package_ids,
                date=date,
                tel_no=tel_no,
                profession_code=profession_code,
                org_id=org_id,
                group_id=group_id,
            ),
        )
        return await self._write(priced, payer_openid)

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
        """Lock the slot (33.1.3) at 33.1.1's price (entry_bookings.lab_order); 33.1.4 follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            bookings.lab_order(
                self._ask,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                patient_name=patient_name,
                sex=sex,
                telephone=telephone,
                project_id=project_id,
                scheduling_id=scheduling_id,
                source_id=source_id,
                id_card=id_card,
            ),
        )
        return await self._write(priced, payer_openid)

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
        """Self-chosen items at 29.1.1's prices on a date 29.1.2 offers (entry_bookings.self_order); 29.1.3
        follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            bookings.self_order(
                self._ask,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                groups=groups,
                appointment_date=appointment_date,
                patient_name=patient_name,
                id_card=id_card,
                balance_payment=balance_payment,
            ),
        )
        return await self._write(priced, payer_openid)

    # -- the internet hospital (entry_online) -------------------------------------------------------

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
        """What the online doctor prescribed at 25.1.6's prices (entry_online.consultation_order); 25.1.1
        follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            online.consultation_order(
                self._ask,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                patient_name=patient_name,
                gender=gender,
                phone=phone,
                id_card=id_card,
                birthday=birthday,
                diagnose_code=diagnose_code,
                diagnose_name=diagnose_name,
                bill_doc_hospital=bill_doc_hospital,
                bill_doc_name=bill_doc_name,
                bill_doc_code=bill_doc_code,
                charges=charges,
                description=description,
                consult_code=consult_code,
                code=code,
            ),
        )
        return await self._write(priced, payer_openid)

    async def create_medical_record_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        patient_name: str,
        apply_id: str,
        print_number: int,
        admission_number: str,
        mailed: bool = True,
        id_card: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """Copies of one stay's record at the platform's tariff (entry_online.medical_record_order); 27.1.2
        follows payment."""
        priced = await _naming_hospital(
            hospital_id,
            online.medical_record_order(
                self._ask,
                self._medical_record_tariff,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                patient_name=patient_name,
                apply_id=apply_id,
                print_number=print_number,
                admission_number=admission_number,
                mailed=mailed,
                id_card=id_card,
            ),
        )
        return await self._write(priced, payer_openid)

    # -- online medical insurance (entry_insurance) ----------------------------------------------

    async def create_insurance_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        detail_ids: list[str] | None = None,
        id_card: str | None = None,
        phone_no: str | None = None,
        social_card_no: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> InsuranceOrderCreated:
        """The self-pay part of these bills once the insurer settled (entry_insurance.insurance_order)."""
        priced, settlement = await _naming_hospital(
            hospital_id,
            insurance.insurance_order(
                self._ask,
                self._db,
                self._provider,
                self._clock,
                hospital_id=hospital_id,
                medical_card_number=medical_card_number,
                detail_ids=detail_ids,
                id_card=id_card,
                phone_no=phone_no,
                social_card_no=social_card_no,
                balance_payment=balance_payment,
            ),
        )
        return InsuranceOrderCreated(await self._write(priced, payer_openid), settlement)

    # -- refunds the patient asks for (entry_after_sale) -------------------------------------------

    async def request_card_refund(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        amount: Decimal | None = None,
        id_card: str | None = None,
    ) -> CardRefundRequested:
        """Card balance back (chapter 8): ``amount`` yuan or all 8.1.1 calls refundable (entry_after_sale)."""
        return await after_sale.request_card_refund(
            self._ask,
            self._db,
            self._clock,
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            amount=amount,
            id_card=id_card,
        )

    async def request_cancel(self, out_trade_no: str) -> RefundSummary:
        """The patient cancels a paid booking: the hospital cancels, then the refund (entry_after_sale)."""
        return await after_sale.request_cancel(self._db, self._clock, out_trade_no)

    async def refunds(self, out_trade_no: str) -> list[RefundSummary]:
        """Every refund of the order, oldest first."""
        return await after_sale.refunds(self._db, out_trade_no)

    async def refund(self, out_refund_no: str) -> RefundSummary | None:
        return await after_sale.refund(self._db, out_refund_no)

    # -- refunds the hospital starts (hospital_refunds) ---------------------------------------------

    async def hospital_refund_kind(self, out_trade_no: str) -> HospitalRefundKind:
        """9.1.1 for a recharge order, 13.2.1 otherwise."""
        return await hospital_refunds.hospital_refund_kind(self._db, out_trade_no)

    async def refund_for_hospital(
        self,
        *,
        kind: HospitalRefundKind,
        hospitals: Collection[str],
        out_trade_no: str,
        his_refund_no: str,
        amount: Decimal,
        medical_card_number: str | None = None,
        unified_amount: Decimal = ZERO,
        unified_trade_no: str | None = None,
    ) -> HospitalRefund:
        """Refund ``amount`` of the order for the hospital, once per its refund number (hospital_refunds)."""
        return await hospital_refunds.refund_for_hospital(
            self._db,
            self._provider,
            self._clock,
            timeout_s=self.hospital_refund_timeout_s,
            kind=kind,
            hospitals=hospitals,
            out_trade_no=out_trade_no,
            his_refund_no=his_refund_no,
            amount=amount,
            medical_card_number=medical_card_number,
            unified_amount=unified_amount,
            unified_trade_no=unified_trade_no,
        )

    async def hospital_refund_state(
        self, *, hospitals: Collection[str], out_trade_no: str, his_refund_no: str, amount: Decimal
    ) -> HospitalRefund | None:
        """9.1.2: the refund the hospital made under this number for this order; None when there is none."""
        return await hospital_refunds.hospital_refund_state(
            self._db, hospitals=hospitals, out_trade_no=out_trade_no, his_refund_no=his_refund_no, amount=amount
        )

    # -- the order itself ----------------------------------------------------------------------------

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
                now = self._clock.now()
                await orders.transition(order, OrderState.CANCELLED, reason="cancelled by the payer", at=now)
                if releases(FLOWS[order.flow]) is not None:
                    await OutboxRepository(session).enqueue(
                        kind=RELEASE_HELD, dedupe_key=f"{RELEASE_HELD}:{order.out_trade_no}", order_id=order.id, at=now
                    )
            return OrderSummary.of(order)

    async def get(self, out_trade_no: str) -> OrderSummary | None:
        async with self._db.session() as session:
            order = await OrderRepository(session).get(out_trade_no)
            return None if order is None else OrderSummary.of(order)

    async def _write(self, priced: PricedOrder, payer_openid: str | None) -> CreatedOrder:
        """Commit the priced order (its quote as its flow's JSON), then ask the provider to prepay."""
        quote = priced.quote
        flow = quote.FLOW
        assert flow in FLOWS
        await _check_order_names(flow, priced.medical_card_number, quote)
        total, balance_payment, unified_pay_amount = priced.total, priced.balance_payment, priced.unified_pay_amount
        hospital_id, description = priced.hospital_id, priced.description
        online = total - balance_payment - unified_pay_amount
        check_amounts(
            total=total, balance_payment=balance_payment, unified_pay_amount=unified_pay_amount, online=online
        )
        now = self._clock.now()
        order = Order(
            out_trade_no=new_out_trade_no(priced.business_type, now, hospital_id),
            business_type=priced.business_type,
            flow=flow,
            hospital_id=hospital_id,
            medical_card_number=priced.medical_card_number,
            description=description,
            total_amount=total,
            discount_amount=priced.discount,
            balance_payment=balance_payment,
            unified_pay_amount=unified_pay_amount,
            unified_pay_trade_no=priced.unified_pay_trade_no,
            online_amount=online,
            quote=quote.stored(),
            provider=self._provider.name,
        )
        async with self._db.session() as session:
            orders = OrderRepository(session)
            await orders.add(order, at=now)
            if releases(FLOWS[flow]) is not None:
                # The order holds something at the hospital (a booked slot, a settlement): released unless paid.
                await OutboxRepository(session).enqueue(
                    kind=EXPIRE_UNPAID,
                    dedupe_key=f"{EXPIRE_UNPAID}:{order.out_trade_no}",
                    order_id=order.id,
                    at=now,
                    due_at=now + PAYMENT_EXPIRES_AFTER + EXPIRY_GRACE,
                )
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
