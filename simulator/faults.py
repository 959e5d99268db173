"""Injected faults, base latencies and the record of calls received, all changeable at runtime."""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

FaultKind = Literal["latency", "hang", "http500", "invalid_json", "code", "lost_reply"]
FAULT_KINDS: tuple[str, ...] = ("latency", "hang", "http500", "invalid_json", "code", "lost_reply")


@dataclass(slots=True)
class Fault:
    """One injected fault; `times` counts down the calls it still affects (None: until cleared)."""

    hospital_id: str
    method: str
    kind: FaultKind
    latency_ms: int = 0
    code: str = "10003"
    msg: str = ""
    times: int | None = None

    def matches(self, hospital_id: str, method: str) -> bool:
        return self.hospital_id in (hospital_id, "*") and self.method in (method, "*")

    def as_json(self) -> dict[str, Any]:
        return {
            "hospitalId": self.hospital_id,
            "method": self.method,
            "kind": self.kind,
            "latencyMs": self.latency_ms,
            "code": self.code,
            "msg": self.msg,
            "times": self.times,
        }


class FaultRegistry:
    """Faults per hospital and method; thread-safe because tests change them from another thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        *,
        hospital_id: str,
        method: str = "*",
        kind: FaultKind,
        latency_ms: int = 0,
        code: str = "10003",
        msg: str = "",
        times: int | None = None,
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        fault = Fault(hospital_id, method, kind, latency_ms, code, msg, times)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self, *, hospital_id: str | None = None, method: str | None = None) -> int:
        with self._lock:
            keep = [
                fault
                for fault in self._faults
                if (hospital_id is not None and fault.hospital_id != hospital_id)
                or (method is not None and fault.method != method)
            ]
            removed = len(self._faults) - len(keep)
            self._faults = keep
        return removed

    def take(self, hospital_id: str, method: str) -> list[Fault]:
        """The faults that apply to this call, using up one of each one's `times`."""
        taken = []
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(hospital_id, method):
                    continue
                taken.append(fault)
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
        return taken

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.as_json() for fault in self._faults]


class LatencyTable:
    """A base latency range per hospital, for benchmarks; drawn from a seeded generator."""

    def __init__(self, seed: int) -> None:
        self._ranges: dict[str, tuple[int, int]] = {}
        self._rng = random.Random(seed)  # noqa: S311 - simulated latency, not secrets
        self._lock = threading.Lock()

    def set(self, *, hospital_id: str, min_ms: int, max_ms: int) -> None:
        with self._lock:
            if max_ms <= 0:
                self._ranges.pop(hospital_id, None)
            else:
                self._ranges[hospital_id] = (min_ms, max(min_ms, max_ms))

    def clear(self) -> None:
        with self._lock:
            self._ranges.clear()

    def draw_ms(self, hospital_id: str) -> int:
        with self._lock:
            bounds = self._ranges.get(hospital_id) or self._ranges.get("*")
            if bounds is None:
                return 0
            return self._rng.randint(*bounds)


class CallLog:
    """The last `limit` calls received, to prove which HIS calls a gateway made."""

    def __init__(self, limit: int = 10_000) -> None:
        self._calls: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def record(self, *, hospital_id: str, method: str, body: Any, traceparent: str | None = None) -> None:
        entry = {"hospitalId": hospital_id, "method": method, "body": body, "at": datetime.now().isoformat()}
        if traceparent:
            entry["traceparent"] = traceparent  # W3C trace context the gateway passed on (issue 14)
        with self._lock:
            self._calls.append(entry)

    def list(self, *, method: str | None = None, hospital_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            calls = list(self._calls)
        return [
            call
            for call in calls
            if (not method or call["method"] == method) and (not hospital_id or call["hospitalId"] == hospital_id)
        ]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def __len__(self) -> int:
        return len(self._calls)
