"""Pricing paid registration: today's registration (chapter 20) and appointments (chapter 21), for PaymentService."""

from __future__ import annotations

import uuid
from decimal import Decimal

from his_clients.errors import HisError, HisNoData, HisNotOpened
from his_clients.models.registration_appointment import (
    APPOINTMENT_INFO,
    QUERY_SURCHARGE,
    AppointmentInfoRequest,
    QuerySurchargeRequest,
)
from his_clients.models.registration_today import (
    TODAY_REGISTER_GET_DISCOUNT,
    TODAY_REGISTER_GET_DOCTORS,
    TodayRegisterGetDiscountRequest,
    TodayRegisterGetDoctorsRequest,
)
from services.refusals import RefusalCode
from services.registration_uploads import SCHEDULE, STOP, schedule_key
from store.db import Database
from store.uploads import HospitalUploads

from .entry_base import HospitalAsk, PricedOrder
from .quotes import AppointmentRegistrationQuote, TodayRegistrationQuote
from .results import CENT, LARGEST, ZERO, AmountRefused, QuoteUnavailable, require_part
from .sagas.registration_appointment import AppointmentRegistrationFlow
from .sagas.registration_today import TodayRegistrationFlow

PRICE_CHANGED = RefusalCode.REGISTRATION_FEE_MISMATCH
"""附四 60202 挂号金额与院内金额不一致: the fee the app showed is not the hospital's price for this patient."""


def _quoted(value: object, what: str) -> Decimal:
    """A price a hospital quoted, as two-place Decimal; QuoteUnavailable when it is not one."""
    try:
        price = Decimal(str(value).strip())
    except ArithmeticError:
        raise QuoteUnavailable(f"{what} quoted no price") from None
    if not price.is_finite() or price < 0 or price >= LARGEST or price.quantize(CENT) != price:
        raise QuoteUnavailable(f"{what} quoted no usable price")
    return price.quantize(CENT)


def _as_shown(price: Decimal, shown: Decimal | None) -> None:
    """What the app showed must be what is charged: a different shown fee refuses the order."""
    if shown is not None and shown != price:
        raise AmountRefused("挂号金额已变化，请刷新后重新确认", code=PRICE_CHANGED, field="shownFee")


async def today_registration_order(
    ask: HospitalAsk,
    *,
    hospital_id: str,
    medical_card_number: str,
    patient_name: str,
    department_id: str,
    reg_class_id: str,
    doctor_id: str | None,
    id_card: str | None,
    sequence: str | None,
    serial_number: str | None,
    register_time: str | None,
    am_pm: str | None,
    time_code: str | None,
    balance_payment: Decimal,
    shown_fee: Decimal | None,
    registration_date: str,
) -> PricedOrder:
    """An order for today's registration (20.1.7) at the price the hospital quotes for this patient now.

    The schedule row (20.1.2) is the one for the doctor (or the department's own desk when doctor_id is
    None) and the registration class asked; the price is what 20.1.6 answers for this patient ("返回优惠后
    实际应该收取的费用 … 0为免费号"), the schedule's fee only where the hospital has not opened 20.1.6 or
    has nothing to say (10002), exactly as feeForPatient shows it. `shown_fee`, the fee the app showed,
    refuses the order (60202) when it is not that price. The slot fields come from 20.1.3.
    """
    schedules = await ask.his.call(
        TODAY_REGISTER_GET_DOCTORS,
        hospital_id,
        TodayRegisterGetDoctorsRequest(department_id=department_id),
        deadline=ask.deadline(),
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
    schedule_fee = _quoted(schedule.registration_fee, "20.1.2")
    price = await _today_price_for_patient(
        ask,
        hospital_id,
        medical_card_number=medical_card_number,
        department_id=department_id,
        doctor_id=doctor_id,
        reg_class_id=reg_class_id,
        schedule_fee=schedule_fee,
    )
    _as_shown(price, shown_fee)
    balance_payment = require_part(balance_payment, total=price)
    snapshot = TodayRegistrationQuote(
        amount=price,
        schedule_fee=schedule_fee,
        today_register_id=uuid.uuid4().hex,
        department_id=department_id,
        department_name=schedule.department_name,
        doctor_id=doctor_id,
        doctor_name=schedule.doctor_name,
        reg_class_id=reg_class_id,
        reg_class_name=schedule.reg_class_name,
        schedule_type=schedule.schedule_type,
        patient_name=patient_name,
        id_card=id_card,
        registration_date=registration_date,
        sequence=sequence,
        serial_number=serial_number,
        register_time=register_time,
        am_pm=am_pm,
        time_code=time_code,
    )
    return PricedOrder(
        business_type=TodayRegistrationFlow.business_type,
        description="当日挂号",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=price,
        balance_payment=balance_payment,
        quote=snapshot,
    )


async def _today_price_for_patient(
    ask: HospitalAsk,
    hospital_id: str,
    *,
    medical_card_number: str,
    department_id: str,
    doctor_id: str | None,
    reg_class_id: str,
    schedule_fee: Decimal,
) -> Decimal:
    """20.1.6's price for this patient; the schedule's fee where 20.1.6 is not opened or answers 10002."""
    request = TodayRegisterGetDiscountRequest(
        medical_card_number=medical_card_number,
        department_id=department_id,
        doctor_id=doctor_id or None,
        op_type=reg_class_id,
    )
    try:
        answer = await ask.his.call(TODAY_REGISTER_GET_DISCOUNT, hospital_id, request, deadline=ask.deadline())
    except (HisNoData, HisNotOpened):
        return schedule_fee
    except HisError as error:
        raise QuoteUnavailable("20.1.6 gave no price", code=error.code) from error
    if answer is None:
        return schedule_fee
    return _quoted(answer, "20.1.6")


async def _appointment_price_for_patient(
    ask: HospitalAsk,
    db: Database,
    hospital_id: str,
    *,
    medical_card_number: str,
    patient_name: str,
    id_card: str | None,
    dept_code: str,
    doc_code: str,
    date: str,
    am_pm: str,
) -> tuple[Decimal, Decimal]:
    """The session's fee as the hospital uploaded it (21.1.4 arAmt) and this patient's surcharge (21.2.5).

    Chapter 21 has the hospital upload each half-day's schedule with its fee ("arAmt 挂号费用，保留小数点后
    2位（收费时必填）"); a session never uploaded, or stopped (21.1.5), has no price and is refused. The
    surcharge is 21.2.5's "附加费用，不需要附加返回0": 0 where the hospital has not opened it (10002 too).
    """
    key = schedule_key(date, am_pm, dept_code, doc_code)
    async with db.session() as session:
        uploads = HospitalUploads(session)
        schedule = await uploads.get(hospital_id=hospital_id, kind=SCHEDULE, natural_key=key)
        stop = await uploads.get(hospital_id=hospital_id, kind=STOP, natural_key=key)
    if schedule is None or schedule.deleted or not isinstance(schedule.payload, dict):
        raise QuoteUnavailable("医院未上传该时段的排班（21.1.4），无法确定挂号费", code="60002")
    if stop is not None and not stop.deleted:
        raise QuoteUnavailable("该时段已停诊", code="60206")
    fee_text = schedule.payload.get("arAmt")
    fee = ZERO if fee_text in (None, "") else _quoted(fee_text, "21.1.4")
    request = QuerySurchargeRequest(
        medical_card_number=medical_card_number,
        id_card=id_card,
        patient_name=patient_name,
        dept_code=dept_code,
        doc_code=doc_code,
        schedule_date=date,
        am_pm=am_pm,
    )
    try:
        answer = await ask.his.call(QUERY_SURCHARGE, hospital_id, request, deadline=ask.deadline())
    except (HisNoData, HisNotOpened):
        return fee, ZERO
    except HisError as error:
        raise QuoteUnavailable("21.2.5 gave no surcharge", code=error.code) from error
    surcharge = ZERO if answer is None else _quoted(answer.surcharge, "21.2.5")
    return fee, surcharge


async def appointment_order(
    ask: HospitalAsk,
    db: Database,
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
    shown_fee: Decimal | None,
    end_time: str | None,
    his_time_id: str | None,
    serial_number: int | None,
    id_type: str,
    id_card: str | None,
    balance_payment: Decimal,
) -> PricedOrder:
    """Book the slot with 21.2.2 (our recordId), then an order for the hospital's price; 21.2.4 follows.

    The price is never the caller's: it is the fee of the session the hospital uploaded (21.1.4 arAmt)
    plus this patient's surcharge (21.2.5), both read before anything is booked. `shown_fee`, the fee
    the app showed, refuses the order (60202) when it is not that price, before 21.2.2 is called.
    A refused booking raises QuoteUnavailable with the hospital's code; no order is written.
    """
    fee, surcharge = await _appointment_price_for_patient(
        ask,
        db,
        hospital_id,
        medical_card_number=medical_card_number,
        patient_name=patient_name,
        id_card=id_card,
        dept_code=dept_code,
        doc_code=doc_code,
        date=date,
        am_pm=am_pm,
    )
    price = fee + surcharge
    _as_shown(price, shown_fee)
    balance_payment = require_part(balance_payment, total=price)
    record_id = uuid.uuid4().hex
    booking = AppointmentInfoRequest(
        hos_code=hos_code,
        record_id=record_id,
        medical_card=medical_card_number,
        patient_name=patient_name,
        dept_code=dept_code,
        doc_code=doc_code,
        ar_amt=price,
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
        confirmation = await ask.his.call(APPOINTMENT_INFO, hospital_id, booking, deadline=ask.deadline())
    except HisError as error:
        raise QuoteUnavailable("21.2.2 refused the booking", code=error.code) from error
    snapshot = AppointmentRegistrationQuote(
        amount=price,
        schedule_fee=fee,
        surcharge=surcharge,
        record_id=record_id,
        hos_code=hos_code,
        appointment_code=confirmation.appointment_code,
        sn=confirmation.sn,
        patient_name=patient_name,
        patient_id=patient_id,
        patient_phone=patient_phone,
        id_type=id_type,
        id_card=id_card,
        dept_code=dept_code,
        doc_code=doc_code,
        date=date,
        am_pm=am_pm,
        start_time=start_time,
        end_time=end_time,
        his_time_id=his_time_id,
        serial_number=serial_number,
    )
    return PricedOrder(
        business_type=AppointmentRegistrationFlow.business_type,
        description="预约挂号",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=price,
        balance_payment=balance_payment,
        quote=snapshot,
    )
