"""Metering for the gateway: the shared token budget and the usage log around each request.

`Meter.reserve` runs before a request leaves (in a worker thread: the budget store is on
disk); `Meter.done` settles the reservation and records the request, in the background so
the answer is not held up by a disk write. Cache hits are recorded too (`Meter.hit`), a
batch at a time (`HIT_BATCH_S`): a cache hit costs the event loop no thread hop of its own.

When the server sent no usage, the engine's estimate may be replaced by the model's
tokenizer's count (`ResultMeta.counter`): that runs after the answer was delivered, within
`COUNT_TIMEOUT_S`, and the budget and the log get whichever numbers are best by then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lspilot.assistant.budget import Reservation, SharedTokenBudget, estimate_tokens
from lspilot.assistant.tasks import AnyTaskInput, Task, TaskResult, Usage
from lspilot.assistant.usage import UsageEntry, UsageLog, now_ts

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine
    from lspilot.settings import Settings

log = logging.getLogger(__name__)

# Characters per token when the endpoint reports no usage (a typical tokenizer on code).
ESTIMATE_CHARS_PER_TOKEN = 4
#: Longest a tokenizer count may take (it waits for the engine's streams on llama-cpp-python)
#: before the estimate is recorded instead.
COUNT_TIMEOUT_S = 40.0
#: Cache hits are written to the usage log together, this long after the first of a batch.
HIT_BATCH_S = 0.1

#: Told (estimate, count) when a tokenizer count replaced an estimate.
Counted = Callable[[Usage, Usage], None]


def input_chars(request: AnyTaskInput) -> int:
    """Characters of text in `request` (every string field, nested ones too)."""

    def walk(value: Any) -> int:
        if isinstance(value, str):
            return len(value)
        if isinstance(value, dict):
            return sum(walk(v) for v in value.values())
        if isinstance(value, list | tuple):
            return sum(walk(v) for v in value)
        return 0

    return walk(request.model_dump(mode="json"))


class Meter:
    """The budget and the usage log of one assistant."""

    def __init__(
        self,
        settings: Settings,
        directory: Path | None,
        on_recorded: Callable[[], None] | None = None,
    ) -> None:
        limits = settings.limits
        #: Told (on the loop) when a record or settlement landed: today's totals changed.
        self.on_recorded = on_recorded
        self.max_output_tokens = settings.max_output_tokens
        self.budget = SharedTokenBudget(
            limits.daily_token_budget, directory, per_request=limits.max_tokens_per_request
        )
        self.log = UsageLog(
            (directory or Path(".")) / "usage", enabled=settings.usage.enabled and bool(directory)
        )
        self._pending: set[asyncio.Future[Any]] = set()
        self._hits: list[UsageEntry] = []
        self._hits_due: asyncio.TimerHandle | None = None
        self._background(self._seed)

    def _seed(self) -> None:
        """Today's totals so far (all processes): from the log and the budget store."""
        self.log.seed()
        if self.budget.daily:
            self.budget.used_today()

    async def reserve(self, request: AnyTaskInput, output_tokens: int | None = None) -> Reservation:
        """Hold the tokens `request` may use, its answer at most `output_tokens` (default
        `maxOutputTokens`); raises `BudgetExceededError`."""
        prompt = estimate_tokens(input_chars(request))
        most = min(output_tokens or self.max_output_tokens, self.max_output_tokens)
        return await asyncio.to_thread(self.budget.reserve, prompt, most)

    def done(
        self,
        engine: Engine,
        request: AnyTaskInput,
        result: TaskResult | None,
        reservation: Reservation | None,
        outcome: str,
        started: float,
        attempts: int = 1,
        on_counted: Counted | None = None,
    ) -> None:
        """Settle the reservation and record the request, in a worker thread.

        When the result carries a tokenizer count to run, it runs first (in the background,
        bounded); `on_counted` hears of the numbers that replaced the estimate.
        """
        task = Task(request.task)
        source = "reported"
        prompt = completion = 0
        if result is not None:
            usage = result.meta.usage
            prompt, completion = usage.prompt_tokens, usage.completion_tokens
            source = usage.source  # the engine estimated (or counted) what the server did not say
            if engine.id != "offline" and prompt + completion == 0:
                # The endpoint sent no usage (streaming without include_usage): estimate.
                source = "estimated"
                prompt = -(-input_chars(request) // ESTIMATE_CHARS_PER_TOKEN)
                completion = -(-_result_chars(result) // ESTIMATE_CHARS_PER_TOKEN)
        entry = UsageEntry(
            ts=now_ts(),
            task=task.value,
            engine=engine.id,
            model=result.meta.model if result is not None and result.meta.model else "",
            prompt_tokens=prompt,
            completion_tokens=completion,
            counted=source != "estimated",
            token_source=source,
            latency_ms=round((time.monotonic() - started) * 1000),
            outcome=outcome,
        )
        if not entry.model:
            entry = _with_model(entry, engine, task)
        count = result.meta.counter if result is not None and source == "estimated" else None
        if count is not None and _loop() is not None:
            estimate = result.meta.usage if result is not None else Usage()
            spawned = asyncio.ensure_future(
                self._recount(entry, reservation, count, estimate, on_counted)
            )
            self._pending.add(spawned)
            spawned.add_done_callback(self._pending.discard)
            return
        self._background(self._writer(entry, reservation))

    def _writer(self, entry: UsageEntry, reservation: Reservation | None) -> Callable[[], None]:
        def write() -> None:
            if reservation is not None:
                self.budget.settle(reservation, entry.tokens)
            self.log.record(entry)

        return write

    async def _recount(
        self,
        entry: UsageEntry,
        reservation: Reservation | None,
        count: Callable[[], Any],
        estimate: Usage,
        on_counted: Counted | None,
    ) -> None:
        """Count with the tokenizer (bounded), then settle and record what is best."""
        usage: Usage | None = None
        try:
            async with asyncio.timeout(COUNT_TIMEOUT_S):
                usage = await count()
        except Exception as error:  # metering must never break a feature; the estimate stands
            log.debug("counting tokens with the tokenizer failed: %s", type(error).__name__)
        if usage is not None:
            entry = replace(
                entry,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                counted=True,
                token_source="tokenizer",
            )
            if on_counted is not None:
                on_counted(estimate, usage)
        await asyncio.get_running_loop().run_in_executor(
            None, _logged(self._writer(entry, reservation))
        )
        self._recorded()

    def hit(self, engine: Engine, request: AnyTaskInput) -> None:
        """Record an answer served from the cache."""
        task = Task(request.task)
        entry = UsageEntry(
            ts=now_ts(),
            task=task.value,
            engine=engine.id,
            model=engine.model_for(task),
            cached=True,
            token_source="",
        )
        self._hits.append(entry)
        if self._hits_due is None:
            loop = _loop()
            if loop is None:
                self._flush_hits()
            else:
                self._hits_due = loop.call_later(HIT_BATCH_S, self._flush_hits)

    def _flush_hits(self) -> None:
        """Write the hits recorded so far (in a worker thread)."""
        if self._hits_due is not None:
            self._hits_due.cancel()
            self._hits_due = None
        entries, self._hits = self._hits, []
        if entries:

            def write() -> None:
                for entry in entries:
                    self.log.record(entry)

            self._background(write)

    def _background(self, work: Any) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work()
            return
        future = loop.run_in_executor(None, _logged(work))
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        future.add_done_callback(lambda _: self._recorded())

    def _recorded(self) -> None:
        if self.on_recorded is not None:
            self.on_recorded()

    async def drain(self) -> None:
        """Wait until every count, settle and record started so far is done."""
        self._flush_hits()
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def stats(self) -> dict[str, Any]:
        """Budget and today's usage for the status (no disk access)."""
        budget = self.budget
        return {
            "budget_used": budget.known_used,
            "budget_daily": budget.daily,
            "budget_per_request": budget.per_request,
            "budget_exhausted": budget.exhausted_message() if budget.exhausted else "",
            "usage_today": dict(self.log.today),
        }

    async def aclose(self) -> None:
        """Finish pending writes and close the budget store."""
        await self.drain()
        await asyncio.to_thread(self.budget.close)


def _result_chars(result: TaskResult) -> int:
    data = result.model_dump(mode="json", exclude={"meta"})
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in data.values())


def _with_model(entry: UsageEntry, engine: Engine, task: Task) -> UsageEntry:
    return replace(entry, model=engine.model_for(task))


def _loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _logged(work: Any) -> Any:
    def run() -> None:
        try:
            work()
        except Exception:  # metering must never break a feature
            log.warning("could not record usage or settle the budget", exc_info=True)

    return run
