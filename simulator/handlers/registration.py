"""Same-day registration (20.1.x) and appointment registration (21.2.x) against real slot counts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from simulator.data import examples
from simulator.data.build import stable_int
from simulator.data.model import Department, Doctor, Hospital, Patient, Slot, Trade
from simulator.envelope import (
    DOCTOR_UNKNOWN,
    NOT_FOUND,
    REGISTRATION_AMOUNT_MISMATCH,
    REGISTRATION_UNKNOWN,
    SLOTS_FULL,
    Rejected,
    Reply,
    ok,
)
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money

_HALF_DAYS = {"a": (8, "AM"), "am": (8, "AM"), "p": (14, "PM"), "pm": (14, "PM"), "n": (18, "NIGHT")}

# Departments whose own desk takes same-day registrations beside their doctors: 20.1.2 lists the desk's
# schedule with no doctorId, which the spec (chapter 20) calls registration to the department.
DEPARTMENT_DESKS = frozenset({"pfk", "xek"})
_DESK_FEE = Decimal("5")


def _desk(dept: Department) -> Doctor:
    """The department's own schedule, kept like a doctor's (slots, registrations) under an internal id."""
    return Doctor(
        f"{dept.dept_id}-desk", "", dept.dept_id, dept.name, dept.addr, "", f"{dept.dept_id}-K", "普通号", _DESK_FEE
    )


def _desk_of(hospital: Hospital, dept_id: str) -> Doctor | None:
    if dept_id not in DEPARTMENT_DESKS:
        return None
    dept = next((d for d in hospital.departments if d.dept_id == dept_id), None)
    return _desk(dept) if dept is not None else None


def _doctor_by_id(hospital: Hospital, doctor_id: str) -> Doctor:
    if doctor_id.endswith("-desk"):
        desk = _desk_of(hospital, doctor_id.removesuffix("-desk"))
        if desk is not None:
            return desk
    return hospital.doctors[doctor_id]


def _make_slots(hospital: Hospital, doctor: Doctor, key: str, am_pm: str) -> list[Slot]:
    start_hour, _ = _HALF_DAYS.get(am_pm.lower(), (8, "AM"))
    capacity = 1 + stable_int(hospital.hospital_id, doctor.doctor_id, key) % 3
    slots = []
    for index in range(8):
        minutes = start_hour * 60 + index * 15
        start, end = f"{minutes // 60:02d}:{minutes % 60:02d}", f"{(minutes + 15) // 60:02d}:{(minutes + 15) % 60:02d}"
        slots.append(Slot(str(index + 1 + (8 if start_hour >= 14 else 0)), start, end, am_pm, capacity, capacity))
    return slots


def _doctor(ctx: CallContext, *, doctor_key: str, dept_key: str) -> Doctor:
    doctor_id, dept_id = ctx.body.text(doctor_key), ctx.body.text(dept_key)
    doctor = ctx.hospital.doctors.get(doctor_id) if doctor_id else None
    if doctor is None and not doctor_id:
        doctor = _desk_of(ctx.hospital, dept_id)
    if doctor is None and not doctor_id:
        doctor = next((d for d in ctx.hospital.doctors.values() if d.dept_id == dept_id), None)
    if doctor is None:
        raise Rejected(DOCTOR_UNKNOWN)
    return doctor


def _today_slots(ctx: CallContext, doctor: Doctor) -> list[Slot]:
    hospital = ctx.hospital
    if doctor.doctor_id not in hospital.today_slots:
        hospital.today_slots[doctor.doctor_id] = _make_slots(hospital, doctor, "today", "a") + _make_slots(
            hospital, doctor, "today", "p"
        )
    return hospital.today_slots[doctor.doctor_id]


def _booking_slots(ctx: CallContext, doctor: Doctor, day: str, am_pm: str) -> list[Slot]:
    key = (doctor.doctor_id, day, am_pm.upper())
    if key not in ctx.hospital.booking_slots:
        ctx.hospital.booking_slots[key] = _make_slots(ctx.hospital, doctor, day, am_pm)
    return ctx.hospital.booking_slots[key]


@handles("hospital.interface.todayRegisterGetDepts")
def today_departments(ctx: CallContext) -> Reply:
    groups: dict[str, dict[str, Any]] = {}
    for dept in ctx.hospital.departments:
        group = groups.setdefault(
            dept.type_id,
            {"deptTypeId": dept.type_id, "deptTypeName": dept.type_name, "deptAddr": dept.addr, "dept": []},
        )
        group["dept"].append({"departmentName": dept.name, "departmentId": dept.dept_id, "deptAddr": dept.addr})
    return ok(list(groups.values()))


@handles("hospital.interface.todayRegisterGetDoctors")
def today_doctors(ctx: CallContext) -> Reply:
    dept_id = ctx.body.text("departmentId")
    doctors = [d for d in ctx.hospital.doctors.values() if d.dept_id == dept_id]
    if not doctors:
        raise Rejected(NOT_FOUND, f"科室今日无排班: {dept_id}")
    rows = [
        {
            "departmentId": d.dept_id,
            "departmentName": d.dept_name,
            "deptAddr": d.dept_addr,
            "doctorId": d.doctor_id,
            "doctorName": d.name,
            "registrationFee": money(d.fee),
            "regClassId": d.reg_class_id,
            "regClassName": d.reg_class_name,
            "freePatCount": str(sum(s.remaining for s in _today_slots(ctx, d))),
            "professional": d.title,
            "introduce": f"{d.name}，{d.title}，从事{d.dept_name}临床工作多年。",
            "expertIn": f"{d.dept_name}常见病、多发病的诊治",
            "doctorPic": f"https://his.example.com/{ctx.hospital.hospital_id}/doctor/{d.doctor_id}.png",
            "scheduleType": "2",
        }
        for d in doctors
    ]
    desk = _desk_of(ctx.hospital, dept_id)
    if desk is not None:
        rows.append(
            {
                "departmentId": desk.dept_id,
                "departmentName": desk.dept_name,
                "deptAddr": desk.dept_addr,
                "registrationFee": money(desk.fee),
                "regClassId": desk.reg_class_id,
                "regClassName": desk.reg_class_name,
                "freePatCount": str(sum(s.remaining for s in _today_slots(ctx, desk))),
                "scheduleType": "2",
            }
        )
    return ok(rows)


@handles("hospital.interface.todayRegisterGetRemain")
def today_remaining(ctx: CallContext) -> Reply:
    doctor = _doctor(ctx, doctor_key="doctorId", dept_key="departmentId")
    rows = [
        {
            "startTime": s.start,
            "endTime": s.end,
            "appNum": str(s.remaining),
            "sequence": s.slot_id.zfill(4),
            "amPm": s.am_pm,
            "serialNumber": int(s.slot_id),
            "timeCode": f"{doctor.doctor_id}{s.slot_id.zfill(2)}",
        }
        for s in _today_slots(ctx, doctor)
        if s.remaining > 0
    ]
    return ok(rows)


@handles("hospital.interface.todayRegisterCounts")
def today_counts(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    today = ctx.now.date().isoformat()
    count = sum(
        1
        for r in ctx.hospital.registrations.values()
        if r["card"] in patient.cards and r["date"] == today and not r["cancelled"]
    )
    return ok(count)


def _take(slots: list[Slot], wanted: str) -> Slot:
    chosen = None
    if wanted:
        chosen = next((s for s in slots if s.slot_id == wanted.lstrip("0") or s.slot_id == wanted), None)
    if chosen is None or chosen.remaining <= 0:
        chosen = next((s for s in slots if s.remaining > 0), None)
    if chosen is None:
        raise Rejected(SLOTS_FULL)
    chosen.remaining -= 1
    return chosen


FREE_FROM_AGE = 65
"""20.1.6 in this simulator: patients aged 65 or more register free (0为免费号), as some cities' policies have it."""


def fee_for_patient(ctx: CallContext, doctor: Doctor, patient: Patient) -> Decimal:
    """What this patient pays for a registration with this doctor today (20.1.6 优惠后的价格)."""
    return Decimal("0") if patient.age(on=ctx.now.date()) >= FREE_FROM_AGE else doctor.fee


SURCHARGES = {"3312": Decimal("5")}
"""21.2.5 in this simulator, by doctor: the spec's example asks about docCode 3312 (张仲景, 骨科 2312) and answers
"surcharge": 5, so that doctor carries 5.00 on top of the fee; every other doctor none ("不需要附加返回0")."""


def surcharge_for_patient(doctor: Doctor, patient: Patient) -> Decimal:
    """21.2.5 in this simulator: the doctor's surcharge (SURCHARGES), the same for every patient."""
    return SURCHARGES.get(doctor.doctor_id, Decimal("0"))


def _check_fee(expected: Decimal, *parts: str) -> None:
    """The parts paid (online, card balance, unified platform) must add up to the hospital's price (60202)."""
    try:
        amount = sum((Decimal(part or "0") for part in parts), Decimal("0"))
    except InvalidOperation:
        raise Rejected("20003", "挂号金额格式错误") from None
    if amount != expected:
        raise Rejected(REGISTRATION_AMOUNT_MISMATCH, f"挂号金额{money(amount)}与院内金额{money(expected)}不一致")


def _priced_doctor(ctx: CallContext, *, doctor_key: str, dept_key: str) -> Doctor:
    """The doctor asked about; the spec's examples name placeholders (科室编码, 医生编码), priced as the
    example's own doctor (511 华佗) so that the example request is answered as the spec shows it."""
    try:
        return _doctor(ctx, doctor_key=doctor_key, dept_key=dept_key)
    except Rejected:
        doctor = ctx.hospital.doctors.get("511") or next(iter(ctx.hospital.doctors.values()), None)
        if doctor is None:
            raise
        return doctor


@handles("hospital.interface.todayRegisterGetDiscount")
def today_discount(ctx: CallContext) -> Reply:
    """20.1.6: the price after discounts for this patient, a bare amount as the spec's example ("data": "0")."""
    patient = ctx.patient()
    doctor = _priced_doctor(ctx, doctor_key="doctorId", dept_key="departmentId")
    return ok(money(fee_for_patient(ctx, doctor, patient)))


@handles("hospital.interface.querySurcharge")
def appointment_surcharge(ctx: CallContext) -> Reply:
    """21.2.5: the patient's surcharge on an appointment with this doctor."""
    patient = ctx.patient()
    doctor = _priced_doctor(ctx, doctor_key="docCode", dept_key="deptCode")
    return ok({"surcharge": money(surcharge_for_patient(doctor, patient))})


@handles("hospital.interface.todayRegisterToRegister")
def register_today(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    register_id = ctx.body.text("todayRegisterId")
    existing = ctx.hospital.registrations.get(register_id)
    if existing is not None and not existing["cancelled"]:
        return ok({"hisRegistrationId": existing["hisRegistrationId"], "invoiceId": existing["invoiceId"]})

    def apply() -> Reply:
        doctor = _doctor(ctx, doctor_key="doctorId", dept_key="departmentId")
        # registrationFee is "挂号费(线上支付金额)" (20.1.7's table): with the card-balance and unified parts it
        # makes up the patient's price (20.1.6). The trade 14.2.x answers for this payId is the online part.
        _check_fee(
            fee_for_patient(ctx, doctor, patient),
            ctx.body.text("registrationFee"),
            ctx.body.text("balancePayment"),
            ctx.body.text("unifiedAmount"),
        )
        slot = _take(_today_slots(ctx, doctor), ctx.body.text("serialNumber") or ctx.body.text("sequence"))
        registration = _record(ctx, register_id, patient.card, doctor, slot, ctx.now.date().isoformat())
        _paid(ctx, registration, ctx.amount("registrationFee"), "当日挂号", patient.name)
        return ok({"hisRegistrationId": registration["hisRegistrationId"], "invoiceId": registration["invoiceId"]})

    return ctx.once(ctx.body.text("payId") or register_id, apply)


def _paid(ctx: CallContext, registration: dict[str, Any], online: Decimal, body: str, name: str) -> None:
    """Record the registration's payment as a trade (14.2.x), under the platform's payId."""
    pay_id = ctx.body.text("payId")
    registration.update({"paid": True, "payId": pay_id, "online": online, "payType": ctx.body.text("payType")})
    ctx.hospital.trades.append(
        Trade(pay_id, "", online, ctx.now, ctx.body.text("payType"), body, name, registration["card"], "registration")
    )


def _refunded(ctx: CallContext, registration: dict[str, Any], refund_no: str, body: str) -> None:
    """A paid registration cancelled: its whole online payment goes back, recorded under the refund voucher."""
    if not registration.get("paid") or not registration.get("payId"):
        return
    patient = ctx.hospital.by_card.get(registration["card"])
    ctx.hospital.trades.append(
        Trade(
            registration["payId"],
            refund_no,
            -registration["online"],
            ctx.now,
            registration["payType"],
            body,
            patient.name if patient is not None else "",
            registration["card"],
            "registration",
        )
    )


def _record(ctx: CallContext, key: str, card: str, doctor: Doctor, slot: Slot, day: str) -> dict[str, Any]:
    registration = {
        "hisRegistrationId": ctx.hospital.next_id("GH"),
        "invoiceId": ctx.hospital.next_id("FP"),
        "card": card,
        "doctorId": doctor.doctor_id,
        "slot": slot,
        "date": day,
        "cancelled": False,
        "queue": slot.capacity - slot.remaining + int(slot.slot_id) * 3,
    }
    ctx.hospital.registrations[key] = registration
    return registration


@handles("hospital.interface.todayRegisterCancleRegister")
def cancel_today(ctx: CallContext) -> Reply:
    register_id = ctx.body.text("todayRegisterId")
    registration = ctx.hospital.registrations.get(register_id)
    if registration is None or registration["hisRegistrationId"] != ctx.body.text("hisRegistrationId"):
        raise Rejected(REGISTRATION_UNKNOWN)

    def apply() -> Reply:
        registration["cancelled"] = True
        registration["slot"].remaining += 1
        refund_no = ctx.hospital.next_id("TH")
        _refunded(ctx, registration, refund_no, "当日挂号退号")
        return ok({"newInvoiceId": ctx.hospital.next_id("FP"), "refundNo": refund_no})

    return ctx.once(f"cancel:{registration['hisRegistrationId']}", apply)


@handles("hospital.interface.todayRegisterQueuingInfo")
def today_queue(ctx: CallContext) -> Reply:
    ctx.patient()
    registration = ctx.hospital.registrations.get(ctx.body.text("todayRegisterId"))
    if registration is None or registration["cancelled"]:
        raise Rejected(REGISTRATION_UNKNOWN)
    doctor = _doctor_by_id(ctx.hospital, registration["doctorId"])
    queue = int(registration["queue"])
    return ok(
        {
            "queueNumber": f"A{queue:02d}",
            "currentOrderNumber": str(max(1, queue - 8)),
            "roomName": f"{doctor.dept_name}一诊室（{doctor.dept_addr}）",
        }
    )


@handles("hospital.interface.remainApp")
def remaining_for_booking(ctx: CallContext) -> Reply:
    doctor = _doctor(ctx, doctor_key="docCode", dept_key="deptCode")
    slots = _booking_slots(ctx, doctor, ctx.body.text("scheduleDate"), ctx.body.text("amPm") or "AM")
    rows = [
        {
            "startTime": s.start,
            "endTime": s.end,
            "upLimit": str(s.capacity),
            "appNum": str(s.capacity - s.remaining),
            "serialNumber": int(s.slot_id),
            "hisTimeId": s.slot_id,
        }
        for s in slots
    ]
    return ok(rows)


def _book(ctx: CallContext, record_id: str, card: str, day: str) -> dict[str, Any]:
    doctor = _doctor(ctx, doctor_key="docCode", dept_key="deptCode")
    slots = _booking_slots(ctx, doctor, day, ctx.body.text("amPm") or "AM")
    wanted = ctx.body.text("hisTimeId") or next((s.slot_id for s in slots if s.start == ctx.body.text("startTime")), "")
    return _record(ctx, record_id, card, doctor, _take(slots, wanted), day)


@handles("hospital.interface.appointmentInfo")
def book_appointment(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    record_id = ctx.body.text("recordId")
    existing = ctx.hospital.registrations.get(record_id)
    if existing is not None and not existing["cancelled"]:
        return ok({"appointmentCode": existing["hisRegistrationId"], "sn": str(existing["queue"]).zfill(3)}, msg="")

    def apply() -> Reply:
        registration = _book(ctx, record_id, patient.card, ctx.body.text("date"))
        return ok(
            {"appointmentCode": registration["hisRegistrationId"], "sn": str(registration["queue"]).zfill(3)}, msg=""
        )

    return ctx.once(record_id, apply)


@handles("hospital.interface.cancelAppointment")
def cancel_appointment(ctx: CallContext) -> Reply:
    """21.2.3 puts refundNo at top level beside success/msg/code, as its example does."""
    record_id = ctx.body.text("recordId")
    registration = ctx.hospital.registrations.get(record_id)
    if registration is None:
        raise Rejected(REGISTRATION_UNKNOWN)

    def apply() -> Reply:
        registration["cancelled"] = True
        registration["slot"].remaining += 1
        refund_no = ctx.hospital.next_id("TH")
        _refunded(ctx, registration, refund_no, "预约挂号退号")
        return {"success": True, "msg": "", "code": "10001", "refundNo": refund_no}

    return ctx.once(f"cancel:{record_id}", apply)


@handles("hospital.interface.yyghRegister")
def pay_appointment(ctx: CallContext) -> Reply:
    """挂号支付: pays a booked appointment, booking the slot first where none is held."""
    patient = ctx.patient()
    record_id = ctx.body.text("recordId")

    def apply() -> Reply:
        doctor = _doctor(ctx, doctor_key="docCode", dept_key="deptCode")
        # arAmt is "挂号费(减去卡余额支付金额后的金额)" (21.2.4's table): with balancePay it makes up the fee plus
        # the patient's surcharge. The spec's own example (arAmt 12 beside balancePay 1 and surcharge 5, for
        # 3312's 12.00 fee and 21.2.5's 5) reads arAmt as the whole fee and sends the surcharge beside it (a
        # field its table lacks): this hospital accepts each reading, with or without balancePay, with or
        # without a surcharge sent apart, and refuses an amount that fits none (60202).
        price = doctor.fee + surcharge_for_patient(doctor, patient)
        ar_amt, balance_pay, surcharge = (ctx.body.text(key) for key in ("arAmt", "balancePay", "surcharge"))
        readings = [(ar_amt,), (ar_amt, balance_pay)]
        if surcharge:
            readings += [(ar_amt, surcharge), (ar_amt, balance_pay, surcharge)]
        for reading in readings[:-1]:
            try:
                _check_fee(price, *reading)
                break
            except Rejected:
                continue
        else:
            _check_fee(price, *readings[-1])
        registration = ctx.hospital.registrations.get(record_id)
        if registration is None or registration["cancelled"]:
            registration = _book(ctx, record_id, patient.card, ctx.body.text("scheduleDate"))
        # arAmt is the fee less the card-balance part (21.2.4); less the unified platform's part, it was paid online.
        online = ctx.amount("arAmt") - ctx.amount("unifiedAmount")
        _paid(ctx, registration, online, "预约挂号", patient.name)
        return ok({"hisRegistrationId": registration["hisRegistrationId"], "invoiceId": registration["invoiceId"]})

    return ctx.once(ctx.body.text("payId") or record_id, apply)


def seed_registrations(hospital: Hospital) -> None:
    """The registrations the examples cancel or ask about (20.1.8, 20.1.9, 21.2.3)."""
    patient = hospital.by_card[examples.ZHANG_SAN.cards[0]]
    doctor = hospital.doctors["511"]
    hospital.today_slots[doctor.doctor_id] = _make_slots(hospital, doctor, "today", "a") + _make_slots(
        hospital, doctor, "today", "p"
    )
    slot = hospital.today_slots[doctor.doctor_id][0]
    slot.remaining -= 1
    hospital.registrations[examples.TODAY_REGISTER_ID] = {
        "hisRegistrationId": examples.HIS_REGISTRATION_ID,
        "invoiceId": "3701384",
        "card": patient.card,
        "doctorId": doctor.doctor_id,
        "slot": slot,
        "date": "",
        "cancelled": False,
        "queue": 12,
    }
    booked = Slot("16", "10:15", "10:30", "AM", 1, 0)
    hospital.booking_slots[("256654", "20190526", "AM")] = [booked]
    hospital.registrations[examples.APPOINTMENT_RECORD_ID] = {
        "hisRegistrationId": "101",
        "invoiceId": "",
        "card": patient.card,
        "doctorId": "256654",
        "slot": booked,
        "date": "20190526",
        "cancelled": False,
        "queue": 1,
    }
