"""The Assistant: one task-level API in front of an engine.

A request goes: redaction (when the engine leaves the machine) → cache → in-flight dedupe →
daily budget → circuit breaker → retry(rate limit → concurrency cap → engine.run) → cache.
Every feature uses this class and nothing below it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from lspilot.assistant.cache import ResultCache, cache_secrets
from lspilot.assistant.engines.capabilities import concurrency_for, endpoint_failed, engine_inputs
from lspilot.assistant.errors import (
    AssistantError,
    BadOutputError,
    NotSupportedError,
    PreemptedError,
    UnavailableError,
)
from lspilot.assistant.limits import (
    BACKGROUND,
    INTERACTIVE,
    CircuitBreaker,
    PrioritySemaphore,
    RateLimiter,
)
from lspilot.assistant.metering import Meter
from lspilot.assistant.prepared import Prepared, PreparedRequests, engine_key
from lspilot.assistant.retry import call_with_retry
from lspilot.assistant.tasks import AnyTaskInput, Task, TaskResult, Usage, without_lone_surrogates
from lspilot.redaction import redact_model

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine
    from lspilot.privacy import Privacy
    from lspilot.settings import Settings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass
class _Flight:
    """One request in flight, shared by every caller asking for the same key."""

    task: asyncio.Task[TaskResult]
    waiters: int = 0


class Assistant:
    """Runs tasks on an engine with cache, dedupe, limits, breaker and retry."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        cache: ResultCache,
        privacy: Privacy | None = None,
        *,
        root: Path | None = None,
        engine_reason: str = "",
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.engine_reason = engine_reason
        self.cache = cache
        cache.shared.on_change = self._changed  # the team cache going down/up is news
        self._privacy = privacy
        self._root = root
        self._inflight: dict[str, _Flight] = {}
        self._prepared = PreparedRequests()  # redacted requests and their key input
        self._retired: list[Engine] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._warned_no_privacy = False
        self._closing = False
        #: Called when a model request starts or ends (the server sends its status then).
        self.on_change: Callable[[], None] | None = None
        self._build_limits(settings)
        # The daily budget is shared by every lspilot process of the user (under the cache).
        self.meter = Meter(settings, self._meter_dir(settings), self._changed)
        self.requests = 0
        self.failures: Counter[str] = Counter()
        self.tokens_in = 0
        self.tokens_out = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.deduped = 0
        self.last_error = ""
        #: Who counted the last answer's tokens: "reported", "tokenizer" or "estimated".
        self.tokens_counted = ""

    def _build_limits(self, settings: Settings) -> None:
        limits = settings.limits
        self.rate_limiter = RateLimiter(limits.requests_per_minute)
        self.concurrency = concurrency_for(settings, self.engine)
        self.semaphore = PrioritySemaphore(self.concurrency)
        self.breaker = CircuitBreaker(limits.breaker_threshold, limits.breaker_cooldown_s)

    def _meter_dir(self, settings: Settings) -> Path | None:
        """Where the shared budget and the usage log live: the cache folder, unless it is off."""
        return self.cache.directory if settings.cache.enabled else None

    # ---- the request path ---------------------------------------------------------------

    def _local(self, engine: Engine) -> bool:
        return engine.id == "offline"

    def _redacted(self, request: AnyTaskInput) -> AnyTaskInput:
        privacy = self._privacy
        if privacy is None:
            try:
                from lspilot.privacy import Privacy
            except ImportError:
                if not self._warned_no_privacy:
                    self._warned_no_privacy = True
                    log.warning("lspilot.privacy is missing: secrets are NOT redacted")
                return request
            privacy = self._privacy = Privacy(self.settings.privacy, self._root)
        redact = privacy.redact
        # A lone surrogate cannot be encoded into the request's UTF-8 JSON: U+FFFD goes instead.
        return redact_model(request, lambda text: without_lone_surrogates(redact(text)))

    def _redacted_input(self, request: AnyTaskInput) -> Prepared:
        # Before keying: neither the key nor the stored value may contain a secret.
        redacted = self._redacted(request)
        return Prepared(redacted, ResultCache.input_json(redacted))

    async def _prepare(
        self, request: AnyTaskInput, output_tokens: int | None = None
    ) -> tuple[Engine, AnyTaskInput, str]:
        """The engine, the request as it will be sent (redacted) and its cache key (both
        kept for the next look-up; a big request's made in a worker thread)."""
        engine = self.engine
        if not engine.supports(Task(request.task)):
            raise NotSupportedError(f"the {engine.id} engine cannot {request.task}")
        cache = self.settings.cache
        if self._local(engine):
            return engine, request, engine_key(engine, request, cache, output_tokens)
        kept = await self._prepared.aget_or_make(request, self._redacted_input)
        return engine, kept.request, engine_key(engine, kept.request, cache, output_tokens, kept)

    @staticmethod
    def _as_cached(result: TaskResult) -> TaskResult:
        meta = result.meta.model_copy(update={"cached": True, "usage": Usage()})
        return result.model_copy(update={"meta": meta})

    async def cached(
        self, request: AnyTaskInput, *, output_tokens: int | None = None
    ) -> TaskResult | None:
        """The cached result for `request` (asked with `output_tokens`, as for `run`), or
        None; never calls a model."""
        try:
            engine, request, key = await self._prepare(request, output_tokens)
        except NotSupportedError:
            return None
        if self._local(engine):
            return None
        result = await self.cache.get(key)
        if result is None:
            return None
        self.cache_hits += 1
        self.meter.hit(engine, request)
        return self._as_cached(result)

    async def run(self, request: AnyTaskInput, *, output_tokens: int | None = None) -> TaskResult:
        """The result of `request`: from the cache, a shared in-flight call, or the engine.

        `output_tokens`: fewer than `maxOutputTokens` to ask for (a hover on a local model).
        Raises `AssistantError` subclasses. Cancelling the caller cancels the model request
        (and so closes its HTTP connection) unless another caller still waits for it.
        """
        engine, request, key = await self._prepare(request, output_tokens)
        if not self._local(engine):
            hit = await self.cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                self.meter.hit(engine, request)
                return self._as_cached(hit)
            self.cache_misses += 1
        flight = self._inflight.get(key)
        if flight is None:
            task = asyncio.get_running_loop().create_task(
                self._call(engine, request, key, output_tokens), name=f"lspilot-{request.task}"
            )
            flight = self._inflight[key] = _Flight(task)
            task.add_done_callback(functools.partial(self._landed, key, flight))
            self._changed()
        else:
            self.deduped += 1
        return await self._wait(key, flight)

    async def _wait(self, key: str, flight: _Flight) -> TaskResult:
        flight.waiters += 1
        try:
            # shield: one waiter's cancellation must not cancel the call the others share.
            return await asyncio.shield(flight.task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if (current is not None and current.cancelling()) or self._closing:
                raise  # this caller was cancelled, or the assistant is closing (shutdown)
            # The shared call itself was cancelled (reconfigure, shutdown): not our caller's doing.
            raise UnavailableError("the request was cancelled") from None
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                # The last one waiting went away: stop the model call, closing its connection.
                # A caller arriving while it winds down must start afresh, not join it.
                flight.task.cancel()
                if self._inflight.get(key) is flight:
                    del self._inflight[key]

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _landed(self, key: str, flight: _Flight, _task: object) -> None:
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        self._changed()
        if not self._inflight and self._retired:
            self._spawn(self._close_retired())

    async def _call(
        self, engine: Engine, request: AnyTaskInput, key: str, output_tokens: int | None
    ) -> TaskResult:
        """One logical request: budget, breaker, retried attempts, counters, cache."""
        started, held, result, outcome = time.monotonic(), None, None, "cancelled"
        try:
            if self._local(engine):
                result = await self._attempt(engine, request, allowance=None)
            else:
                held = await self.meter.reserve(request, output_tokens)
                allowance = held.output_tokens
                self.breaker.before()
                try:
                    result = await call_with_retry(
                        lambda: self._attempt(engine, request, allowance=allowance),
                        self.settings.limits.max_retries,
                    )
                except BaseException as error:
                    self.breaker.settle(endpoint_failed(engine, error))
                    raise
                self.breaker.record_success()
            outcome = "ok"
        except PreemptedError:
            outcome = "preempted"  # asked again later by its caller: no failure, no message
            raise
        except AssistantError as error:
            outcome = type(error).__name__
            self.failures[outcome] += 1
            self.last_error = error.user_message
            raise
        finally:
            counted = self._counted
            self.meter.done(engine, request, result, held, outcome, started, on_counted=counted)
        self.last_error = ""  # requests succeed again: the last error is history
        usage = result.meta.usage
        if not self._local(engine):
            self.tokens_counted = usage.source
        self.tokens_in += usage.prompt_tokens
        self.tokens_out += usage.completion_tokens
        # A cut-short answer is the user's to see, never the next request's answer.
        if not self._local(engine) and result.meta.complete:
            try:
                await self.cache.set(key, result)
            except Exception:  # the cache degrades by itself; this is belt and braces
                log.warning("could not store a result in the cache", exc_info=True)
        return result

    def _counted(self, estimate: Usage, counted: Usage) -> None:
        """The model's tokenizer counted what was estimated: the totals take its numbers."""
        self.tokens_in += counted.prompt_tokens - estimate.prompt_tokens
        self.tokens_out += counted.completion_tokens - estimate.completion_tokens
        self.tokens_counted = counted.source
        self._changed()

    async def _attempt(
        self, engine: Engine, request: AnyTaskInput, *, allowance: int | None
    ) -> TaskResult:
        """One attempt. `allowance`: the budget's output allowance (the max_tokens asked for)
        of a request under the limits; None for the offline engine, which has none."""
        if allowance is not None:
            # Reviews run in the background; everything else is someone waiting for it.
            priority = BACKGROUND if Task(request.task) is Task.REVIEW else INTERACTIVE
            await self.rate_limiter.acquire(priority)
            async with self.semaphore.slot(priority):
                self.requests += 1
                return await engine.run(request, max_output_tokens=allowance)
        self.requests += 1
        return await engine.run(request)

    async def run_validated(
        self, request: AnyTaskInput, validate: Callable[[TaskResult], str | None]
    ) -> TaskResult:
        """`run`, then `validate`; on a complaint one repair round with it as `feedback`.

        Raises `BadOutputError` carrying the validator's sentence when the repair fails too.
        """
        try:
            result = await self.run(request)
            problem = validate(result)
        except BadOutputError as error:
            problem = str(error)
        if problem is None:
            return result
        await self._unshare(request)
        log.info("%s answer rejected (%s); asking once more", request.task, problem)
        repair = request.model_copy(update={"feedback": problem})
        try:
            result = await self.run(repair)
            problem = validate(result)
        except BadOutputError as error:
            problem = str(error)
        if problem is None:
            return result
        await self._unshare(repair)
        self.failures["BadOutputError"] += 1
        self.last_error = f"The model's answer could not be used: {problem}"
        raise BadOutputError(problem, user_message=self.last_error)

    async def _unshare(self, request: AnyTaskInput) -> None:
        """Only validated answers are shared: take a rejected one back from the team cache."""
        with contextlib.suppress(AssistantError):
            self.cache.shared.forget((await self._prepare(request))[2])

    # ---- status and lifecycle -----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters and state for the status view; never a secret."""
        looked_up = self.cache_hits + self.cache_misses
        describe = self.engine.describe()
        return {
            "engine": self.engine.id,
            "engine_reason": self.engine_reason,
            "model": self.engine.model_for(Task.EXPLAIN),
            "endpoint": describe.get("endpoint", ""),
            "requests": self.requests,
            "errors": sum(self.failures.values()),
            "failures": dict(self.failures),
            "last_error": self.last_error,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "cache_hit_rate": round(self.cache_hits / looked_up, 3) if looked_up else 0.0,
            "deduped": self.deduped,
            "in_flight": len(self._inflight),
            "breaker": str(self.breaker.state),
            **self.meter.stats(),
            "concurrency": self.concurrency,
            "tokens_counted": self.tokens_counted,
            "cache": self.cache.stats(),
        }

    def reconfigure(self, settings: Settings) -> None:
        """Apply new settings: limits and cache at once, the engine in the background."""
        old, self.settings = self.settings, settings
        if old.limits != settings.limits:
            self._build_limits(settings)
        if old.privacy != settings.privacy:
            self._privacy = None  # rebuilt from the new settings on next use
            self._prepared.clear()  # redacted under the old settings
        if old.cache != settings.cache or old.api_key != settings.api_key:
            cache = ResultCache(settings.cache, secrets=cache_secrets(settings))
            previous, self.cache = self.cache, cache
            cache.shared.on_change = self._changed
            cache.shared.start()
            self._spawn(previous.aclose())
        if (old.limits, old.cache, old.usage, old.max_output_tokens) != (
            settings.limits,
            settings.cache,
            settings.usage,
            settings.max_output_tokens,
        ):
            meter, self.meter = (
                self.meter,
                Meter(settings, self._meter_dir(settings), self._changed),
            )
            self._spawn(meter.aclose())
        if engine_inputs(old) != engine_inputs(settings):
            self._spawn(self._reselect(settings))

    async def areconfigure(self, settings: Settings) -> None:
        """`reconfigure`, waiting until the new engine is in place."""
        self.reconfigure(settings)
        pending = [t for t in self._background if t.get_name() == "lspilot-reselect"]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _reselect(self, settings: Settings) -> None:
        from lspilot.assistant.selection import select_engine

        engine, reason = await select_engine(settings)
        if settings is not self.settings:
            await engine.aclose()  # a newer reconfigure won
            return
        self._retired.append(self.engine)
        self.engine, self.engine_reason = engine, reason
        if concurrency_for(settings, engine) != self.concurrency:
            self._build_limits(settings)
        if not self._inflight:
            await self._close_retired()

    async def _close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for engine in retired:
            with contextlib.suppress(Exception):
                await engine.aclose()

    def _spawn(self, coro: Any) -> None:
        name = "lspilot-reselect" if getattr(coro, "__name__", "") == "_reselect" else "lspilot"
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("assistant background work failed", exc_info=task.exception())

    async def aclose(self) -> None:
        """Cancel in-flight calls and close the engine and the cache."""
        self._closing = True
        for flight in list(self._inflight.values()):
            flight.task.cancel()
        tasks = [f.task for f in self._inflight.values()] + list(self._background)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.meter.drain()  # tokenizer counts still use the engine
        self._retired.append(self.engine)
        await self._close_retired()
        await self.meter.aclose()
        await self.cache.aclose()
