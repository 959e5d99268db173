"""What the flow entry points (entry_*.py) rely on from the PaymentService that composes them."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from his_clients.client import HisClient
from store.db import Database

from .clock import Clock
from .results import ZERO, CreatedOrder

if TYPE_CHECKING:
    from .entry_online import MedicalRecordTariff


class PaymentServiceParts:
    """The attributes and the order writer services.payments.orders.PaymentService gives its entry-point mixins."""

    _db: Database
    _his: HisClient
    _clock: Clock
    _medical_record_tariff: MedicalRecordTariff
    _his_timeout_s: float
    """How long one HIS call of an entry point may take, retries included (PaymentService's ``his_timeout_s``)."""

    def _his_deadline(self) -> float:
        """The deadline of one HIS call an entry point makes (HisClient.call requires one)."""
        return asyncio.get_running_loop().time() + self._his_timeout_s

    async def _create(
        self,
        *,
        flow: str,
        business_type: str,
        description: str,
        hospital_id: str,
        medical_card_number: str,
        total: Decimal,
        quote: dict[str, Any],
        payer_openid: str | None,
        discount: Decimal = ZERO,
        balance_payment: Decimal = ZERO,
        unified_pay_amount: Decimal = ZERO,
        unified_pay_trade_no: str | None = None,
    ) -> CreatedOrder:
        """Commit the order, then ask the provider to prepay: PaymentService._create does it."""
        raise NotImplementedError
