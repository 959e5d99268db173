"""A small ring of recent call outcomes per hospital, for the operators' hospitalHealth (issue 15 item 5).

``observe.his_call`` notes every call that went out (cache hits are not calls) in the calling client's
``CallRing``: its wall time, seconds, outcome kind, code and method. Each hospital keeps at most ``RING_SIZE``
recent outcomes in a deque (one append on the hot path; nothing is computed until an operator asks). The ring
also keeps each hospital's latest failure, the breaker state seen after its latest call and since when, and
when reference data (methods the reference cache keeps) was last loaded from it.

One ring per HisClient, so per process: services/operations/health.py merges the workers' rings through Redis
when one is configured.
"""

from __future__ import annotations

import os
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Final

RING_SIZE: Final = 512
"""Outcomes kept per hospital: enough for 15 minutes of a busy hospital's share of calls, a few kB each."""
FAILURE_KINDS: Final = frozenset({"timeout", "connect", "http", "protocol", "error"})
"""What counts as an error in the error rate: no answer or an unusable one (a business refusal is an answer)."""
NOT_SENT_KINDS: Final = frozenset({"circuit_open", "budget"})
"""Calls refused before going out (an open circuit, the request's budget): no latency, not the hospital's error."""


@dataclass(frozen=True, slots=True)
class Outcome:
    at: float
    """Wall-clock time (epoch seconds) the call ended."""
    seconds: float
    kind: str
    code: str
    method: str

    @property
    def failed(self) -> bool:
        return self.kind in FAILURE_KINDS


_reference_methods: frozenset[str] | None = None


def _is_reference(method: str) -> bool:
    global _reference_methods
    if _reference_methods is None:
        from .caching import DEFAULT_TTL_S  # caching imports observe, which imports this module

        _reference_methods = frozenset(DEFAULT_TTL_S)
    return method in _reference_methods


class CallRing:
    """One client's recent call outcomes, per hospital."""

    def __init__(self) -> None:
        self.instance = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        """Names this client's figures where workers share them (services/operations/health.py)."""
        self._rings: dict[str, deque[Outcome]] = {}
        self._last_error: dict[str, Outcome] = {}
        self._reference_loads: dict[str, dict[str, float]] = {}
        self._circuit_since: dict[str, tuple[str, float]] = {}
        self.changed = False
        """Set when a failure or a circuit change was noted since the figures were last published."""

    def note(self, hospital_id: str, method: str, seconds: float, kind: str, code: str, circuit: str) -> None:
        """One call's outcome, and the breaker's state after it."""
        now = time.time()
        seen = self._circuit_since.get(hospital_id)
        if seen is None or seen[0] != circuit:
            self._circuit_since[hospital_id] = (circuit, now)
            self.changed = True
        if kind == "cancelled":
            return
        ring = self._rings.get(hospital_id)
        if ring is None:
            ring = self._rings[hospital_id] = deque(maxlen=RING_SIZE)
        outcome = Outcome(now, seconds, kind, code, method)
        ring.append(outcome)
        if outcome.failed:
            self._last_error[hospital_id] = outcome
            self.changed = True
        elif kind == "ok" and _is_reference(method):
            self._reference_loads.setdefault(hospital_id, {})[method] = now

    def recent(self, hospital_id: str, seconds: float, *, now: float | None = None) -> list[Outcome]:
        """The hospital's outcomes that ended in the last ``seconds``, oldest first."""
        since = (time.time() if now is None else now) - seconds
        return [o for o in self._rings.get(hospital_id, ()) if o.at >= since]

    def last_error(self, hospital_id: str) -> Outcome | None:
        return self._last_error.get(hospital_id)

    def reference_loaded_at(self, hospital_id: str) -> float | None:
        """When reference data was last loaded from the hospital (wall clock); None when never."""
        loads = self._reference_loads.get(hospital_id)
        return max(loads.values()) if loads else None

    def circuit_seen(self, hospital_id: str) -> tuple[str, float] | None:
        """The breaker state seen after the hospital's latest call, and since when (wall clock) it was seen so."""
        return self._circuit_since.get(hospital_id)


_rings: weakref.WeakKeyDictionary[object, CallRing] = weakref.WeakKeyDictionary()


def ring_of(client: object) -> CallRing:
    """The client's ring (made on first use)."""
    ring = _rings.get(client)
    if ring is None:
        ring = _rings[client] = CallRing()
    return ring


def percentile(ordered: list[float], share: float) -> float:
    """The value at ``share`` (0-1) of a sorted, non-empty list (nearest rank)."""
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]
