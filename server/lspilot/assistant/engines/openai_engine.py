"""The OpenAI-compatible engine: OpenAI, Ollama, vLLM, llama.cpp, LM Studio, LiteLLM.

One attempt per `run` (the gateway retries), chat completions streamed so that a cancelled
request closes its HTTP connection, usage recorded from the final stream chunk. The `openai`
package is imported in a worker thread (`lspilot.assistant.engines.sdk`), started by the
warm-up or the first request: neither start-up nor the event loop pays for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from lspilot.answers import clean_docstring
from lspilot.assistant.engines.capabilities import (
    Capabilities,
    StructuredMode,
    refused_field,
    response_format_for,
)
from lspilot.assistant.engines.prompts import PROMPT_VERSION, REVIEW_SCHEMA, build_messages
from lspilot.assistant.engines.sdk import import_in_background, new_client
from lspilot.assistant.engines.streaming import StreamLimits, StreamState, read_stream
from lspilot.assistant.engines.tokenizer import TokenCounter
from lspilot.assistant.errors import (
    AssistantError,
    AuthError,
    BadOutputError,
    BadRequestError,
    IncompleteAnswerError,
    ModelTimeoutError,
    RateLimitError,
    UnavailableError,
)
from lspilot.assistant.retry import parse_retry_after
from lspilot.assistant.tasks import (
    AnyTaskInput,
    DocumentInput,
    DocumentResult,
    ExplainInput,
    ExplainResult,
    GenerateInput,
    GenerateResult,
    ResultMeta,
    ReviewInput,
    ReviewIssue,
    ReviewResult,
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
        # Local servers need no key, but the SDK insists on one.
        self._api_key = api_key or "not-needed"
        self._model = model
        self._client: Any = None
        self._openai: Any = None  # the module, once imported (`sdk`)
        self._client_building: asyncio.Future[Any] | None = None
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
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # ---- one attempt --------------------------------------------------------------------

    def preload(self) -> None:
        """Start importing the SDK in a worker thread (the warm-up calls this)."""
        import_in_background()

    async def _client_or_new(self) -> Any:
        """The SDK client; the first call imports the SDK and builds it, off the event loop
        (building one loads the CA certificates: tens of milliseconds)."""
        if self._client is not None:
            return self._client
        if self._client_building is None:
            self._client_building = asyncio.ensure_future(self._build_client())
        try:
            # Shielded: one request cancelled must not cancel the build the others await.
            return await asyncio.shield(self._client_building)
        except Exception:
            self._client_building = None  # the next request tries again
            raise

    async def _build_client(self) -> Any:
        self._openai, self._client = await new_client(self.settings, self.base_url, self._api_key)
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
        openai = self._openai
        learnt: list[tuple[str, str]] = []
        while True:
            try:
                async with self.tokens.gate.stream():
                    state = await read_stream(client, kwargs, self._limits())
            except openai.APIStatusError as error:
                said = str(getattr(error, "message", ""))
                field = refused_field(error.status_code, said, kwargs)
                if field is None:
                    raise self._map_error(error) from None
                learnt.append((field, self._fall_back(kwargs, field, said)))
                continue
            except openai.OpenAIError as error:
                raise self._map_error(error) from None
            except AssistantError:
                raise
            except ValueError:
                # The SDK does not wrap a malformed event stream: it is an unusable answer.
                raise BadOutputError(
                    f"{public_url(self.base_url)} sent a malformed answer"
                ) from None
            except Exception as error:
                # Transport errors before any text (connection reset) are not wrapped by the
                # SDK either; they are the endpoint failing.
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

    def _map_error(self, error: Exception) -> AssistantError:
        """Our error for an SDK error. Never echoes headers; scrubs the key from any message."""
        openai = self._openai

        where = public_url(self.base_url)
        if isinstance(error, openai.APITimeoutError):
            return ModelTimeoutError(f"request to {where} timed out")
        if isinstance(error, openai.APIConnectionError):
            return UnavailableError(f"cannot connect to {where}")
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            said = re.sub(r"^Error code: \d+ - ", "", str(getattr(error, "message", "")))
            said = self._scrub(said)[:300]
            if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
                return AuthError(f"{where} answered {status}")
            if isinstance(error, openai.RateLimitError):
                headers = error.response.headers
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
        # Anything else from the SDK (e.g. an unreadable stream) is the endpoint misbehaving.
        return UnavailableError(f"unexpected answer from {where} ({type(error).__name__})")

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "«redacted»") if self._api_key else text


# ---- turning text into results ----------------------------------------------------------

_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)


def _json_candidates(text: str) -> list[Any]:
    """Every JSON value that starts at a `{` or `[` in `text`, in order of appearance."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        found.append(value)
        if isinstance(value, dict) and "issues" in value:
            break
    return found


def parse_review_json(text: str) -> list[ReviewIssue]:
    """Issues from review output: tolerant of prose and fences around the JSON.

    Invalid issues are dropped; raises `BadOutputError` when no JSON object or array is found.
    """
    text = _THINK.sub("", text)
    raw: list[Any] | None = None
    for value in _json_candidates(text):
        if isinstance(value, dict) and isinstance(value.get("issues"), list):
            raw = value["issues"]
            break
        if isinstance(value, list) and raw is None:
            raw = value
        if isinstance(value, dict) and raw is None and {"quote", "message"} <= value.keys():
            raw = [value]
    if raw is None:
        raise BadOutputError("the review answer contained no JSON issues object")
    issues: list[ReviewIssue] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("severity"), str):
            item = {**item, "severity": item["severity"].lower()}
        item = {k: v for k, v in item.items() if k in ReviewIssue.model_fields}
        try:
            issues.append(ReviewIssue.model_validate(item))
        except ValidationError:
            continue
    return issues


def to_result(request: AnyTaskInput, text: str, meta: ResultMeta) -> TaskResult:
    """The task result for the model's `text`; raises `BadOutputError` when it is unusable."""
    if not text.strip():
        raise BadOutputError("the model returned an empty answer")
    if isinstance(request, ExplainInput):
        return ExplainResult(markdown=_THINK.sub("", text).strip() or text.strip(), meta=meta)
    if isinstance(request, DocumentInput):
        # clean_docstring drops chatter; if it judged everything chatter, keep the plain text
        # (minus quotes) and let the feature's validator decide.
        docstring = clean_docstring(text) or _THINK.sub("", text).strip().strip("\"'").strip()
        if not docstring:
            raise BadOutputError("the model returned an empty docstring")
        return DocumentResult(docstring=docstring, meta=meta)
    if isinstance(request, GenerateInput):
        return GenerateResult(code=text, meta=meta)
    return ReviewResult(issues=parse_review_json(text), meta=meta)


def incomplete_result(request: AnyTaskInput, state: StreamState, meta: ResultMeta) -> TaskResult:
    """What of a cut-short answer can be used: an explanation marked as cut, review issues
    whose JSON closed; else `IncompleteAnswerError` (a half docstring or half the code would
    break the buffer)."""
    why = state.why_incomplete()
    text = _THINK.sub("", state.text).strip()
    if isinstance(request, ExplainInput) and text:
        note = f"\n\n*(The answer was cut short: {why}.)*"
        return ExplainResult(markdown=text + note, meta=meta)
    if isinstance(request, ReviewInput) and text:
        try:
            return ReviewResult(issues=parse_review_json(text), meta=meta)
        except BadOutputError:
            pass
    raise IncompleteAnswerError(f"the answer was cut short: {why}")
