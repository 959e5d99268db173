"""Entry points for paying what the hospital bills or holds: the outpatient bill, card recharge, deposits, admission."""

from __future__ import annotations

from decimal import Decimal

from his_clients.errors import HisError
from his_clients.models.inpatient_records import (
    GET_APPLICATION_HOSPITAL_INFORMATION,
    GetApplicationHospitalInformationRequest,
)
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest

from .entry_base import PaymentServiceParts
from .results import ZERO, CreatedOrder, QuoteUnavailable
from .sagas.admission import AdmissionFlow
from .sagas.deposit import DepositFlow
from .sagas.outpatient import OutpatientFlow
from .sagas.recharge import RechargeFlow


class BillEntries(PaymentServiceParts):
    """PaymentService's create_* for the outpatient bill (3.1), recharge (7.1), deposit (10.1), admission (36.1)."""

    async def create_outpatient_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for the bill 3.1.1 quotes right now: its total as quoted, its detail ids kept for 3.1.2."""
        quote = await self._his.call(
            QUERY_WAIT_PAY,
            hospital_id,
            QueryWaitPayRequest(medical_card_number=medical_card_number, id_card=id_card),
        )
        items = [{"id": item.id, "pres_code": item.pres_code, "amount": str(item.item_amount)} for item in quote.detail]
        snapshot = {
            "amount": str(quote.amount),
            "discount_amount": str(quote.discount_amount),
            "detail_ids": [item.id for item in quote.detail],
            "items": items,
        }
        return await self._create(
            flow=OutpatientFlow.name,
            business_type=OutpatientFlow.business_type,
            description="诊间支付",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=quote.amount,
            discount=quote.discount_amount,
            balance_payment=balance_payment,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_recharge_order(
        self, *, hospital_id: str, medical_card_number: str, amount: Decimal, payer_openid: str | None = None
    ) -> CreatedOrder:
        """An order to put `amount` yuan on the card's balance (7.1.2)."""
        return await self._create(
            flow=RechargeFlow.name,
            business_type=RechargeFlow.business_type,
            description="就诊卡充值",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=amount,
            quote={"amount": str(amount)},
            payer_openid=payer_openid,
        )

    async def create_deposit_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        admission_number: str | None,
        amount: Decimal,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for an inpatient deposit of `amount` yuan (10.1.2)."""
        return await self._create(
            flow=DepositFlow.name,
            business_type=DepositFlow.business_type,
            description="住院押金",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=amount,
            quote={"amount": str(amount), "admission_number": admission_number},
            payer_openid=payer_openid,
        )

    async def create_admission_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str | None = None,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for what the admission application asks now (36.1.1 prepayAmount); 36.1.2 follows payment.

        No application, one asking nothing, or one already paid raises QuoteUnavailable; no order is written.
        """
        try:
            application = await self._his.call(
                GET_APPLICATION_HOSPITAL_INFORMATION,
                hospital_id,
                GetApplicationHospitalInformationRequest(medical_card_number=medical_card_number, id_card=id_card),
            )
        except HisError as error:
            raise QuoteUnavailable(f"36.1.1 gave no admission application: {error}", code=error.code) from error
        if not application.admission_card_id or application.prepay_amount <= 0:
            raise QuoteUnavailable("the admission application asks nothing to pay", code="60102")
        if (application.apply_status or "").strip() == "已缴费":
            raise QuoteUnavailable("the admission application is paid already", code="40002")
        snapshot = {
            "amount": str(application.prepay_amount),
            "admission_card_id": application.admission_card_id,
            "admission_number": application.admission_number,
            "dept_name": application.dept_name,
            "id_card": id_card,
        }
        return await self._create(
            flow=AdmissionFlow.name,
            business_type=AdmissionFlow.business_type,
            description="入院申请缴费",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=application.prepay_amount,
            quote=snapshot,
            payer_openid=payer_openid,
        )
