"""The retry policy: computed waits, Retry-After, and which errors are retried."""

from __future__ import annotations

import email.utils

import pytest

from lspilot.assistant.errors import (
    AssistantError,
    AuthError,
    BadOutputError,
    BadRequestError,
    BudgetExceededError,
    CircuitOpenError,
    ModelTimeoutError,
    RateLimitError,
    UnavailableError,
)
from lspilot.assistant.retry import (
    MAX_DELAY_S,
    backoff,
    call_with_retry,
    parse_retry_after,
    should_retry,
    wait_for,
)


def test_parse_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    low = [backoff(n, rand=lambda: 0.0) for n in range(1, 6)]
    high = [backoff(n, rand=lambda: 1.0) for n in range(1, 6)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert high == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert backoff(30, rand=lambda: 1.0) == MAX_DELAY_S
    assert backoff(30, rand=lambda: 0.0) == MAX_DELAY_S / 2


def test_wait_honours_retry_after_when_longer_than_backoff() -> None:
    assert wait_for(RateLimitError(retry_after=5.0), 1, rand=lambda: 1.0) == 5.0
    # A short Retry-After does not shorten the backoff.
    assert wait_for(RateLimitError(retry_after=0.0), 3, rand=lambda: 1.0) == 2.0
    assert wait_for(RateLimitError(), 1, rand=lambda: 1.0) == 0.5
    assert wait_for(UnavailableError(), 2, rand=lambda: 0.0) == 0.5


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (RateLimitError(retry_after=1), True),
        (RateLimitError(), True),
        (ModelTimeoutError(), True),
        (UnavailableError(), True),
        (AuthError(), False),
        (BadRequestError(), False),
        (BadOutputError(), False),
        (CircuitOpenError(), False),
        (BudgetExceededError(), False),
        (AssistantError(), False),
        (ValueError("not ours"), False),
        # Asked to wait for over a minute: better to tell the user than to hang.
        (RateLimitError(retry_after=3600), False),
    ],
)
def test_which_errors_are_retried(error: BaseException, retried: bool) -> None:
    assert should_retry(error) is retried


class Flaky:
    """Fails with the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


async def test_retries_retryable_errors_then_succeeds() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    flaky = Flaky(UnavailableError(), RateLimitError(retry_after=3.0))
    assert await call_with_retry(flaky, 3, sleep=sleep, rand=lambda: 0.0) == "answer"
    assert flaky.calls == 3
    assert waits == [0.25, 3.0]


async def test_gives_up_after_max_retries_with_the_last_error() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    last = ModelTimeoutError("third")
    flaky = Flaky(UnavailableError("first"), UnavailableError("second"), last, UnavailableError())
    with pytest.raises(ModelTimeoutError) as caught:
        await call_with_retry(flaky, 2, sleep=sleep, rand=lambda: 0.0)
    assert caught.value is last
    assert flaky.calls == 3
    assert len(waits) == 2


@pytest.mark.parametrize("error", [AuthError(), BadRequestError(), BadOutputError()])
async def test_no_retry_on_errors_that_would_fail_again(error: Exception) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    flaky = Flaky(error)
    with pytest.raises(type(error)):
        await call_with_retry(flaky, 5, sleep=sleep)
    assert flaky.calls == 1
    assert waits == []


async def test_zero_retries_means_one_attempt() -> None:
    flaky = Flaky(UnavailableError())
    with pytest.raises(UnavailableError):
        await call_with_retry(flaky, 0)
    assert flaky.calls == 1


async def test_a_call_leaves_no_reference_cycles_behind() -> None:
    """tenacity's controller and its call state refer to each other: freed at once, they
    never pile up between full garbage collections (a review pass makes thousands)."""
    import gc

    from tenacity import AsyncRetrying, RetryCallState

    def alive() -> int:
        return sum(isinstance(o, (AsyncRetrying, RetryCallState)) for o in gc.get_objects())

    gc.collect()
    before = alive()
    gc.disable()
    try:
        for _ in range(20):
            assert await call_with_retry(Flaky(), 2) == "answer"
        flaky = Flaky(UnavailableError())
        assert await call_with_retry(flaky, 2, sleep=lambda _: _no_wait(), rand=lambda: 0.0)
        assert alive() == before
    finally:
        gc.enable()


async def _no_wait() -> None:
    return None
