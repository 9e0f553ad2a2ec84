"""The one retry policy of the provider layer (the openai client runs with max_retries=0).

Exponential backoff with jitter; a 429's `Retry-After` is honoured (we wait the longer of it
and the backoff); only errors that say they are `retryable` are retried, so a 400, 401, 403,
404 or an unusable answer fails at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from lspilot.assistant.errors import AssistantError, RateLimitError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: First backoff, in seconds; doubled on each retry.
BASE_DELAY_S = 0.5
#: Longest backoff, in seconds.
MAX_DELAY_S = 20.0
#: A `Retry-After` longer than this is not waited for: the user would rather see the error.
MAX_RETRY_AFTER_S = 60.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date).

    Returns None when the header is absent or unreadable; never a negative number.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(when.timestamp() - current, 0.0)


def backoff(retry_number: int, *, rand: Callable[[], float] = random.random) -> float:
    """The backoff before retry number `retry_number` (1-based), with "equal jitter".

    Half the exponential delay is fixed and half random, so that clients sharing an endpoint
    spread out while each still waits at least half the nominal delay.
    """
    nominal = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** max(retry_number - 1, 0))
    return nominal / 2 + rand() * nominal / 2


def wait_for(
    error: BaseException | None,
    retry_number: int,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry `retry_number` after `error`: max(Retry-After, backoff)."""
    delay = backoff(retry_number, rand=rand)
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        delay = max(delay, error.retry_after)
    return delay


def should_retry(error: BaseException) -> bool:
    """Whether `error` may be retried: only provider errors marked retryable.

    A rate limit asking for a longer wait than `MAX_RETRY_AFTER_S` is not retried.
    """
    if not isinstance(error, AssistantError) or not error.retryable:
        return False
    return not (
        isinstance(error, RateLimitError)
        and error.retry_after is not None
        and error.retry_after > MAX_RETRY_AFTER_S
    )


def make_retrying(
    max_retries: int,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> AsyncRetrying:
    """A tenacity controller for the policy above; `sleep` and `rand` are injectable for tests."""

    def _wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return wait_for(error, state.attempt_number, rand=rand)

    def _before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        # The error's str() is built by the engine from status codes, never from secrets.
        log.info(
            "model request failed (%s: %s); retry %d/%d in %.1fs",
            type(error).__name__,
            error,
            state.attempt_number,
            max_retries,
            wait,
        )

    return AsyncRetrying(
        stop=stop_after_attempt(max_retries + 1),
        wait=_wait,
        retry=retry_if_exception(should_retry),
        sleep=sleep,
        before_sleep=_before_sleep,
        reraise=True,
    )


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    max_retries: int,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Await `fn()` under the retry policy; the last error is re-raised as it is."""
    retrying = make_retrying(max_retries, sleep=sleep, rand=rand)
    try:
        async for attempt in retrying:
            cancelled: asyncio.CancelledError | None = None
            with attempt:
                try:
                    return await fn()
                except asyncio.CancelledError as exc:
                    # Cancellation is not a failed attempt: tenacity must neither see nor log it.
                    cancelled = exc
            if cancelled is not None:
                raise cancelled
    finally:
        # The spent controller and its call state refer to each other (and its thread-local
        # iteration state holds its bound methods): cycles that only a full garbage
        # collection frees, so a thousand reviews left thousands of objects (megabytes,
        # with each outcome's future and lock) waiting for one. Emptied here, reference
        # counting frees them at once.
        vars(retrying).clear()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
