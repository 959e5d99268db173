"""The patient's identity and card money at each hospital: profile (2.1.1), cards held (2.1.3), balance
(7.1.1) and what of it can be refunded (8.1.1)."""

from __future__ import annotations

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

from ..context import Info
from ..fanout import per_hospital
from .common import PER_HOSPITAL, HospitalIds, IdCardNumber, request
from .profile import CardBalance, HeldCardsAtHospital, ProfileAtHospital, RefundableBalance


@strawberry.type
class PatientCardFields:
    """Card and identity fields of Patient (2.1.1, 2.1.3, 7.1.1, 8.1.1), through PatientRecordFields."""

    if TYPE_CHECKING:
        medical_card_number: str

    @strawberry.field(description="The patient as each hospital knows them (2.1.1 queryPatientInfo)." + PER_HOSPITAL)
    def hospital_profiles(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[ProfileAtHospital | None]:
        req = QueryPatientInfoRequest(medical_card_number=self.medical_card_number, id_card=id_card_number)
        return per_hospital(  # type: ignore[return-value]
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
        )
    )
    def cards_of_holder(
        self,
        info: Info,
        hospital_id: HospitalIds,
        name: Annotated[str, strawberry.argument(description="The holder's name (姓名).")],
        id_card_number: Annotated[str, strawberry.argument(description="The holder's ID-card number (身份证号).")],
    ) -> list[HeldCardsAtHospital | None]:
        req = SelHisCardListByNameAndIdCardRequest(name=name, id_card=id_card_number)
        return per_hospital(  # type: ignore[return-value]
            info,
            hospital_id,
            method=SEL_HIS_CARD_LIST_BY_NAME_AND_ID_CARD,
            request=req,
            convert=HeldCardsAtHospital.from_reply,
            empty=HeldCardsAtHospital.none,
        )

    @strawberry.field(
        description="The balance of the patient's card at each hospital (7.1.1 queryBalance)." + PER_HOSPITAL
    )
    def card_balances(
        self, info: Info, hospital_id: HospitalIds, id_card_number: IdCardNumber = None
    ) -> list[CardBalance | None]:
        req = QueryBalanceRequest(medical_card_number=self.medical_card_number, id_card=id_card_number)
        return per_hospital(  # type: ignore[return-value]
            info,
            hospital_id,
            method=QUERY_BALANCE,
            request=req,
            convert=CardBalance.from_reply,
            empty=CardBalance.unknown,
        )

    @strawberry.field(
        description=(
            "What can be refunded from the patient's card at each hospital, recharge by recharge (8.1.1 "
            "getRefundBlance)." + PER_HOSPITAL
        )
    )
    def refundable_balances(
        self,
        info: Info,
        hospital_id: HospitalIds,
        id_card_number: IdCardNumber = None,
        since: Annotated[
            str | None,
            strawberry.argument(
                description="Only recharges since this day, yyyy-MM-dd; the hospital's default is three months."
            ),
        ] = None,
    ) -> list[RefundableBalance | None]:
        req = request(
            GetRefundBalanceRequest,
            medical_card_number=self.medical_card_number,
            id_card=id_card_number,
            start_time=since,
        )
        return per_hospital(  # type: ignore[return-value]
            info,
            hospital_id,
            method=GET_REFUND_BALANCE,
            request=req,
            convert=RefundableBalance.from_reply,
            empty=RefundableBalance.nothing,
        )
