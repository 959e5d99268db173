"""Cards and patients (chapters 1 and 2): creating cards, binding them, and looking patients up."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from simulator.catalog import DICTIONARIES_PATH
from simulator.data.model import Patient
from simulator.envelope import CARD_UNKNOWN_FOR_CARD_SERVICES, INVALID_PARAM, NOT_FOUND, Rejected, Reply, ok
from simulator.handlers import handles
from simulator.handlers.context import CallContext, money
from simulator.handlers.template import default_handler

_SEX_BY_GENDER = {"1": "男", "2": "女"}


def _patient_row(ctx: CallContext, patient: Patient) -> dict[str, str]:
    return {
        "name": patient.name,
        "phone": patient.phone,
        "sex": patient.sex,
        "address": patient.address,
        "birthdate": patient.birthdate.isoformat(),
        "idCardNo": patient.id_card,
        "medicalCardNumber": ctx.card_number or patient.card,
        "impoverished": "0",
    }


@handles("hospital.interface.queryPatientInfo")
def query_patient_info(ctx: CallContext) -> Reply:
    return ok(_patient_row(ctx, ctx.patient()))


@handles("hospital.interface.selHisCardListByNameAndIdCard")
def cards_by_name_and_id(ctx: CallContext) -> Reply:
    name, id_card = ctx.body.text("name"), ctx.body.text("idCard")
    matches = [p for p in ctx.hospital.patients if p.id_card == id_card and p.name == name]
    if not matches:
        raise Rejected(NOT_FOUND, "未查询到就诊卡")
    rows = []
    for patient in matches:
        gender = "1" if patient.sex == "男" else "2"
        for card in patient.cards:
            row = _patient_row(ctx, patient)
            rows.append({**row, "gender": gender, "medicalCardNumber": card, "amount": money(patient.balance)})
            del rows[-1]["sex"], rows[-1]["impoverished"]
    return ok(rows)


@handles("hospital.interface.createCard", "hospital.interface.newbornCreateCard")
def create_card(ctx: CallContext) -> Reply:
    card = ctx.card_number

    def apply() -> Reply:
        hospital = ctx.hospital
        if card not in hospital.by_card:
            birthday = ctx.body.text("birthday")
            patient = Patient(
                patient_id=hospital.next_id("P"),
                name=ctx.body.text("name"),
                sex=ctx.body.text("sex") or _SEX_BY_GENDER.get(ctx.body.text("gender"), "男"),
                birthdate=datetime.strptime(birthday, "%Y-%m-%d").date() if birthday else date(2000, 1, 1),
                id_card=ctx.body.text("idcard"),
                phone=ctx.body.text("phone"),
                address=ctx.body.text("address"),
                cards=[card],
                balance=Decimal("0"),
            )
            hospital.add_patient(patient)
        return {"success": True, "msg": "成功", "code": "10001"}

    return ctx.once(f"card:{card}", apply)


@handles("hospital.interface.bindCard")
def bind_card(ctx: CallContext) -> Reply:
    old, new = ctx.body.text("oldMedicalCardNumber"), ctx.body.text("newMedicalCardNumber")
    hospital = ctx.hospital
    patient = hospital.by_card.get(old) or hospital.by_card.get(new)
    if patient is None:
        raise Rejected(CARD_UNKNOWN_FOR_CARD_SERVICES)
    if new not in patient.cards:
        patient.cards.append(new)
        hospital.by_card[new] = patient
    return ok({"createDate": ctx.now.date().isoformat()})


@handles("hospital.interface.unRelateHisPatientCard")
def unbind_card(ctx: CallContext) -> Reply:
    old, new = ctx.body.text("oldMedicalCardNumber"), ctx.body.text("newMedicalCardNumber")
    if ctx.hospital.by_card.get(old) is None and ctx.hospital.by_card.get(new) is None:
        raise Rejected(CARD_UNKNOWN_FOR_CARD_SERVICES)
    return {"success": True, "msg": "成功", "code": "10001"}


@cache
def _codes(dictionary: str) -> frozenset[str]:
    """The codes of one of the spec's dictionaries (附一 nation, 附五 relationship)."""
    raw = json.loads(DICTIONARIES_PATH.read_text(encoding="utf-8"))
    return frozenset(str(row["code"]) for row in raw[dictionary]["entries"])


def _dictionary_codes(ctx: CallContext, fields: dict[str, str]) -> None:
    """A real HIS keeps to the spec's dictionaries: a code outside them is 20003, not filed."""
    for name, dictionary in fields.items():
        value = ctx.body.text(name)
        if value and value not in _codes(dictionary):
            raise Rejected(INVALID_PARAM, f"参数格式错误: {name}={value} 不在字典中")


@handles("hospital.interface.createCardContacts")
def create_card_contact(ctx: CallContext) -> Reply:
    """1.2.3: relation from 附五 (01-05), nation from 附一 (01-56); otherwise as the spec's example."""
    _dictionary_codes(ctx, {"relation": "relationship", "nation": "nation"})
    return default_handler(ctx)


@handles("hospital.interface.updateHisPatientInfo")
def update_patient_info(ctx: CallContext) -> Reply:
    """1.2.4: a nation, when given, from 附一."""
    _dictionary_codes(ctx, {"nation": "nation"})
    return default_handler(ctx)
