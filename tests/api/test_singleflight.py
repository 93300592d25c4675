"""Coalescing concurrent identical Temporal reads (no Temporal needed)."""

from __future__ import annotations

import asyncio

import pytest

from api.singleflight import SingleFlight


class CountedRead:
    def __init__(self, result: int = 7, error: Exception | None = None) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.result, self.error = result, error

    async def __call__(self) -> int:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.result


async def test_concurrent_callers_of_one_key_share_one_call() -> None:
    flight, read = SingleFlight(), CountedRead()
    waiters = [asyncio.create_task(flight.run("wf", read)) for _ in range(50)]
    await asyncio.sleep(0.01)
    read.release.set()
    assert await asyncio.gather(*waiters) == [7] * 50
    assert read.calls == 1
    assert flight.in_flight == 0


async def test_a_call_after_the_last_one_finished_reads_again() -> None:
    flight, read = SingleFlight(), CountedRead()
    read.release.set()
    assert await flight.run("wf", read) == 7
    assert await flight.run("wf", read) == 7
    assert read.calls == 2


async def test_different_keys_do_not_share() -> None:
    flight, read = SingleFlight(), CountedRead()
    read.release.set()
    await asyncio.gather(flight.run("a", read), flight.run("b", read))
    assert read.calls == 2


async def test_every_waiter_gets_the_error() -> None:
    flight, read = SingleFlight(), CountedRead(error=RuntimeError("busy"))
    waiters = [asyncio.create_task(flight.run("wf", read)) for _ in range(3)]
    await asyncio.sleep(0.01)
    read.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert [str(r) for r in results] == ["busy"] * 3
    assert read.calls == 1


async def test_a_caller_that_leaves_does_not_cancel_the_others() -> None:
    flight, read = SingleFlight(), CountedRead()
    leaving = asyncio.create_task(flight.run("wf", read))
    staying = asyncio.create_task(flight.run("wf", read))
    await asyncio.sleep(0.01)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    read.release.set()
    assert await asyncio.wait_for(staying, 5) == 7
