"""25.2.1 查询患者支付信息: what a patient paid online for an online consultation, for the hospital to act on.

The hospital asks by card and chargeType (1 检查, 2 检验, 3 处方) "获取患者支付的药品或者项目费用 ... 作为对账和
患者取药或享受医疗服务的凭证". The answer is every charge of that type on the card's consultation orders at the
caller's hospital that the patient may still be served for:

- the order was paid and the money stays paid: state PAID (25.1.1 still to come) or NOTIFIED, and no refund
  of it under way or done (a refund that failed or was refused leaves the money paid);
- the hospital has not already registered the charge or handed out its drugs (25.2.2 status 1): a charge
  served once is not offered twice. One it cancelled (status 2) is offered again.

The patient's details are the latest such order's (as 25.1.1 sent them); total is the sum of the charges
listed (price x quantity), in yuan with two places. Nothing to list: None (the shim answers 10002).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select

from services.payments.clock import spec_time
from services.payments.hospital_status import REGISTERED, charge_status
from services.payments.quotes import ConsultationQuote, PricedCharge
from services.payments.sagas.consultation import ConsultationFlow
from store.db import Database
from store.orders import RELEASED_REFUND_STATES, Order, OrderState, Refund

SERVABLE_STATES: Final = frozenset({OrderState.PAID, OrderState.NOTIFIED})


@dataclass(frozen=True, slots=True)
class PaidCharge:
    """One element of 25.2.1's charges: the charge and the order it was paid with."""

    charge: PricedCharge
    """As the order's quote keeps it."""
    quote: ConsultationQuote
    """The quote of the order it was paid with."""
    order: Order

    @property
    def amount(self) -> Decimal:
        return self.charge.amount

    def to_wire(self) -> dict[str, Any]:
        quote, charge = self.quote, self.charge
        assert self.order.paid_at is not None
        return {
            "chargeId": charge.charge_id,
            "quantity": str(charge.quantity),
            "price": str(charge.price),
            "chargeName": charge.charge_name,
            "diagnoseCode": quote.diagnose_code,
            "diagnoseName": quote.diagnose_name,
            "description": quote.description or "",
            "tradeNo": self.order.out_trade_no,
            "tradeTime": spec_time(self.order.paid_at),
            "billDocName": quote.bill_doc_name,
            "billDocCode": quote.bill_doc_code,
            "billDocHospital": quote.bill_doc_hospital,
            "frequencyName": charge.frequency_name or "",
            "usageName": charge.usage_name or "",
            "dose": charge.dose or "",
            "groupId": charge.group_id,
            "chargeType": str(charge.charge_type),
            "memo": charge.memo or "",
        }


@dataclass(frozen=True, slots=True)
class PatientCharges:
    """25.2.1's data: the patient and the charges they paid for and may still be served."""

    hospital_id: str
    medical_card_number: str
    patient: ConsultationQuote
    """The latest order's quote (patient_name, gender, phone, id_card, birthday)."""
    charges: list[PaidCharge] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((charge.amount for charge in self.charges), Decimal("0.00")).quantize(Decimal("0.01"))

    @property
    def trade_nos(self) -> list[str]:
        return sorted({charge.order.out_trade_no for charge in self.charges})

    def to_wire(self) -> dict[str, Any]:
        return {
            "hospitalId": self.hospital_id,
            "patName": self.patient.patient_name,
            "general": self.patient.gender,
            "phone": self.patient.phone,
            "idCard": self.patient.id_card,
            "birthday": self.patient.birthday,
            "medicalCardNumber": self.medical_card_number,
            "total": f"{self.total:.2f}",
            "charges": [charge.to_wire() for charge in self.charges],
        }


async def paid_consultation_charges(
    db: Database, *, hospital_id: str, medical_card_number: str, charge_type: str
) -> PatientCharges | None:
    """25.2.1 (see the module docstring); None when the card has no such charge to be served."""
    wanted_type = charge_type.strip()
    async with db.session() as session:
        orders = list(
            (
                await session.execute(
                    select(Order)
                    .where(
                        Order.hospital_id == hospital_id,
                        Order.medical_card_number == medical_card_number,
                        Order.flow == ConsultationFlow.name,
                        Order.state.in_([state.value for state in SERVABLE_STATES]),
                        Order.paid_at.is_not(None),
                    )
                    .order_by(Order.paid_at, Order.id)
                )
            ).scalars()
        )
        if not orders:
            return None
        refunds = (
            await session.execute(
                select(Refund.order_id, Refund.state).where(Refund.order_id.in_([o.id for o in orders]))
            )
        ).all()
    taking_back = {order_id for order_id, state in refunds if state not in RELEASED_REFUND_STATES}
    charges = [
        PaidCharge(charge=charge, quote=quote, order=order)
        for order in orders
        if order.id not in taking_back
        for quote in [ConsultationQuote.of(order)]
        for charge in quote.charges
        if str(charge.charge_type) == wanted_type
        and charge_status(order.quote, wanted_type, charge.charge_id) != REGISTERED
    ]
    if not charges:
        return None
    return PatientCharges(
        hospital_id=hospital_id, medical_card_number=medical_card_number, patient=charges[-1].quote, charges=charges
    )
