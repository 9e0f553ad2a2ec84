"""The OpenAI-compatible engine: OpenAI, Ollama, vLLM, llama.cpp, LM Studio, LiteLLM.

One attempt per `run` (the gateway retries), chat completions streamed so that a cancelled
request closes its HTTP connection, usage recorded from the final stream chunk. The HTTP
client (`lspilot.assistant.engines.chat_client`) is built in a worker thread, started by the
warm-up or the first request: importing httpx and loading the CA certificates never runs
on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

from lspilot.assistant.engines.capabilities import (
    Capabilities,
    StructuredMode,
    refused_field,
    response_format_for,
)
from lspilot.assistant.engines.chat_client import (
    ChatClient,
    EndpointConnectionError,
    EndpointError,
    EndpointStatusError,
    EndpointTimeoutError,
    MalformedAnswerError,
)
from lspilot.assistant.engines.model_text import incomplete_result, to_result
from lspilot.assistant.engines.prompts import PROMPT_VERSION, REVIEW_SCHEMA, build_messages
from lspilot.assistant.engines.streaming import StreamLimits, StreamState, read_stream
from lspilot.assistant.engines.tokenizer import TokenCounter
from lspilot.assistant.errors import (
    AssistantError,
    AuthError,
    BadOutputError,
    BadRequestError,
    ModelTimeoutError,
    RateLimitError,
    UnavailableError,
)
from lspilot.assistant.retry import parse_retry_after
from lspilot.assistant.tasks import (
    AnyTaskInput,
    ResultMeta,
    Task,
    TaskResult,
    Usage,
)

if TYPE_CHECKING:
    from lspilot.settings import Settings

log = logging.getLogger(__name__)

# An answer is cut at 16 bytes per `maxOutputTokens` (at least 16 KiB): a model that never
# stops, or a server that lies, must not fill a hover with megabytes or the cache with them.
BYTES_PER_TOKEN_CAP = 16
MIN_ANSWER_CAP = 16_384

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def public_url(url: str) -> str:
    """`url` without any user:password part, fit for logs and the status view."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


class OpenAIEngine:
    """Answers tasks through an OpenAI-compatible chat completions endpoint."""

    prompt_version = PROMPT_VERSION

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None,
        api_key: str | None,
        engine_id: str = "openai",
        model: str | None = None,
    ) -> None:
        self.id = engine_id
        self.settings = settings
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self._api_key = api_key or None  # local servers need none: no header is sent
        self._model = model
        self._client: ChatClient | None = None
        self._client_building: asyncio.Future[ChatClient] | None = None
        # What this endpoint refused before, per model, so that we stop asking.
        self._capabilities: dict[str, Capabilities] = {}
        #: Counts tokens when the server sends no usage (its tokenizer, OpenAI's encodings).
        self.tokens = TokenCounter(self.base_url, api_key)

    # ---- Engine protocol ------------------------------------------------------------------

    def model_for(self, task: Task) -> str:
        """The per-task override, else this engine's model (Ollama's), else `settings.model`."""
        override = getattr(self.settings.models, str(task), None)
        return override or self._model or self.settings.model

    def describe(self) -> dict[str, str]:
        """Engine id, endpoint and model; never the key."""
        return {
            "engine": self.id,
            "endpoint": public_url(self.base_url),
            "model": self._model or self.settings.model,
            "structured_output": self.capabilities(Task.REVIEW).structured,
            "tokens_counted": self.capabilities(Task.EXPLAIN).tokens_counted,
            "token_counter": self.tokens.source(self.model_for(Task.EXPLAIN)),
        }

    def supports(self, task: Task) -> bool:
        """A model can do every task."""
        return True

    def params(self, task: Task) -> dict[str, Any]:
        """Sampling parameters that change the answer (part of the cache key)."""
        return {
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_output_tokens,
            "max_input_chars": self.settings.limits.max_input_chars,
        }

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self.tokens.aclose()
        building, self._client_building = self._client_building, None
        if building is not None and not building.done():
            # Built by the warm-up but never used yet: closed once it is built.
            with contextlib.suppress(Exception):
                await asyncio.shield(building)
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # ---- one attempt --------------------------------------------------------------------

    def preload(self) -> None:
        """Start building the HTTP client in a worker thread (the warm-up calls this)."""
        self._start_building()

    def _start_building(self) -> asyncio.Future[ChatClient]:
        if self._client_building is None:
            self._client_building = asyncio.ensure_future(self._build_client())
        return self._client_building

    async def _client_or_new(self) -> ChatClient:
        """The HTTP client; the first call builds it off the event loop (importing httpx
        and loading the CA certificates: a few hundred milliseconds on a busy machine)."""
        if self._client is not None:
            return self._client
        building = self._start_building()
        try:
            # Shielded: one request cancelled must not cancel the build the others await.
            return await asyncio.shield(building)
        except Exception:
            self._client_building = None  # the next request tries again
            raise

    async def _build_client(self) -> ChatClient:
        s = self.settings
        # The client's read timeout only backs up ours (lspilot.assistant.engines.streaming):
        # a slow local model may take minutes to its first token.
        longest = max(s.request_timeout_ms, s.first_token_timeout_ms, s.stall_timeout_ms)
        began = time.perf_counter()
        self._client = await asyncio.to_thread(
            ChatClient,
            self.base_url,
            self._api_key,
            timeout_s=longest / 1000,
            connect_timeout_s=s.request_timeout_ms / 1000,
            where=public_url(self.base_url),
        )
        log.debug(
            "HTTP client for %s built in a worker thread, off the event loop, in %.0f ms",
            public_url(self.base_url),
            (time.perf_counter() - began) * 1e3,
        )
        return self._client

    def capabilities(self, task: Task) -> Capabilities:
        """What this endpoint was found to take for `task`'s model."""
        return self._capabilities.setdefault(self.model_for(task), Capabilities())

    @property
    def structured_output_rejected(self) -> bool:
        """Whether the endpoint refused a JSON schema for the review model."""
        return self.capabilities(Task.REVIEW).structured != "json_schema"

    @property
    def stream_options_rejected(self) -> bool:
        """Whether the endpoint refused `stream_options` for the explain model."""
        return not self.capabilities(Task.EXPLAIN).stream_options

    def _limits(self) -> StreamLimits:
        s = self.settings
        return StreamLimits(
            response_s=s.request_timeout_ms / 1000,
            first_token_s=s.first_token_timeout_ms / 1000,
            stall_s=s.stall_timeout_ms / 1000,
            total_s=s.total_timeout_ms / 1000,
            max_bytes=max(MIN_ANSWER_CAP, BYTES_PER_TOKEN_CAP * s.max_output_tokens),
        )

    def _structured_mode(self, request: AnyTaskInput, caps: Capabilities) -> StructuredMode:
        mode = self.settings.diagnostics.structured_output
        if request.task is not Task.REVIEW or mode == "off":
            return "prompt"
        return "json_schema" if mode == "on" else caps.structured

    async def run(
        self, request: AnyTaskInput, *, max_output_tokens: int | None = None
    ) -> TaskResult:
        """Ask the model once; raise an `AssistantError` subclass on any failure."""
        task = Task(request.task)
        model = self.model_for(task)
        caps = self.capabilities(task)
        messages = build_messages(request, self.settings.limits.max_input_chars)
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": max_output_tokens or self.settings.max_output_tokens,
            "stream": True,
        }
        if caps.stream_options:
            kwargs["stream_options"] = {"include_usage": True}
        mode = self._structured_mode(request, caps)
        response_format = response_format_for(mode, REVIEW_SCHEMA)
        if response_format is not None:
            kwargs["response_format"] = response_format
        state = await self._complete(kwargs, caps)
        prompt_chars = sum(len(m["content"]) for m in messages)
        meta = ResultMeta(
            engine=self.id,
            model=model,
            usage=self._usage(state, caps, prompt_chars),
            complete=state.complete,
        )
        if meta.usage.estimated and self.tokens.source(model) != "none":
            meta.count_later(self.tokens.counter(model, caps, messages, state.text))
        if not state.complete:
            return incomplete_result(request, state, meta)
        return to_result(request, state.text, meta)

    @staticmethod
    def _usage(state: StreamState, caps: Capabilities, prompt_chars: int) -> Usage:
        """The reported usage, else an estimate calibrated on what the endpoint reported."""
        if state.usage is not None and any(state.usage):
            prompt, completion = state.usage
            caps.calibrate(prompt_chars, prompt)
            caps.tokens_counted = "reported"
            return Usage(prompt_tokens=prompt, completion_tokens=completion)
        caps.tokens_counted = "estimated"
        return Usage(
            prompt_tokens=caps.estimate(prompt_chars),
            completion_tokens=caps.estimate(len(state.text)),
            estimated=True,
        )

    async def _complete(self, kwargs: dict[str, Any], caps: Capabilities) -> StreamState:
        """Stream one completion; when the endpoint refuses an optional feature, ask without.

        A refusal (400/422/500 whose body names `response_format`, `stream_options` or
        `tools`) is not a failure: it never reaches the gateway's retry or breaker. What was
        refused is remembered per endpoint and model only once the request without it
        succeeds, so that an unrelated 400 (a wrong model name) turns nothing off for good.
        """
        client = await self._client_or_new()
        learnt: list[tuple[str, str]] = []
        while True:
            try:
                async with self.tokens.gate.stream():
                    state = await read_stream(client, kwargs, self._limits())
            except EndpointStatusError as error:
                field = refused_field(error.status_code, error.body, kwargs)
                if field is None:
                    raise self._map_error(error) from None
                learnt.append((field, self._fall_back(kwargs, field, error.body)))
                continue
            except EndpointError as error:
                raise self._map_error(error) from None
            except AssistantError:
                raise
            except Exception as error:
                # Not the endpoint's failure as such (a fault of ours or of httpx): still no
                # answer from it, said plainly.
                log.debug("reading the answer failed", exc_info=True)
                raise UnavailableError(
                    f"reading the answer from {public_url(self.base_url)} failed "
                    f"({type(error).__name__})"
                ) from None
            self._remember(caps, learnt)
            return state

    @staticmethod
    def _fall_back(kwargs: dict[str, Any], field: str, said: str) -> str:
        """Change `kwargs` to ask without the refused `field`; the mode it falls back to."""
        if field != "response_format":
            del kwargs[field]
            return "off"
        current = kwargs.pop("response_format")
        kind = current.get("type")
        # llama.cpp says "Input should be 'text' or 'json_object'": JSON mode it takes, and
        # a `schema` beside it constrains the output just as well.
        if kind == "json_schema" and "json_object" in said:
            mode: StructuredMode = "json_object_schema"
        elif kind == "json_object" and "schema" in current:
            mode = "json_object"
        else:
            mode = "prompt"
        fallback = response_format_for(mode, REVIEW_SCHEMA)
        if fallback is not None:
            kwargs["response_format"] = fallback
        return mode

    def _remember(self, caps: Capabilities, learnt: list[tuple[str, str]]) -> None:
        for field, mode in learnt:
            if field == "stream_options":
                caps.stream_options = False
                log.info("%s endpoint refuses stream_options; counting tokens itself", self.id)
            elif field == "response_format" and self.settings.diagnostics.structured_output in (
                "auto",
                "on",
            ):
                caps.structured = cast("StructuredMode", mode)
                log.info("%s endpoint refuses that response_format; now using %s", self.id, mode)

    def _map_error(self, error: EndpointError) -> AssistantError:
        """Our error for an endpoint's. Never echoes headers; scrubs the key from any message."""
        where = public_url(self.base_url)
        if isinstance(error, EndpointTimeoutError):
            return ModelTimeoutError(f"request to {where} timed out")
        if isinstance(error, EndpointConnectionError):
            return UnavailableError(f"cannot connect to {where}")
        if isinstance(error, EndpointStatusError):
            status = error.status_code
            said = self._scrub(error.message)[:300]
            if status in (401, 403):
                return AuthError(f"{where} answered {status}")
            if status == 429:
                headers = error.headers
                retry_after = parse_retry_after(headers.get("retry-after"))
                if retry_after is None and headers.get("retry-after-ms"):
                    ms = parse_retry_after(headers.get("retry-after-ms"))
                    retry_after = ms / 1000 if ms is not None else None
                return RateLimitError(f"{where} answered 429", retry_after=retry_after)
            if status in (400, 404, 422):
                return BadRequestError(f"{where} answered {status}: {said}")
            if status >= 500:
                return UnavailableError(f"{where} answered {status}")
            return BadRequestError(f"{where} answered {status}: {said}")
        if isinstance(error, MalformedAnswerError):
            return BadOutputError(f"{where} sent a malformed answer ({error.message})")
        # An error inside the stream (StreamErrorEvent): the endpoint failing.
        return UnavailableError(self._scrub(error.message)[:300])

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "«redacted»") if self._api_key else text
