"""HospitalClock's own cancellation (his_clients/resilience.py): as ``asyncio.timeout`` does it, on the real loop.
A block that outlasts the hospital's time ends in TimeoutError and leaves no cancellation pending; a cancellation
from outside stays a cancellation, whether or not the clock ran out too; the request's deadline caps the time."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from his_clients.resilience import HospitalClock, LoopLag, loop_lag


async def test_a_block_that_outlasts_the_time_is_a_timeout_and_leaves_nothing_pending() -> None:
    task = asyncio.current_task()
    assert task is not None
    with pytest.raises(TimeoutError):
        async with HospitalClock(0.05, None):
            await asyncio.sleep(10)
    assert task.cancelling() == 0
    await asyncio.sleep(0.01)  # the task goes on normally: no stray cancellation arrives later


async def test_a_block_that_ends_in_time_is_left_alone() -> None:
    async with HospitalClock(5.0, None) as clock:
        await asyncio.sleep(0.01)
    assert 0 < clock.hospital_s() < 5
    await asyncio.sleep(0.01)


async def test_the_deadline_caps_the_hospitals_time() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        async with HospitalClock(30.0, started + 0.05):
            await asyncio.sleep(10)
    assert loop.time() - started < 5  # a wide margin: the deadline, not the 30 s timeout, ended it


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def call() -> None:
        async with HospitalClock(5.0, None):
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_cancellation_from_outside_as_the_time_runs_out_stays_a_cancellation() -> None:
    loop = asyncio.get_running_loop()

    async def call() -> None:
        # The deadline caps the time (no stall is given back past it): the clock expires at 0.02 s.
        async with HospitalClock(0.02, loop.time() + 0.02):
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await asyncio.sleep(0)
    loop.call_later(0.005, time.sleep, 0.1)  # the loop is held: the clock's expiry and the cancel fall due together
    loop.call_later(0.03, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_time_the_loop_stalled_is_given_back_to_the_hospital() -> None:
    """A reply may sit unread while the gateway's loop is held: that time is not the hospital's."""
    loop_lag()
    await asyncio.sleep(0.1)  # the lag monitor runs before the stall
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[str] = loop.create_future()
    loop.call_later(0.01, time.sleep, 0.4)  # held past the 0.3 s timeout
    loop.call_later(0.02, reply.set_result, "answered")  # the answer came in while the loop was held
    async with HospitalClock(0.3, None) as clock:
        assert await reply == "answered"
    assert not clock.gateways_fault() or clock.hospital_s() < 0.3


async def test_each_threads_loop_keeps_its_own_lag_monitor() -> None:
    """A gateway running in another thread (its own loop) must not replace, and stop, this loop's monitor: a
    clock reading a stopped monitor would take all the time since as the gateway's stall and wait for the
    request's deadline instead of the hospital's timeout."""
    mine = loop_lag()
    theirs: list[object] = []

    def other_thread() -> None:
        async def ask() -> None:
            theirs.append(loop_lag())

        asyncio.run(ask())

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(10)
    assert theirs
    assert theirs[0] is not mine
    assert loop_lag() is mine
    before = mine.stalled_s()
    await asyncio.sleep(0.2)  # ticking: an idle loop is not late
    assert mine.stalled_s() - before < 0.15


async def test_a_stopped_monitor_counts_no_more_stall() -> None:
    monitor = LoopLag(asyncio.get_running_loop())
    await asyncio.sleep(0.06)
    monitor.stop()
    counted = monitor.stalled_s()
    await asyncio.sleep(0.2)
    assert monitor.stalled_s() == counted
    assert monitor.lag_s() < 0.15
