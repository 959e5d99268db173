"""Operators' transaction statistics per hospital (chapter 30 运营数据统计)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import strawberry

from his_clients.models.statistics import HospitalTransactionStatistics, TransactionStatistics
from services.refusals import RefusalCode, Refused

from ..context import Info
from ..hospitals.entry import HospitalEntry
from ..hospitals.types import Hospital
from ..scalars import Money

ZERO = Money(Decimal("0.00"))


def count(text: str | None) -> int | None:
    """A count the hospital writes as text ("200", "200.0"); null when it is not a whole number."""
    try:
        number = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


class FigureMalformed(Refused):
    """A count the hospital sent in a shape that is not a whole number: an error on that figure alone."""

    def __init__(self, hospital_id: str, name: str, text: str) -> None:
        super().__init__(
            RefusalCode.HIS_PROTOCOL_ERROR,
            f"医院 {hospital_id} 返回的 {name} 不是整数，无法识别。",
            hospital_id=hospital_id,
            figure=name,
        )
        self.text = text


def figure(hospital_id: str, name: str, text: str | None) -> Any:
    """A count (``count``), None when the hospital left it empty, or a FigureMalformed that graphql-core raises
    at that field alone (a value that is an exception is that field's error): never a silent null."""
    value = count(text)
    if value is None and (text or "").strip():
        return FigureMalformed(hospital_id, name, str(text).strip())
    return value


def hospital_of(info: Info, hospital_id: str) -> Hospital | None:
    found = info.context.registry.hospital(hospital_id)
    return Hospital.from_registry(found) if found else None


@strawberry.type(
    description=(
        "One hospital's transactions and visits over a time window "
        "(30.1.1 dataStatistics, 根据统计时间范围查询统计量). "
        "A count the hospital wrote as something that is not a whole number is an error on that count alone "
        "(HIS_PROTOCOL_ERROR, extensions.figure names it), never a silent null."
    )
)
class TransactionStatisticsAtHospital(HospitalEntry):
    outpatient_amount: Money = strawberry.field(
        description="Total amount of outpatient transactions (门诊总交易金额, outpatientTotalAmount)."
    )
    outpatient_transactions: int | None = strawberry.field(
        description="Number of outpatient transactions (门诊总交易笔数, outpatientTotalTrans)."
    )
    inpatient_amount: Money = strawberry.field(
        description="Total amount of inpatient transactions (住院总交易金额, inpatientTotalAmount)."
    )
    inpatient_transactions: int | None = strawberry.field(
        description="Number of inpatient transactions (住院总交易笔数, inpatientTotalTrans)."
    )
    patients_seen_with_health_card: int | None = strawberry.field(
        description=(
            "Visits by patients holding an electronic health card "
            "(具有电子健康卡的就诊人次, regCardAmount: a count despite its name)."
        )
    )
    patients_seen: int | None = strawberry.field(
        description="Patients seen in the window, a card used several times counted once (总就诊人次, totalCardAmount)."
    )

    @classmethod
    def from_reply(cls, hospital_id: str, reply: TransactionStatistics) -> TransactionStatisticsAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            outpatient_amount=Money(reply.outpatient_total_amount),
            outpatient_transactions=figure(hospital_id, "outpatientTotalTrans", reply.outpatient_total_trans),
            inpatient_amount=Money(reply.inpatient_total_amount),
            inpatient_transactions=figure(hospital_id, "inpatientTotalTrans", reply.inpatient_total_trans),
            patients_seen_with_health_card=figure(hospital_id, "regCardAmount", reply.reg_card_amount),
            patients_seen=figure(hospital_id, "totalCardAmount", reply.total_card_amount),
        )

    @classmethod
    def nothing(cls, hospital_id: str) -> TransactionStatisticsAtHospital:
        """10002 (未查询到数据): nothing happened in the window."""
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            outpatient_amount=ZERO,
            outpatient_transactions=0,
            inpatient_amount=ZERO,
            inpatient_transactions=0,
            patients_seen_with_health_card=0,
            patients_seen=0,
        )


@strawberry.type(
    description=(
        "One hospital's transaction and appointment counts over a time window "
        "(30.1.2 hospitalStatistics, 根据时间查询各医院交易数量)."
    )
)
class TransactionCountsAtHospital(HospitalEntry):
    hospital_name: str = strawberry.field(
        description="The hospital's name as its HIS writes it (hospitalName); the registry's name when it sent none."
    )
    outpatient_transactions: int | None = strawberry.field(
        description="Outpatient transactions, card top-ups included (门诊交易数量, outpatientTotalTrans)."
    )
    outpatient_amount: Money | None = strawberry.field(
        description="Their amount, card top-ups included (outpatientTotalAmount); null when the hospital does not say."
    )
    inpatient_transactions: int | None = strawberry.field(
        description="Inpatient transactions (住院交易数量, inpatientTotalTrans)."
    )
    inpatient_amount: Money | None = strawberry.field(
        description="Their amount (inpatientTotalAmount); null when the hospital does not say."
    )
    health_card_visits: int | None = strawberry.field(
        description="Visits with an electronic health card (电子健康卡的就诊人次, regCardTrans)."
    )
    appointments: int | None = strawberry.field(
        description="Registration appointments made (预约挂号数量, appointmentNumber)."
    )

    @classmethod
    def from_row(cls, hospital_id: str, row: HospitalTransactionStatistics) -> TransactionCountsAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            hospital_name=row.hospital_name,
            outpatient_transactions=figure(hospital_id, "outpatientTotalTrans", row.outpatient_total_trans),
            outpatient_amount=None if row.outpatient_total_amount is None else Money(row.outpatient_total_amount),
            inpatient_transactions=figure(hospital_id, "inpatientTotalTrans", row.inpatient_total_trans),
            inpatient_amount=None if row.inpatient_total_amount is None else Money(row.inpatient_total_amount),
            health_card_visits=figure(hospital_id, "regCardTrans", row.reg_card_trans),
            appointments=figure(hospital_id, "appointmentNumber", row.appointment_number),
        )

    @classmethod
    def nothing(cls, hospital_id: str, hospital_name: str) -> TransactionCountsAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            hospital_name=hospital_name,
            outpatient_transactions=0,
            outpatient_amount=ZERO,
            inpatient_transactions=0,
            inpatient_amount=ZERO,
            health_card_visits=0,
            appointments=0,
        )


def row_for(
    hospital_id: str, rows: list[HospitalTransactionStatistics], *, regional: bool
) -> HospitalTransactionStatistics | None:
    """The row about the hospital asked, or None when the reply says nothing about it.

    A regional HIS lists every hospital it serves, so only the row naming the one asked counts (asking
    256 and 257 behind one endpoint must not count the region twice). A standalone HIS speaks only for
    itself, possibly under an internal id of its own: its single row is that hospital's.
    """
    named = [row for row in rows if row.hospital_id == hospital_id]
    if named:
        return named[0]
    return rows[0] if len(rows) == 1 and not regional else None
