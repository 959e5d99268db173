"""What the flow entry points (entry_*.py) share: how they ask a hospital, and the order they price."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal

from his_clients.client import HisClient

from .quotes import Quote
from .results import ZERO


@dataclass(frozen=True, slots=True)
class HospitalAsk:
    """How an entry point asks a hospital: the client, and how long one call may take (retries included)."""

    his: HisClient
    timeout_s: float

    def deadline(self) -> float:
        """The deadline of one HIS call made now (HisClient.call requires one)."""
        return asyncio.get_running_loop().time() + self.timeout_s


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """An order an entry point priced, for PaymentService to write: its quote (which names the flow) and money."""

    quote: Quote
    business_type: str
    description: str
    hospital_id: str
    medical_card_number: str
    total: Decimal
    discount: Decimal = ZERO
    balance_payment: Decimal = ZERO
    unified_pay_amount: Decimal = ZERO
    unified_pay_trade_no: str | None = None
