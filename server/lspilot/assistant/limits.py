"""Global limits on model requests: rate, concurrency and a circuit breaker.

The daily token budget, shared by every lspilot process, is `lspilot.assistant.budget`.

Clocks and sleeps are injectable so that tests drive time instead of waiting for it.
The concurrency cap is a `PrioritySemaphore`: interactive requests (hover, a picked action)
go before background review requests queued for a slot and pre-empt a running one when every
slot is taken, and the rate limiter keeps part of its bucket for them, so a burst of reviews
never makes the user wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lspilot.assistant.errors import CircuitOpenError, PreemptedError

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Priorities: lower goes first.
INTERACTIVE = 0
BACKGROUND = 1
#: The share of the rate limiter's bucket that only interactive requests may take.
INTERACTIVE_RESERVE = 0.2


@dataclass(eq=False)
class _Holder:
    """One caller holding (or just granted) a slot: its priority and the task to pre-empt."""

    priority: int
    task: asyncio.Task[Any] | None
    preempted: bool = False


class PrioritySemaphore:
    """A concurrency cap whose waiters are served by priority, then in arrival order.

    A waiter that is cancelled leaves the queue (its slot goes to the next one), so the
    reviews of a closed document stop holding places in it. An interactive caller that finds
    every slot taken pre-empts the newest background holder: its task is cancelled and its
    `slot` block raises `PreemptedError`, for the caller to ask again later. Ordering the
    queue alone is not enough: with one slot (the local default) a hover would wait for a
    slowly streaming review to end, and one-slot servers such as llama.cpp cut the running
    stream when another request arrives anyway.
    """

    def __init__(self, value: int) -> None:
        self._free = value
        self._waiters: list[tuple[int, int, asyncio.Future[None], _Holder]] = []
        self._order = itertools.count()
        self._holders: list[_Holder] = []  # in the order the slots were granted

    @property
    def waiting(self) -> int:
        """Callers queued for a slot."""
        return sum(1 for _, _, f, _ in self._waiters if not f.done())

    @property
    def preempted(self) -> int:
        """Background holders told to give their slot up that have not yet done so."""
        return sum(1 for h in self._holders if h.preempted)

    def _preempt(self) -> None:
        """Free a slot for each interactive waiter by stopping the newest background holder."""
        interactive = sum(1 for p, _, f, _ in self._waiters if p == INTERACTIVE and not f.done())
        if interactive <= self.preempted:
            return  # slots already on their way to every interactive waiter
        for holder in reversed(self._holders):
            if holder.priority != INTERACTIVE and not holder.preempted and holder.task:
                holder.preempted = True
                holder.task.cancel()
                return

    async def acquire(self, priority: int = BACKGROUND) -> _Holder:
        """Wait for a slot; returns the hold to pass to `release`.

        Raises `PreemptedError` when the slot, just granted, was taken back by an
        interactive caller before this one ran.
        """
        holder = _Holder(priority, asyncio.current_task())
        if self._free > 0 and not self.waiting:
            self._free -= 1
            self._holders.append(holder)
            return holder
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future, holder))
        if priority == INTERACTIVE:
            self._preempt()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(holder)  # granted just as we were cancelled: hand it on
                _raise_if_preempted(holder)
            raise
        return holder

    def release(self, holder: _Holder) -> None:
        """Give a slot back: to the first waiter by priority, else to the pool."""
        if holder in self._holders:
            self._holders.remove(holder)
        while self._waiters:
            _, _, future, waiter = heapq.heappop(self._waiters)
            if not future.done():
                self._holders.append(waiter)  # pre-emptible from the moment it is granted
                future.set_result(None)
                return
        self._free += 1

    @contextlib.asynccontextmanager
    async def slot(self, priority: int = BACKGROUND) -> AsyncIterator[None]:
        """Hold a slot for the block; raises `PreemptedError` if an interactive caller took it."""
        holder = await self.acquire(priority)
        try:
            yield
        except asyncio.CancelledError:
            _raise_if_preempted(holder)
            raise
        finally:
            self.release(holder)


def _raise_if_preempted(holder: _Holder) -> None:
    """Turn the cancellation that pre-empted `holder` into `PreemptedError`.

    Only when it was the sole cancellation: if the caller was cancelled as well (a closed
    document), the cancellation goes on.
    """
    if holder.preempted and holder.task is not None and holder.task.uncancel() == 0:
        raise PreemptedError("pre-empted by an interactive request") from None


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

    def settle(self, failed: bool | None) -> None:
        """Record a request's end: the endpoint failed, answered, or told nothing (None)."""
        if failed is None:
            self.release()
        elif failed:
            self.record_failure()
        else:
            self.record_success()
