"""CircuitBreaker on its own, with a clock the test moves: closed → open → half-open → closed or open again."""

import pytest

from acikkapi.services.circuit import CircuitBreaker
from acikkapi.services.errors import ServiceUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def call(breaker: CircuitBreaker, outcome: str = "ok") -> str:
    """One guarded call; returns "ok", "failed" (the service failed) or "refused" (the breaker refused)."""
    entered = False
    try:
        async with breaker.guard():
            entered = True
            if outcome == "fail":
                raise ServiceUnavailable()
    except ServiceUnavailable:
        return "failed" if entered else "refused"
    return "ok"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock) -> CircuitBreaker:
    return CircuitBreaker("test", failures_to_open=3, open_seconds=30, clock=clock)


async def test_it_opens_after_the_failures_in_a_row_and_refuses_without_calling(breaker):
    assert [await call(breaker, "fail") for _ in range(3)] == ["failed"] * 3
    assert breaker.state == "open"
    assert await call(breaker) == "refused"


async def test_a_success_resets_the_count(breaker):
    assert [await call(breaker, o) for o in ("fail", "fail", "ok", "fail", "fail")] == [
        "failed", "failed", "ok", "failed", "failed"]
    assert breaker.state == "closed"


async def test_after_the_pause_one_trial_call_decides(breaker, clock):
    for _ in range(3):
        await call(breaker, "fail")
    clock.now += 30
    assert breaker.state == "half-open"
    assert await call(breaker, "fail") == "failed"  # the trial failed: open for another pause
    assert breaker.state == "open"
    assert await call(breaker) == "refused"
    clock.now += 30
    assert await call(breaker) == "ok"
    assert breaker.state == "closed"


async def test_only_one_trial_runs_at_a_time(breaker, clock):
    for _ in range(3):
        await call(breaker, "fail")
    clock.now += 30
    async with breaker.guard():  # the trial, still running
        assert await call(breaker) == "refused"
    assert breaker.state == "closed"


async def test_errors_that_are_not_the_services_do_not_count(breaker):
    for _ in range(5):
        with pytest.raises(KeyError):
            async with breaker.guard():
                raise KeyError("the caller's own bug")
    assert breaker.state == "closed"
