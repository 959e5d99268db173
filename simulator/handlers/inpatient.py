"""Inpatient stays: status and deposits (10.x, 39.1.1), arrears and ward lists (11, 12), fees (18.1.2-5).

Long stays are settled part-way (中途结算): current totals count the days since the last
settlement, at most BILLING_PERIOD_DAYS; fee details for any day of the stay still answer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from simulator.data import vocab
from simulator.data.model import Deposit, Hospital, InpatientStay, Patient, Trade
from simulator.envelope import DISCHARGED, NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money, stamp
from simulator.handlers.template import render

ZERO = Decimal("0")
BILLING_PERIOD_DAYS = 20
DAILY_TOTAL = sum((price * quantity for _, _, price, quantity in vocab.DAILY_INPATIENT_ITEMS), ZERO)


def billing_days(stay: InpatientStay, today: date) -> list[date]:
    end = stay.discharged.date() if stay.discharged else today
    start = (
        stay.admitted.date()
        if stay.discharged
        else max(stay.admitted.date(), end - timedelta(days=BILLING_PERIOD_DAYS - 1))
    )
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def total_cost(stay: InpatientStay, today: date) -> Decimal:
    return DAILY_TOTAL * len(billing_days(stay, today))


def prepaid(stay: InpatientStay) -> Decimal:
    return sum((deposit.amount for deposit in stay.deposits), ZERO)


def _stay_for(ctx: CallContext, patient: Patient) -> InpatientStay:
    admission = ctx.body.text("admissionNumber")
    stays = sorted(patient.stays, key=lambda s: (s.in_hospital, s.admitted), reverse=True)
    chosen = next((s for s in stays if s.admission_number == admission), None) if admission else None
    chosen = chosen or next(iter(stays), None)
    if chosen is None:
        raise Rejected(NOT_FOUND, "未查询到住院信息")
    return chosen


def _stay_by_id(ctx: CallContext) -> tuple[Patient, InpatientStay]:
    stay_id = ctx.body.text("id") or ctx.body.text("patientInHospitalId")
    stay = ctx.hospital.stays_by_id.get(stay_id)
    if stay is None:
        raise Rejected(NOT_FOUND, f"住院记录不存在: {stay_id}")
    return ctx.hospital.stay_owner[stay_id], stay


@handles("hospital.interface.queryInpatientInfo")
def inpatient_info(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    stay = _stay_for(ctx, patient)
    cost, paid = total_cost(stay, ctx.now.date()), prepaid(stay)
    return ok(
        {
            "medicalCardNumber": ctx.card_number,
            "admissionNumber": stay.admission_number,
            "hospitalId": ctx.hospital.hospital_id,
            "status": "in" if stay.in_hospital else "out",
            "inPatName": patient.name,
            "deptName": stay.ward,
            "bedNumber": stay.bed,
            "totalCost": money(cost),
            "totalPrepay": money(paid),
            "prepayLeft": money(paid - cost),
            "medicalInsurance": "0.00",
            "minimumPayment": "100.00",
            "maximumPayment": "50000.00",
            "sex": patient.sex,
            "patInTime": stamp(stay.admitted),
            "idCard": patient.id_card,
            "phone": patient.phone,
            "inpatientRecordId": stay.stay_id,
        },
        msg="",
    )


@handles("hospital.interface.paymentOfDeposit")
def pay_deposit(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    out_trade_no = ctx.body.text("outTradeNo")

    def apply() -> Reply:
        stay = _stay_for(ctx, patient)
        if not stay.in_hospital:
            raise Rejected(DISCHARGED)
        amount = ctx.amount("amount")
        if amount <= ZERO:
            raise Rejected("20004", "押金金额必须大于0")
        stay.deposits.append(
            Deposit(
                out_trade_no,
                amount,
                "百灵微信" if ctx.body.text("payType") == "WeChatPay" else "支付宝",
                ctx.now,
                ctx.hospital.next_id("YJ"),
                stay.admission_number,
            )
        )
        ctx.hospital.trades.append(
            Trade(
                out_trade_no,
                "",
                amount,
                ctx.now,
                ctx.body.text("payType"),
                "住院押金",
                patient.name,
                patient.card,
                "inpatient",
            )
        )
        return ok(
            {
                "outPrepayId": ctx.hospital.next_id("ZY"),
                "amount": money(prepaid(stay) - total_cost(stay, ctx.now.date())),
            }
        )

    return ctx.once(out_trade_no, apply)


def _in_hospital(hospital: Hospital) -> list[tuple[Patient, InpatientStay]]:
    return [(p, s) for p in hospital.patients for s in p.stays if s.in_hospital]


@handles("hospital.interface.hospitalizationDepositIsLowerThan")
def deposit_arrears(ctx: CallContext) -> Reply:
    threshold = ctx.amount("prePay")
    rows = []
    for hospital in ctx.hospitals:
        for patient, stay in _in_hospital(hospital):
            left = prepaid(stay) - total_cost(stay, ctx.now.date())
            if left < threshold:
                rows.append(
                    {
                        "hospitalId": hospital.hospital_id,
                        "medicalCardNumber": patient.card,
                        "userName": patient.name,
                        "balance": money(left),
                        "deptName": stay.ward,
                        "admissionNumber": stay.admission_number,
                        "bedNumber": stay.bed,
                        "patInTime": stamp(stay.admitted),
                        "idCard": patient.id_card,
                    }
                )
    return ok(rows, msg="")


@handles("hospital.interface.inpatientList")
def inpatient_list(ctx: CallContext) -> Reply:
    rows = [
        {
            "hospitalId": hospital.hospital_id,
            "medicalCardNumber": patient.card,
            "userName": patient.name,
            "deptName": stay.ward,
            "admissionNumber": stay.admission_number,
            "bedNumber": stay.bed,
            "idCard": patient.id_card,
        }
        for hospital in ctx.hospitals
        for patient, stay in _in_hospital(hospital)
    ]
    return ok(rows)


def _day_lines(stay: InpatientStay, day: date) -> list[tuple[str, str, Decimal, Decimal, datetime]]:
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=10, minutes=25, seconds=52)
    return [(item, category, price, quantity, at) for item, category, price, quantity in vocab.DAILY_INPATIENT_ITEMS]


def _detail_rows(stay: InpatientStay, days: list[date]) -> list[dict[str, str]]:
    return [
        {
            "time": stamp(at),
            "item": item,
            "type": category,
            "price": money(price),
            "quantity": str(int(quantity)),
            "amount": money(price * quantity),
        }
        for day in days
        for item, category, price, quantity, at in _day_lines(stay, day)
    ]


@handles("hospital.interface.dailycost")
def daily_cost(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    stay = _stay_for(ctx, patient)
    day = datetime.strptime(ctx.body.text("date"), "%Y-%m-%d").date()
    if not stay.covers(day):
        raise Rejected(NOT_FOUND, f"{day}无住院费用")
    return ok(
        {
            "name": patient.name,
            "sex": patient.sex,
            "doctor": stay.doctor,
            "total": money(DAILY_TOTAL),
            "admissionNumber": stay.admission_number,
            "diagnosis": stay.diagnosis,
            "details": _detail_rows(stay, [day]),
        },
        msg="",
    )


@handles("hospital.interface.queryHospitalizationRecord")
def hospitalization_records(ctx: CallContext) -> Reply:
    start, end = ctx.window()
    rows = []
    for hospital, patient in ctx.patients_in_each():
        for stay in patient.stays:
            if stay.admitted <= end and (stay.discharged is None or stay.discharged >= start):
                rows.append(
                    {
                        "hospitalId": hospital.hospital_id,
                        "id": stay.stay_id,
                        "dateOfAdmission": stay.admitted.date().isoformat(),
                        "dateOfDischarge": stay.discharged.date().isoformat() if stay.discharged else "",
                        "dept": stay.dept,
                        "diagnosis": stay.diagnosis,
                        "cost": money(total_cost(stay, ctx.now.date())),
                    }
                )
    return ok(rows, msg="")


@handles("hospital.interface.queryHospitalizationDetail")
def hospitalization_detail(ctx: CallContext) -> Reply:
    patient, stay = _stay_by_id(ctx)
    days = billing_days(stay, ctx.now.date())
    return ok(
        {
            "name": patient.name,
            "sex": patient.sex,
            "doctor": stay.doctor,
            "total": money(DAILY_TOTAL * len(days)),
            "admissionNumber": stay.admission_number,
            "diagnosis": stay.diagnosis,
            "details": _detail_rows(stay, days),
        },
        msg="",
    )


@handles("hospital.interface.queryHospitalizationDetailMain")
def hospitalization_summary(ctx: CallContext) -> Reply:
    patient, stay = _stay_by_id(ctx)
    asked = ctx.body.text("date")
    days = [datetime.strptime(asked, "%Y-%m-%d").date()] if asked else billing_days(stay, ctx.now.date())
    by_charge: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    by_class: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item, category, price, quantity in vocab.DAILY_INPATIENT_ITEMS:
        by_charge[item] = [price, quantity * len(days), price * quantity * len(days)]
        by_class[category] += price * quantity * len(days)
    return ok(
        {
            "patientName": patient.name,
            "sex": patient.sex,
            "inpatientNo": stay.admission_number,
            "doctor": stay.doctor,
            "totalAmount": money(DAILY_TOTAL * len(days)),
            "diagnosis": stay.diagnosis,
            "groupByDate": [
                {"date": day.isoformat(), "total": money(DAILY_TOTAL)} for day in sorted(days, reverse=True)
            ],
            "groupByCharge": [
                {"name": name, "price": money(p), "quantity": money(q), "total": money(t)}
                for name, (p, q, t) in by_charge.items()
            ],
            "groupByChargeClass": [{"name": name, "total": money(total)} for name, total in by_class.items()],
        }
    )


@handles("hospital.interface.queryHospitalizationDetailOneDay")
def hospitalization_one_day(ctx: CallContext) -> Reply:
    _patient, stay = _stay_by_id(ctx)
    day = datetime.strptime(ctx.body.text("time"), "%Y-%m-%d").date()
    if not stay.covers(day):
        raise Rejected(NOT_FOUND, f"{day}无住院费用")
    rows = [
        {
            "itemId": str(index + 26457),
            "itemName": item,
            "price": money(price),
            "quantity": money(quantity),
            "amount": money(price * quantity),
            "itemTypeName": category,
            "date": day.isoformat(),
        }
        for index, (item, category, price, quantity, _at) in enumerate(_day_lines(stay, day))
    ]
    return ok(rows)


@handles("hospital.interface.getDepositRecord")
def deposit_records(ctx: CallContext) -> Reply:
    """All deposits of the patient, not only this stay's (39.1.1 says so)."""
    rows = [
        {
            "hospitalId": hospital.hospital_id,
            "hospitalName": hospital.name,
            "outTradeNo": d.out_trade_no,
            "amount": money(d.amount),
            "payTypeName": d.pay_type_name,
            "createTime": stamp(d.time),
            "prepayCode": d.prepay_code,
            "admissionNumber": d.admission_number,
        }
        for hospital, patient in ctx.patients_in_each()
        for stay in patient.stays
        for d in stay.deposits
    ]
    return ok(rows)


@handles("hospital.interface.inpatientRecord")
def inpatient_history(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    rows = [
        {
            "patInHosCode": s.admission_number,
            "patInTime": s.admitted.date().isoformat(),
            "patOutTime": s.discharged.date().isoformat() if s.discharged else "",
            "wardName": s.ward,
            "patInStatus": "1" if s.in_hospital else "2",
        }
        for s in patient.stays
    ]
    return ok(rows)


@handles("hospital.interface.getOutOfHospitalHistory")
def discharge_history(ctx: CallContext) -> Reply:
    patient = ctx.patient()
    stays = [s for s in patient.stays if s.discharged] or patient.stays
    example_row = ctx.entry.response_example["data"][0]
    rows = []
    for stay in stays:
        row = dict(example_row)
        row.update(
            {
                "age": f"{patient.age()}岁",
                "department": stay.dept,
                "diagnose": stay.diagnosis,
                "hospitalId": ctx.hospital.hospital_id,
                "inHospitalCode": stay.admission_number,
                "inHospitalTime": stamp(stay.admitted),
                "outHospitalTime": stamp(stay.discharged) if stay.discharged else "",
                "patientInHospitalId": stay.stay_id,
                "hospitalName": ctx.hospital.name,
            }
        )
        rows.append(row)
    return ok(rows)


@handles("hospital.interface.getDrugItemForDischarged")
def discharge_drugs(ctx: CallContext) -> Reply:
    patient, stay = _stay_by_id(ctx)
    return render(
        ctx, patient=patient, values={"department": stay.dept, "diagnose": stay.diagnosis, "doctorName": stay.doctor}
    )
