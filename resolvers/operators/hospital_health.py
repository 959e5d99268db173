"""operator { hospitalHealth }: each hospital's state, from the breakers and the call ring (issue 15 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

import strawberry

from services.identity.principal import OperatorPrincipal
from services.operations.health import HospitalHealth as HealthRecord
from services.operations.health import Window, hospital_health

from ..context import Info
from ..hospitals.entry import HospitalEntry
from .orders import signed_in


def _at(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@strawberry.enum(description="A hospital's circuit breaker (his_clients/resilience.py).")
class CircuitState(Enum):
    CLOSED = strawberry.enum_value("closed", description="Calls go out.")
    OPEN = strawberry.enum_value("open", description="No calls until the hospital recovers.")
    HALF_OPEN = strawberry.enum_value("half_open", description="One trial call at a time.")

    @classmethod
    def read(cls, text: str) -> CircuitState | None:
        try:
            return cls(text.replace("-", "_"))
        except ValueError:
            return None


@strawberry.type(description="A hospital's calls over a recent window.")
class HealthWindow:
    minutes: int = strawberry.field(description="The window: the last 5 or 15 minutes.")
    calls: int = strawberry.field(description="Calls that went out to the hospital (cache hits are not calls).")
    not_sent: int = strawberry.field(
        description="Calls not sent: refused by the open circuit or by the request's hospital-call budget."
    )
    errors: int = strawberry.field(
        description="Of the calls sent, failures: timeouts, broken connections, HTTP errors, unreadable replies "
        "(business refusals are answers, not errors)."
    )
    error_rate: float | None = strawberry.field(description="errors / calls; null without calls.")
    p50_ms: float | None = strawberry.field(description="Median latency in milliseconds; null without calls.")
    p95_ms: float | None = strawberry.field(description="95th-percentile latency in milliseconds; null without calls.")

    @classmethod
    def of(cls, w: Window) -> HealthWindow:
        return cls(
            minutes=w.minutes,
            calls=w.calls,
            not_sent=w.not_sent,
            errors=w.errors,
            error_rate=w.error_rate,
            p50_ms=None if w.p50_s is None else round(w.p50_s * 1000, 1),
            p95_ms=None if w.p95_s is None else round(w.p95_s * 1000, 1),
        )


@strawberry.type(description="The latest failed call to a hospital.")
class HealthLastError:
    code: str = strawberry.field(description="Its code (HIS_TIMEOUT, HIS_CONNECT, HTTP_500, HIS_CIRCUIT_OPEN...).")
    method: str = strawberry.field(description="The HIS method called.")
    at: datetime = strawberry.field(description="When (UTC).")


@strawberry.type(description="One hospital's health as the gateway sees it, without calling the hospital.")
class HealthAtHospital(HospitalEntry):
    name: str = strawberry.field(description="Its name, from the registry.")
    circuit: CircuitState | None = strawberry.field(
        description="Its circuit breaker: CLOSED, OPEN or HALF_OPEN; null for a state this build does not know."
    )
    circuit_since: datetime | None = strawberry.field(
        description="Since when the circuit is in that state (UTC); null when closed since the gateway started."
    )
    windows: list[HealthWindow] = strawberry.field(description="Calls over the last 5 and the last 15 minutes.")
    last_error: HealthLastError | None = strawberry.field(description="The latest failed call; null when none.")
    in_flight: int = strawberry.field(description="Calls in flight to its HIS (or its regional endpoint) now.")
    bulkhead_limit: int = strawberry.field(
        description="At most this many calls in flight at once (the bulkhead, per upstream; summed over workers)."
    )
    reference_data_loaded_at: datetime | None = strawberry.field(
        description="When reference data (departments, doctors, schedules...) was last loaded from it (UTC); "
        "null when never here."
    )
    reference_data_age_seconds: int | None = strawberry.field(
        description="Seconds since that load (the newest cached reference data is this old); null when never."
    )
    degraded: bool = strawberry.field(
        description="Whether the hospital is degraded: circuit not closed, half or more of 5 minutes' calls "
        "failing, or a 5-minute p95 at half its timeout or more."
    )
    degraded_because: list[str] = strawberry.field(description="Why it is degraded, in words; empty when not.")
    workers: int = strawberry.field(description="How many gateway workers' figures were merged into this entry.")

    @classmethod
    def of(cls, h: HealthRecord, now: float) -> HealthAtHospital:
        return cls(
            hospital_id=strawberry.ID(h.hospital_id),
            name=h.name,
            circuit=CircuitState.read(h.circuit),
            circuit_since=_at(h.circuit_since),
            windows=[HealthWindow.of(w) for w in h.windows],
            last_error=None
            if h.last_error is None
            else HealthLastError(
                code=h.last_error.code,
                method=h.last_error.method,
                at=datetime.fromtimestamp(h.last_error.at, UTC),
            ),
            in_flight=h.in_flight,
            bulkhead_limit=h.bulkhead_limit,
            reference_data_loaded_at=_at(h.reference_loaded_at),
            reference_data_age_seconds=None if h.reference_loaded_at is None else int(now - h.reference_loaded_at),
            degraded=h.degraded,
            degraded_because=list(h.degraded_because),
            workers=h.instances,
        )


async def health(info: Info) -> list[HealthAtHospital]:
    principal: OperatorPrincipal = signed_in(info)
    services = info.context.services
    found = await hospital_health(services.his, services.registry)
    now = datetime.now(UTC).timestamp()
    return [HealthAtHospital.of(h, now) for h in found if principal.may_see(h.hospital_id)]


hospital_health_field = strawberry.field(
    resolver=health,
    description=(
        "Every hospital's health, served from the circuit breakers and the record of recent calls, without "
        "calling any hospital: circuit state and since when, p50/p95 latency and error rate over the last 5 and "
        "15 minutes, the last error, calls in flight against the bulkhead, and the age of reference data. With "
        "Redis configured (cache_backend = redis) every worker publishes its figures there for 30 s and the "
        "answer merges every live worker's; otherwise it is this worker's alone. A hospital operator sees only "
        "their hospital."
    ),
)
