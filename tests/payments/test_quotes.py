"""Each flow's quote (services.payments.quotes): written strictly, read back as written, old rows read leniently."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.payments.quotes import (
    QUOTES,
    AdmissionQuote,
    AppointmentRegistrationQuote,
    BillItem,
    ChosenGroup,
    ConsultationQuote,
    DepositQuote,
    InsurancePaid,
    InsuranceQuote,
    LabAppointmentQuote,
    MedicalRecordQuote,
    OutpatientQuote,
    PhysicalExamQuote,
    PricedCharge,
    Quote,
    QuoteUnreadable,
    RechargeQuote,
    RefundNote,
    SelfOrderQuote,
    TodayRegistrationQuote,
    quote_of,
    refund_note,
    refund_notes,
    write_refund_note,
)
from services.payments.reconciliation import payment_line
from services.payments.sagas import FLOWS
from services.payments.sagas.insurance import HIS_TRADE_ID
from store.orders import Order, OrderState

ID = "110101199001011234"

EXAMPLES: list[Quote] = [
    OutpatientQuote(
        amount=Decimal("12.50"),
        discount_amount=Decimal("0.50"),
        detail_ids=("RX1", "RX2"),
        items=(BillItem(id="RX1", pres_code="CF1", amount=Decimal("2.50")), BillItem(id="RX2")),
    ),
    RechargeQuote(amount=Decimal("100.00")),
    DepositQuote(
        amount=Decimal("500.00"),
        admission_number="060508",
        minimum_payment=Decimal("100.00"),
        maximum_payment=Decimal("50000.00"),
    ),
    AdmissionQuote(amount=Decimal("3000.00"), admission_card_id="ZYZ-1", dept_name="内科", id_card=ID),
    InsuranceQuote(
        his_trade_id="HT-1",
        detail_ids=("RX1",),
        trade_amount=Decimal("100.00"),
        preferential_amount=Decimal("0.00"),
        med_amount=Decimal("60.00"),
        med_settle_time="2025-11-26 10:00:00",
        med_pay_list=(InsurancePaid(name="医保统筹", amount=Decimal("60.00")),),
    ),
    TodayRegistrationQuote(
        amount=Decimal("23.00"),
        schedule_fee=Decimal("23.00"),
        today_register_id="d6deb60352044472895a6d48172de9e4",
        department_id="sjnk",
        department_name="神经内科",
        reg_class_id="sjnk-0",
        schedule_type="2",
        patient_name="张三",
        id_card=ID,
        registration_date="2025-11-26",
        am_pm="AM",
    ),
    AppointmentRegistrationQuote(
        amount=Decimal("16.00"),
        schedule_fee=Decimal("16.00"),
        surcharge=Decimal("0.00"),
        record_id="r1",
        hos_code="253",
        patient_name="张三",
        patient_id=ID,
        patient_phone="13800000000",
        dept_code="0256",
        doc_code="256654",
        date="20251203",
        am_pm="AM",
        start_time="08:00",
        serial_number=3,
    ),
    PhysicalExamQuote(
        amount=Decimal("37.00"),
        prices={"801": Decimal("37.00")},
        package_ids=("801",),
        patient_name="张三",
        sex="男",
        id_card=ID,
        date="2025-12-03 08:00",
    ),
    LabAppointmentQuote(
        amount=Decimal("30.00"),
        project_price=Decimal("25.00"),
        inspecting_price=Decimal("5.00"),
        project_id="P1",
        scheduling_id="S1",
        record_id="r2",
        patient_name="张三",
        sex="男",
        telephone="13800000000",
    ),
    SelfOrderQuote(
        amount=Decimal("8.00"),
        groups=(ChosenGroup(group_id="G1", item_ids=("I1", "I2")),),
        prices={"I1": Decimal("3.00"), "I2": Decimal("5.00")},
        appointment_date="2025-12-03",
    ),
    ConsultationQuote(
        amount=Decimal("24.00"),
        charges=(
            PricedCharge(charge_id="12", charge_type=1, charge_name="心脏彩超", quantity=2, price=Decimal("12.00")),
        ),
        patient_name="张三",
        gender="1",
        phone="13800000000",
        id_card=ID,
        birthday="1990-01-01",
        diagnose_code="I10",
        diagnose_name="高血压",
        bill_doc_hospital="253",
        bill_doc_name="李医生",
        bill_doc_code="D1",
        consult_code=1,
    ),
    MedicalRecordQuote(
        amount=Decimal("20.00"),
        apply_id="A1",
        print_number=10,
        print_fee=Decimal("5.00"),
        mailing_fee=Decimal("15.00"),
        admission_number="060508",
        patient_name="张三",
    ),
]


def test_every_flow_has_one_quote_model() -> None:
    assert set(QUOTES) == set(FLOWS)
    assert {type(example) for example in EXAMPLES} == set(QUOTES.values())


@pytest.mark.parametrize("quote", EXAMPLES, ids=lambda quote: type(quote).__name__)
def test_a_quote_reads_back_as_it_was_written(quote: Quote) -> None:
    stored = quote.stored()
    assert json.loads(json.dumps(stored)) == stored  # plain JSON, as the column keeps it
    assert type(quote).read(stored) == quote
    order = Order(flow=type(quote).FLOW, quote=stored)
    assert quote_of(order) == quote
    assert type(quote).of(order) == quote


def test_amounts_are_stored_as_the_text_of_their_cents() -> None:
    stored = OutpatientQuote(amount=Decimal("12.50"), detail_ids=("RX1",)).stored()
    assert stored["amount"] == "12.50"
    assert stored["discount_amount"] == "0.00"


def test_a_value_of_the_wrong_type_is_never_written() -> None:
    with pytest.raises(TypeError):
        RechargeQuote(amount=1.5).stored()  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        OutpatientQuote(amount=Decimal("1.00"), detail_ids=["RX1"]).stored()  # type: ignore[arg-type]


def test_the_insurance_quote_keeps_its_his_trade_id_where_sql_finds_it() -> None:
    stored = InsuranceQuote(his_trade_id="HT-1").stored()
    assert stored[HIS_TRADE_ID] == "HT-1"


def test_an_old_physical_exam_quote_reads_the_name_it_kept() -> None:
    """Before the typed quotes, 28.1.6's name was stored as ``name`` (every other flow wrote patient_name)."""
    old: dict[str, Any] = {
        "amount": "37.00",
        "prices": {"801": "37.00"},
        "package_ids": ["801"],
        "name": "张三",
        "sex": "男",
        "id_card": ID,
        "tel_no": None,
        "profession_code": None,
        "date": "2025-12-03 08:00",
        "org_id": None,
        "group_id": None,
        "after_sale": {"RE1": {"state": "SUCCEEDED"}},
        "hospital_status": {},
    }
    quote = PhysicalExamQuote.read(old)
    assert quote.patient_name == "张三"
    assert quote.item_ids == ()
    assert quote.prices == {"801": Decimal("37.00")}
    assert "name" not in quote.stored()
    assert quote.stored()["patient_name"] == "张三"


def test_an_old_consultation_quote_reads_quantities_written_as_text() -> None:
    old: dict[str, Any] = {
        "amount": "24.00",
        "charges": [
            {"charge_id": "12", "charge_type": 1, "charge_name": "心脏彩超", "quantity": "2", "price": "12.00"},
        ],
        "patient_name": "张三",
        "gender": "1",
        "phone": "13800000000",
        "id_card": ID,
        "birthday": "1990-01-01",
        "diagnose_code": "I10",
        "diagnose_name": "高血压",
        "description": None,
        "bill_doc_hospital": "253",
        "bill_doc_name": "李医生",
        "bill_doc_code": "D1",
        "consult_code": None,
        "code": None,
        "hospital_status": {"charge:1:12": {"state": "1"}},
    }
    (charge,) = ConsultationQuote.read(old).charges
    assert charge.quantity == 2
    assert charge.amount == Decimal("24.00")
    assert charge.group_id == ""


def test_an_old_appointment_quote_without_later_fields_reads() -> None:
    old: dict[str, Any] = {
        "amount": "16.00",
        "record_id": "r1",
        "hos_code": "253",
        "patient_name": "张三",
        "patient_id": ID,
        "patient_phone": "13800000000",
        "dept_code": "0256",
        "doc_code": "256654",
        "date": "20251203",
        "am_pm": "AM",
        "start_time": "08:00",
    }
    quote = AppointmentRegistrationQuote.read(old)
    assert quote.id_type == "01"
    assert quote.schedule_fee is None
    assert quote.id_numbers() == [ID]


def test_a_quote_missing_what_its_saga_needs_is_unreadable() -> None:
    with pytest.raises(QuoteUnreadable):
        PhysicalExamQuote.read({"amount": "37.00", "package_ids": ["801"]})


def test_refund_notes_are_written_beside_the_quote_and_read_typed() -> None:
    stored = RechargeQuote(amount=Decimal("100.00")).stored()
    order = Order(flow=RechargeQuote.FLOW, quote=stored)
    at = datetime(2025, 11, 26, 2, 0, tzinfo=UTC)
    write_refund_note(order, "RE1", at, state="PENDING", why="8.1.2: the hospital deducted the balance")
    write_refund_note(order, "RE1", at, state="SUCCEEDED", why="refunded", his_refund_no="H-1", unified_amount="1.00")
    note = refund_note(order, "RE1")
    assert (note.state, note.why, note.his_refund_no, note.unified_amount) == (
        "SUCCEEDED",
        "refunded",
        "H-1",
        Decimal("1.00"),
    )
    assert refund_note(order, "RE2") == RefundNote()
    assert RechargeQuote.of(order) == RechargeQuote(amount=Decimal("100.00"))  # the quote reads as before
    order.quote = {**order.quote, "after_sale": {"RE3": "not a note"}}
    assert refund_notes(order)["RE3"] == RefundNote()


def test_the_trade_lines_name_the_patient_through_the_quote_model() -> None:
    """14.1.x customName comes from the flow's quote model (issue 12 item 18): an old physical-exam row's ``name``,
    a registration's patient_name; a flow that keeps no name, or a row its model cannot read, names nobody and
    the line is still written."""
    old_exam = PhysicalExamQuote.read(
        {
            "prices": {"801": "37.00"},
            "package_ids": ["801"],
            "name": "张三",
            "sex": "男",
            "id_card": ID,
            "date": "2026-12-03",
        }
    ).stored()
    old_exam["name"] = old_exam.pop("patient_name")  # as rows were written before the typed quotes
    paid = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)

    def line(flow: str, quote: dict[str, Any]) -> str | None:
        order = Order(
            out_trade_no="T1",
            flow=flow,
            quote=quote,
            paid_at=paid,
            online_amount=Decimal("37.00"),
            hospital_id="253",
            business_type="1",
            provider="sandbox",
            unified_pay_amount=Decimal("0.00"),
            state=OrderState.NOTIFIED.value,
        )
        return payment_line(order).custom_name

    assert line(PhysicalExamQuote.FLOW, old_exam) == "张三"
    assert line(RechargeQuote.FLOW, RechargeQuote.read({"amount": "37.00"}).stored()) is None
    assert line(PhysicalExamQuote.FLOW, {"package_ids": ["801"]}) is None  # unreadable: no name, still a line
