"""Rate limiter, daily token budget and circuit breaker, driven by an injected clock."""

from __future__ import annotations

import pytest

from lspilot.assistant.errors import CircuitOpenError
from lspilot.assistant.limits import BreakerState, CircuitBreaker, RateLimiter


class FakeClock:
    """A monotonic clock that moves only when told to (sleeping advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# ---- rate limiter ----


def test_rate_limiter_allows_a_burst_of_one_minute_then_spaces_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock, sleep=clock.sleep)
    assert [limiter.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    # 3 per minute: the next token comes 20 s later.
    assert limiter.try_acquire() == pytest.approx(20.0)
    clock.now += 10
    assert limiter.try_acquire() == pytest.approx(10.0)
    clock.now += 10
    assert limiter.try_acquire() == 0.0


async def test_rate_limiter_acquire_sleeps_until_a_token_is_there() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, clock=clock, sleep=clock.sleep)
    for _ in range(60):
        await limiter.acquire()
    assert clock.sleeps == []
    await limiter.acquire()
    await limiter.acquire()
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(1.0)]


def test_rate_limiter_refill_never_exceeds_capacity() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, sleep=clock.sleep)
    clock.now += 3600
    assert [limiter.try_acquire() == 0.0 for _ in range(3)] == [True, True, False]


def test_rate_limiter_rejects_zero() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)


# ---- circuit breaker ----


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(3, 30.0, clock=clock)
    for _ in range(2):
        breaker.before()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.before()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpenError):
        breaker.before()


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(2, 30.0, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 1


def test_breaker_half_opens_after_cooldown_and_a_good_probe_closes_it() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30.0, clock=clock)
    breaker.record_failure()
    clock.now += 29.9
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before()  # the probe goes out
    with pytest.raises(CircuitOpenError):
        breaker.before()  # only one probe at a time
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.before()


def test_a_failed_probe_opens_the_breaker_for_another_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    breaker.before()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 9
    with pytest.raises(CircuitOpenError):
        breaker.before()
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_cancelled_probe_frees_the_probe_slot() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    breaker.record_failure()
    clock.now += 5
    breaker.before()
    breaker.release()
    breaker.before()  # a new probe may go out
    assert breaker.state is BreakerState.HALF_OPEN
