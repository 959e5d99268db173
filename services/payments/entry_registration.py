"""Entry points for paid registration: today's registration (chapter 20) and appointments (chapter 21)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from his_clients.errors import HisError
from his_clients.models.registration_appointment import APPOINTMENT_INFO, AppointmentInfoRequest
from his_clients.models.registration_today import TODAY_REGISTER_GET_DOCTORS, TodayRegisterGetDoctorsRequest

from .clock import CHINA_TIME
from .entry_base import PaymentServiceParts
from .results import ZERO, CreatedOrder, QuoteUnavailable
from .sagas.registration_appointment import AppointmentRegistrationFlow
from .sagas.registration_today import TodayRegistrationFlow


class RegistrationEntries(PaymentServiceParts):
    """PaymentService's create_* for today's registration (20.1.7) and appointment registration (21.2.4)."""

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
