"""The patient's identity and card money at each hospital: profile (2.1.1), cards held (2.1.3), balance
(7.1.1) and what of it can be refunded (8.1.1)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.card_balance import (
    GET_REFUND_BALANCE,
    QUERY_BALANCE,
    GetRefundBalanceRequest,
    QueryBalanceRequest,
)
from his_clients.models.cards import (
    QUERY_PATIENT_INFO,
    SEL_HIS_CARD_LIST_BY_NAME_AND_ID_CARD,
    QueryPatientInfoRequest,
    SelHisCardListByNameAndIdCardRequest,
)

from ..arguments import HospitalIds, spec_day
from ..context import Info
from ..fanout import per_hospital
from .common import PER_HOSPITAL, IdCardNumber, request
from .profile import CardBalanceAtHospital, HeldCardsAtHospital, ProfileAtHospital, RefundableBalanceAtHospital


@strawberry.type
class PatientCardFields:
    """Card and identity fields of Patient (2.1.1, 2.1.3, 7.1.1, 8.1.1), through PatientRecordFields."""

    if TYPE_CHECKING:
        medical_card_number: str

    @strawberry.field(
        description="The patient as each hospital knows them (2.1.1 queryPatientInfo)." + PER_HOSPITAL,
        graphql_type=list[ProfileAtHospital | None],
    )
    def hospital_profiles(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[ProfileAtHospital]]:
        req = QueryPatientInfoRequest(medical_card_number=self.medical_card_number, id_card=id_card_number)
        return per_hospital(
            info,
            hospital_id,
            method=QUERY_PATIENT_INFO,
            request=req,
            convert=ProfileAtHospital.from_reply,
            empty=ProfileAtHospital.unknown,
        )

    @strawberry.field(
        description=(
            "Every in-hospital card (院内就诊卡) a person holds at each hospital, found by name and ID-card number "
            "(2.1.3 selHisCardListByNameAndIdCard), e.g. to offer binding them." + PER_HOSPITAL
        ),
        graphql_type=list[HeldCardsAtHospital | None],
    )
    def cards_of_holder(
        self,
        info: Info,
        hospital_id: HospitalIds,
        name: Annotated[str, strawberry.argument(description="The holder's name (姓名).")],
        id_card_number: Annotated[str, strawberry.argument(description="The holder's ID-card number (身份证号).")],
    ) -> list[Awaitable[HeldCardsAtHospital]]:
        req = SelHisCardListByNameAndIdCardRequest(name=name, id_card=id_card_number)
        return per_hospital(
            info,
            hospital_id,
            method=SEL_HIS_CARD_LIST_BY_NAME_AND_ID_CARD,
            request=req,
            convert=HeldCardsAtHospital.from_reply,
            empty=HeldCardsAtHospital.none,
        )

    @strawberry.field(
        description="The balance of the patient's card at each hospital (7.1.1 queryBalance)." + PER_HOSPITAL,
        graphql_type=list[CardBalanceAtHospital | None],
    )
    def card_balances(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[Awaitable[CardBalanceAtHospital]]:
        req = QueryBalanceRequest(medical_card_number=self.medical_card_number, id_card=id_card_number)
        return per_hospital(
            info,
            hospital_id,
            method=QUERY_BALANCE,
            request=req,
            convert=CardBalanceAtHospital.from_reply,
            empty=CardBalanceAtHospital.unknown,
        )

    @strawberry.field(
        description=(
            "What can be refunded from the patient's card at each hospital, recharge by recharge (8.1.1 "
            "getRefundBlance)." + PER_HOSPITAL
        ),
        graphql_type=list[RefundableBalanceAtHospital | None],
    )
    def refundable_balances(
        self,
        info: Info,
        hospital_id: HospitalIds,
        id_card_number: IdCardNumber = None,
        from_: Annotated[
            date | None,
            strawberry.argument(
                name="from", description="Only recharges since this day; the hospital's default is three months."
            ),
        ] = None,
    ) -> list[Awaitable[RefundableBalanceAtHospital]]:
        req = request(
            GetRefundBalanceRequest,
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            start_time=None if from_ is None else spec_day(from_),
        )
        return per_hospital(
            info,
            hospital_id,
            method=GET_REFUND_BALANCE,
            request=req,
            convert=RefundableBalanceAtHospital.from_reply,
            empty=RefundableBalanceAtHospital.nothing,
        )
