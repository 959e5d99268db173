"""Who the patient is at each hospital, the cards they hold, and what their cards hold (2.1.1, 2.1.3, 7.1.1, 8.1.1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from his_clients.models.card_balance import CardBalance as CardBalanceReply
from his_clients.models.card_balance import RefundableBalance as RefundableBalanceReply
from his_clients.models.cards import HisCard, PatientInfo

from ..hospitals.entry import HospitalEntry
from ..scalars import Money
from ..values import Sex
from .common import day, or_none, sex


@strawberry.type(description="The patient as one hospital's HIS knows them (2.1.1 queryPatientInfo, 就诊人信息).")
class PatientProfile:
    medical_card_number: str = strawberry.field(description="The card the hospital looked up (medicalCardNumber).")
    name: str = strawberry.field(description="Name (姓名).")
    sex: Sex | None = strawberry.field(description="Sex (性别); null when the hospital writes something else.")
    phone: str = strawberry.field(description="Contact phone (联系电话).")
    address: str | None = strawberry.field(description="Contact address (联系地址); null when not given.")
    birth_date: dt.date | None = strawberry.field(
        description="Date of birth (出生日期); null when the hospital writes it otherwise."
    )
    id_card_number: str | None = strawberry.field(description="ID-card number (身份证号码); null when not given.")
    impoverished: bool | None = strawberry.field(
        description="Whether the patient is registered as impoverished (贫困人口); null when the hospital does not say."
    )

    @classmethod
    def from_reply(cls, reply: PatientInfo) -> PatientProfile:
        return cls(
            medical_card_number=reply.medical_card_number,
            name=reply.name,
            sex=sex(reply.sex),
            phone=reply.phone,
            address=or_none(reply.address),
            birth_date=day(reply.birthdate),
            id_card_number=or_none(reply.id_card_no),
            impoverished=None if not reply.impoverished else reply.impoverished == "1",
        )


@strawberry.type(description="The patient's profile at one hospital (2.1.1); profile is null when it has no record.")
class ProfileAtHospital(HospitalEntry):
    profile: PatientProfile | None = strawberry.field(description="What the hospital holds about the patient.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: PatientInfo) -> ProfileAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), profile=PatientProfile.from_reply(reply))

    @classmethod
    def unknown(cls, hospital_id: str) -> ProfileAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), profile=None)


@strawberry.type(description="One in-hospital card (院内就诊卡) a person holds (2.1.3 selHisCardListByNameAndIdCard).")
class HeldCard:
    medical_card_number: str = strawberry.field(description="The card's number (medicalCardNumber).")
    name: str = strawberry.field(description="The holder's name.")
    sex: Sex | None = strawberry.field(
        description="The holder's sex (the spec sends gender 1 男, 0 女); null when the hospital writes otherwise."
    )
    phone: str = strawberry.field(description="The holder's phone.")
    address: str | None = strawberry.field(description="The holder's address; null when not given.")
    birth_date: dt.date | None = strawberry.field(
        description="The holder's date of birth; null when the hospital writes it otherwise."
    )
    id_card_number: str = strawberry.field(description="The holder's ID-card number.")
    balance: Money = strawberry.field(description="What the card holds (卡余额).")

    @classmethod
    def from_reply(cls, card: HisCard) -> HeldCard:
        return cls(
            medical_card_number=card.medical_card_number,
            name=card.name,
            sex=Sex.read(card.gender, zero_is_female=True),
            phone=card.phone,
            address=or_none(card.address),
            birth_date=day(card.birthdate),
            id_card_number=card.id_card_no,
            balance=Money(card.amount),
        )


@strawberry.type(description="The cards a person holds at one hospital, found by name and ID number (2.1.3).")
class HeldCardsAtHospital(HospitalEntry):
    cards: list[HeldCard] = strawberry.field(description="The cards; empty when the hospital has none for them.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: list[HisCard]) -> HeldCardsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), cards=[HeldCard.from_reply(c) for c in reply])

    @classmethod
    def none(cls, hospital_id: str) -> HeldCardsAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), cards=[])


@strawberry.type(description="The balance of the patient's card at one hospital (7.1.1 queryBalance, 就诊卡余额).")
class CardBalanceAtHospital(HospitalEntry):
    balance: Money | None = strawberry.field(description="What the card holds; null when the hospital has no data.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: CardBalanceReply) -> CardBalanceAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), balance=Money(reply.balance))

    @classmethod
    def unknown(cls, hospital_id: str) -> CardBalanceAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), balance=None)


@strawberry.type(description="One card recharge that can still be refunded, in part or whole (可退订单).")
class RefundableRecharge:
    out_trade_no: str = strawberry.field(
        description="The platform's order number of the recharge (rechargeNo): the outTradeNo it was paid with."
    )
    refundable: Money = strawberry.field(description="What of this recharge can still be refunded (balance).")


@strawberry.type(
    description=(
        "What can be refunded from the patient's card at one hospital (8.1.1 getRefundBlance, 可退款金额): only "
        "the part of the balance paid in through the platform."
    )
)
class RefundableBalanceAtHospital(HospitalEntry):
    balance: Money = strawberry.field(description="The refundable amount in total; 0 when nothing can be refunded.")
    recharges: list[RefundableRecharge] = strawberry.field(description="The recharges it can be refunded to.")

    @classmethod
    def from_reply(cls, hospital_id: str, reply: RefundableBalanceReply) -> RefundableBalanceAtHospital:
        return cls(
            hospital_id=strawberry.ID(hospital_id),
            balance=Money(reply.balance),
            recharges=[
                RefundableRecharge(out_trade_no=order.recharge_no, refundable=Money(order.balance))
                for order in reply.order
            ],
        )

    @classmethod
    def nothing(cls, hospital_id: str) -> RefundableBalanceAtHospital:
        return cls(hospital_id=strawberry.ID(hospital_id), balance=Money(Decimal("0.00")), recharges=[])
