"""What goes wrong during the run: the hospitals' faults, the provider's, and the gateway's deaths.

Faults are transient on purpose (each hits a few calls, then is gone), so every payment can end
NOTIFIED or REFUNDED: a hospital that times out, answers HTTP 500, answers broken JSON, answers a
"try again" code (10003 / 40001 / 40004 / 90001), or applies the payment and loses the reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from typing import Any

import httpx

from .patient import HOSPITALS, harness_call

NOTIFY_METHODS = (
    "hospital.interface.clinicPayment",  # 3.1.2
    "hospital.interface.paySuccess",  # 7.1.2
    "hospital.interface.paymentOfDeposit",  # 10.1.2
    "hospital.interface.todayRegisterToRegister",  # 20.1.7
    "hospital.interface.yyghRegister",  # 21.2.4
)
CANCEL_METHODS = (
    "hospital.interface.todayRegisterCancleRegister",  # 20.1.8
    "hospital.interface.cancelAppointment",  # 21.2.3
)
CHECK_METHODS = (
    "hospital.interface.reconciliation.queryByOutTradeNo",  # 14.2.2: did the hospital apply it?
    "hospital.interface.refundQuery",  # 13.1.1: may it be refunded?
)
KINDS = ("hang", "http500", "invalid_json", "lost_reply", "lost_reply", "code")
UNCLEAR_CODES = ("10003", "40001", "40004", "90001")


class FaultMonkey:
    """Injects one random transient fault every `every_s` seconds until stopped; counts what it did."""

    def __init__(
        self, *, client: httpx.AsyncClient, simulator_url: str, provider_url: str, rng: random.Random, every_s: float
    ) -> None:
        self._client = client
        self._simulator_url = simulator_url
        self._provider_url = provider_url
        self._rng = rng
        self._every_s = every_s
        self.injected: Counter[str] = Counter()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(httpx.HTTPError):  # the simulator is busy: the next one
                await self.inject_one()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._rng.uniform(0.5, 1.5) * self._every_s)

    async def inject_one(self) -> None:
        rng = self._rng
        if rng.random() < 0.08:
            # The provider answers 500 to the next signed request (a prepay, a refund, a bill...).
            await harness_call(self._client, "POST", f"{self._provider_url}/admin/faults", json={"statuses": [500]})
            self.injected["provider_500"] += 1
            return
        dice = rng.random()
        methods = NOTIFY_METHODS if dice < 0.7 else CHECK_METHODS if dice < 0.85 else CANCEL_METHODS
        method = rng.choice(methods)
        kind = rng.choice(KINDS)
        fault: dict[str, Any] = {
            "hospitalId": rng.choice((*HOSPITALS, "*")),
            "method": method,
            "kind": kind,
            "times": rng.randint(1, 3),
        }
        if kind == "code":
            fault["code"] = rng.choice(UNCLEAR_CODES)
        response = await harness_call(self._client, "POST", f"{self._simulator_url}/admin/faults", json=fault)
        response.raise_for_status()
        self.injected[kind] += 1

    async def lift(self) -> None:
        """Every fault not yet used up is removed: what follows is settling, not chaos."""
        await harness_call(self._client, "DELETE", f"{self._simulator_url}/admin/faults")
        await harness_call(self._client, "DELETE", f"{self._provider_url}/admin/faults")
