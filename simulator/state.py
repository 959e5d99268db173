"""The simulator's whole state: the hospitals, faults, latencies, the call log, and dispatch."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from simulator.catalog import entries_by_method
from simulator.data import vocab
from simulator.data.build import build_hospital
from simulator.data.model import Hospital, PendingItem, beijing_now
from simulator.envelope import HOSPITAL_UNKNOWN, MISSING_PARAM, Rejected, Reply, fail
from simulator.faults import CallLog, FaultRegistry, LatencyTable
from simulator.handlers import handler_for
from simulator.handlers.context import CallContext
from simulator.handlers.registration import seed_registrations
from simulator.validation import Body, validate

NOT_OPENED = "40003"


class Simulator:
    """A region of simulated hospitals: standalone ones and one regional (县域集中部署) endpoint."""

    def __init__(self, *, seed: int, standalone: Sequence[str], regional: Sequence[str]) -> None:
        self.seed = seed
        self.standalone_ids = tuple(str(hospital_id) for hospital_id in standalone)
        self.regional_ids = tuple(str(hospital_id) for hospital_id in regional)
        self.faults = FaultRegistry()
        self.latency = LatencyTable(seed)
        self.calls = CallLog()
        self.hospitals: dict[str, Hospital] = {}
        self.reset()

    def reset(self) -> None:
        """Rebuild every hospital's data from the seed (faults and the call log are kept)."""
        now = beijing_now()
        self.hospitals = {
            hospital_id: build_hospital(hospital_id, seed=self.seed, now=now)
            for hospital_id in (*self.standalone_ids, *self.regional_ids)
        }
        for hospital in self.hospitals.values():
            seed_registrations(hospital)

    def prescribe(self, *, hospital_id: str, medical_card_number: str, count: int) -> list[str]:
        """Add `count` unpaid items (one prescription) to a card's bill; their detail ids."""
        hospital = self.hospitals[hospital_id]
        patient = hospital.by_card.get(medical_card_number)
        if patient is None or not 1 <= count <= 20:
            raise ValueError(f"no card {medical_card_number} at {hospital_id}, or {count} items")
        rng = random.Random(f"{self.seed}:{hospital_id}:{hospital.counter}")  # noqa: S311 - simulated data
        pres_code = hospital.next_id("CF")
        now = beijing_now()
        added = []
        for _ in range(count):
            name, unit, price, _category = rng.choice(vocab.DRUGS)
            item = PendingItem(hospital.next_id("RX"), name, price, rng.randrange(1, 4), unit, "李时珍", pres_code, now)
            patient.pending.append(item)
            added.append(item.item_id)
        return added

    def applied(self) -> dict[str, dict[str, int]]:
        return {hospital_id: dict(hospital.applied) for hospital_id, hospital in self.hospitals.items()}

    def resolve(self, *, route_hospital_id: str | None, body: dict[str, Any], method: str) -> list[str]:
        """The hospital ids a call is for: the path's, or the body's hospitalId at the regional endpoint."""
        if route_hospital_id is not None:
            if route_hospital_id not in self.standalone_ids:
                raise Rejected(HOSPITAL_UNKNOWN)
            return [route_hospital_id]
        raw = str(Body(body).get("hospitalId") or "").strip()
        entry = entries_by_method().get(method)
        multi = entry is not None and entry.multi_hospital
        if not raw:
            if multi:
                return list(self.regional_ids)
            raise Rejected(MISSING_PARAM, "缺少参数: hospitalId")
        asked = [part.strip() for part in raw.split(",") if part.strip()]
        served = [hospital_id for hospital_id in asked if hospital_id in self.regional_ids]
        if not served or (not multi and len(asked) > 1):
            raise Rejected(HOSPITAL_UNKNOWN)
        return served

    def handle(self, *, hospital_ids: list[str], method: str, body: dict[str, Any]) -> Reply:
        """Answer one call (faults are the caller's business); never raises for business errors."""
        entry = entries_by_method().get(method)
        handler = handler_for(method)
        if entry is None or handler is None:
            return fail(NOT_OPENED, f"医院没有开通本接口: {method}")
        lenient = Body(body)
        try:
            validate(entry, lenient)
            ctx = CallContext(entry, lenient, [self.hospitals[h] for h in hospital_ids], beijing_now())
            return handler(ctx)
        except Rejected as rejected:
            return fail(rejected.code, rejected.msg)
