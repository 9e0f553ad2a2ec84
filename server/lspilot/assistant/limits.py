"""Global limits on model requests: rate, concurrency and a circuit breaker.

The daily token budget, shared by every lspilot process, is `lspilot.assistant.budget`.

Clocks and sleeps are injectable so that tests drive time instead of waiting for it.
The concurrency cap is a `PrioritySemaphore`: interactive requests (hover, a picked action)
go before background review requests queued for a slot, and the rate limiter keeps part of its
bucket for them, so a burst of reviews never makes the user wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import StrEnum

from lspilot.assistant.errors import CircuitOpenError

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Priorities: lower goes first.
INTERACTIVE = 0
BACKGROUND = 1
#: The share of the rate limiter's bucket that only interactive requests may take.
INTERACTIVE_RESERVE = 0.2


class PrioritySemaphore:
    """A concurrency cap whose waiters are served by priority, then in arrival order.

    A waiter that is cancelled leaves the queue (its slot goes to the next one), so the
    reviews of a closed document stop holding places in it.
    """

    def __init__(self, value: int) -> None:
        self._free = value
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return sum(1 for _, _, f in self._waiters if not f.done())

    async def acquire(self, priority: int = BACKGROUND) -> None:
        """Wait for a slot."""
        if self._free > 0 and not self.waiting:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted just as we were cancelled: hand it on
            raise

    def release(self) -> None:
        """Give a slot back: to the first waiter by priority, else to the pool."""
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1

    @contextlib.asynccontextmanager
    async def slot(self, priority: int = BACKGROUND) -> AsyncIterator[None]:
        """Hold a slot for the block."""
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()


class RateLimiter:
    """A token bucket: `requests_per_minute` tokens, refilled continuously.

    The bucket starts full, so a burst of up to one minute's allowance goes out at once and
    further requests are spaced evenly at 60/rpm seconds.
    """

    def __init__(
        self,
        requests_per_minute: int,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.capacity = float(requests_per_minute)
        self.rate = requests_per_minute / 60.0  # tokens per second
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_acquire(self, priority: int = INTERACTIVE) -> float:
        """Take a token if one is there and return 0, else return the seconds until one is.

        Background requests leave `INTERACTIVE_RESERVE` of the bucket to interactive ones.
        """
        self._refill()
        need = 1.0
        if priority != INTERACTIVE:
            need += int(self.capacity * INTERACTIVE_RESERVE)
        if self._tokens >= need:
            self._tokens -= 1.0
            return 0.0
        return (need - self._tokens) / self.rate

    async def acquire(self, priority: int = INTERACTIVE) -> None:
        """Wait until a request may go out, then take its token."""
        while (wait := self.try_acquire(priority)) > 0:
            await self._sleep(wait)


class BreakerState(StrEnum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    """Opens after `threshold` consecutive failures; after `cooldown_s` lets one probe through.

    The probe's success closes it, its failure opens it again for another cool-down. Only
    failures of the endpoint count (the gateway decides: unavailable, timeout, rate limit).
    """

    def __init__(self, threshold: int, cooldown_s: float, *, clock: Clock = time.monotonic) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """Closed, open, or half-open (cool-down over: the next request is a probe)."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def before(self) -> None:
        """Call before a request: raises `CircuitOpenError` unless the request may go out."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return
        assert self._opened_at is not None
        left = max(self.cooldown_s - (self._clock() - self._opened_at), 0.0)
        raise CircuitOpenError(
            f"circuit open after {self._failures} failures; retrying in {left:.0f}s"
        )

    def record_success(self) -> None:
        """The endpoint answered: close the breaker."""
        if self._opened_at is not None:
            log.info("model endpoint answered again; resuming requests")
        self._failures, self._opened_at, self._probing = 0, None, False

    def record_failure(self) -> None:
        """The endpoint failed: count it, and open the breaker at the threshold."""
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            if self._opened_at is None or self._probing:
                log.warning(
                    "pausing model requests for %.0fs after %d consecutive failures",
                    self.cooldown_s,
                    self._failures,
                )
            self._opened_at = self._clock()
            self._probing = False

    def release(self) -> None:
        """The request ended without telling anything (cancelled): free the probe slot."""
        self._probing = False
