"""Keeping one bad hospital from hurting the rest: a circuit breaker per hospital, a bulkhead per upstream."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import HisUnavailable

Clock = Callable[[], float]


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """Opens after ``failure_threshold`` failures in a row; after ``reset_after_s`` lets one trial through.

    Business refusals (``success: false``) are answers, not failures: only timeouts, broken
    connections, HTTP errors and unreadable replies count.
    """

    failure_threshold: int = 5
    reset_after_s: float = 10.0
    clock: Clock = time.monotonic
    _failures: int = 0
    _opened_at: float | None = None
    _trial_in_flight: bool = False

    @property
    def state(self) -> CircuitState:
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self.clock() - self._opened_at >= self.reset_after_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def entered_state_at(self) -> float | None:
        """When, on ``clock``, the breaker entered its current state; None while it is closed."""
        if self._opened_at is None:
            return None
        return self._opened_at if self.state is CircuitState.OPEN else self._opened_at + self.reset_after_s

    def allow(self) -> bool:
        """Whether a call may go out now (in half-open state, only one trial at a time)."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._trial_in_flight = False
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = self.clock()

    def release_trial(self) -> None:
        """A trial call ended without telling us anything (cancelled): let another try."""
        self._trial_in_flight = False


@dataclass
class Bulkhead:
    """At most ``limit`` calls in flight to one upstream, so a slow hospital cannot take every connection."""

    limit: int
    _semaphore: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self._semaphore = asyncio.Semaphore(self.limit)

    @property
    def in_flight(self) -> int:
        return self.limit - self._semaphore._value

    async def acquire(self) -> None:
        await self._semaphore.acquire()

    def try_acquire(self) -> bool:
        """Take a place now if one is free and nobody queues for one (what ``acquire`` does without waiting)."""
        if self._semaphore.locked():
            return False
        self._semaphore._value -= 1
        return True

    def release(self) -> None:
        self._semaphore.release()


class GatewaySaturated(HisUnavailable):
    """The gateway, not the hospital, ran out of time: the call waited in our own queue (the event loop, an
    upstream's bulkhead) until the request's deadline passed. Never a breaker failure (issue 13 item 3)."""

    code = "GATEWAY_BUSY"


LAG_TICK_S = 0.05
"""How often the loop-lag monitor looks at the clock: 20 callbacks a second, one per process."""

STALL_SHARE = 0.5
"""A call whose time went more than this share to the gateway's own stalls was cut short by the gateway."""
MIN_STALL_S = 0.25
"""...and only when those stalls add up to this much: a loaded machine's scheduling jitter is not a stall
(a hospital hung past a short deadline stays HIS_TIMEOUT)."""


class LoopLag:
    """How late the event loop runs its callbacks: a timer re-armed every ``LAG_TICK_S``, noting how late it
    fired. ``lag_s()`` is the lateness now (a stall still going on counts at once, before its tick runs);
    ``stalled_s()`` adds up every stall since the start, so a call can subtract the part of its time that the
    gateway spent busy and only the rest counts as the hospital's."""

    def __init__(self, loop: asyncio.AbstractEventLoop, tick_s: float = LAG_TICK_S) -> None:
        self.loop = loop
        self._tick_s = tick_s
        self._last_lag_s = 0.0
        self._stalled_s = 0.0
        self._due = loop.time() + tick_s
        # Its ticks run in a context of their own, not in that of the request that first asked for the monitor
        # (a timer keeps the context it was made in, and each tick's next timer the tick's).
        self._context = contextvars.Context()
        self._handle: asyncio.TimerHandle | None = loop.call_at(self._due, self._tick, context=self._context)

    def _tick(self) -> None:
        now = self.loop.time()
        late = now - self._due
        self._last_lag_s = late if late > 0 else 0.0
        self._stalled_s += self._last_lag_s
        self._due = now + self._tick_s
        self._handle = self.loop.call_at(self._due, self._tick, context=self._context)

    def _pending_s(self) -> float:
        if self._handle is None:  # stopped: no tick is due, so nothing is late (its stalls stay as counted)
            return 0.0
        late = self.loop.time() - self._due
        return late if late > 0 else 0.0

    def lag_s(self) -> float:
        """How late the loop is running now: the last tick's lateness, or a stall not yet ticked if longer."""
        pending = self._pending_s()
        return pending if pending > self._last_lag_s else self._last_lag_s

    def stalled_s(self) -> float:
        """Seconds of lateness summed since this monitor started (a clock that runs only while the loop lags)."""
        return self._stalled_s + self._pending_s()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


_monitors = threading.local()
"""Each thread's monitor, of the loop that thread runs. A served process runs one loop; a process with loops in
several threads (a gateway in a thread beside another, as tests run them) keeps one monitor per thread: a monitor
shared by the process would be replaced, and stopped, by whichever thread asked last, and the other loop's calls
would read a stopped monitor's clock."""


def loop_lag() -> LoopLag:
    """The running loop's lag monitor, started on first use (one per thread's loop; tests switch loops)."""
    loop = asyncio.get_running_loop()
    monitor: LoopLag | None = getattr(_monitors, "monitor", None)
    if monitor is None or monitor.loop is not loop:
        if monitor is not None and not monitor.loop.is_closed():
            monitor.stop()  # this thread's previous loop: done with, or it would still be running here
        monitor = _monitors.monitor = LoopLag(loop)
    return monitor


class HospitalClock:
    """A hospital's timeout measured from when its request went out, less the time the gateway itself stalled.

        async with HospitalClock(timeout_s, deadline) as clock:
            reply = await send()
        # on TimeoutError: clock.gateways_fault() says whose time ran out

    The timer checks at the hospital's timeout: if part of that time went to the loop stalling (a reply may
    have sat unread in the socket), the hospital gets that part back, up to the request's ``deadline``.
    """

    def __init__(self, timeout_s: float, deadline: float | None) -> None:
        self._timeout_s = timeout_s
        self._deadline = deadline
        self._lag = loop_lag()
        self._loop = self._lag.loop
        self._sent_at = 0.0
        self._stalled_at = 0.0
        self._task: asyncio.Task[Any] | None = None
        self._cancelling = 0
        self._expired = False
        self._check: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> HospitalClock:
        # What asyncio.timeout does, without its own object and second handle: on expiry the task is cancelled,
        # and that cancellation (ours, not another's) comes out of the block as TimeoutError.
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("HospitalClock must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._sent_at = self._loop.time()
        self._stalled_at = self._lag.stalled_s()
        self._arm(self._sent_at + self._timeout_s)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, _tb: Any) -> None:
        if self._check is not None:
            self._check.cancel()
            self._check = None
        if self._expired:
            assert self._task is not None
            # Our cancel is taken back; when it was the only one pending, the block ends in TimeoutError (a
            # cancellation from outside as well goes on as a cancellation, as with asyncio.timeout).
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    def _arm(self, when: float) -> None:
        if self._deadline is not None and when > self._deadline:
            when = self._deadline
        # In a context of its own: asyncio keeps a cancelled timer until it is due, with the context it was made in
        # (the request's, and everything it reaches), so the request's objects would outlive its response.
        self._check = self._loop.call_at(when, self._expire_or_extend, context=contextvars.Context())

    def hospital_s(self) -> float:
        """The time this hospital has had so far: since sending, less the gateway's stalls."""
        elapsed = self._loop.time() - self._sent_at
        return elapsed - (self._lag.stalled_s() - self._stalled_at)

    def gateways_fault(self) -> bool:
        """Whether the time ran out mostly in the gateway (a stalled loop), not at the hospital."""
        elapsed = self._loop.time() - self._sent_at
        stalled = self._lag.stalled_s() - self._stalled_at
        return stalled >= MIN_STALL_S and stalled > STALL_SHARE * elapsed and elapsed - stalled < self._timeout_s

    def _expire_or_extend(self) -> None:
        self._check = None
        now = self._loop.time()
        left = self._timeout_s - self.hospital_s()
        if left > 0 and (self._deadline is None or now < self._deadline):
            self._arm(now + left)  # the gateway stalled: the hospital gets that time back
            return
        assert self._task is not None
        self._expired = True
        self._task.cancel()


def stall_mark() -> tuple[float, float]:
    """Now, on the loop's clock and on the stall clock: give it to ``stalled_since`` when the time runs out."""
    lag = loop_lag()
    return lag.loop.time(), lag.stalled_s()


def stalled_since(mark: tuple[float, float]) -> bool:
    """Whether the gateway's loop stalled for more than ``STALL_SHARE`` of the time since ``mark``: a deadline
    that ran out then ran out in the gateway (GatewaySaturated), not at the hospital (HisTimeout)."""
    lag = loop_lag()
    elapsed = lag.loop.time() - mark[0]
    stalled = lag.stalled_s() - mark[1]
    return stalled >= MIN_STALL_S and stalled > STALL_SHARE * elapsed
