"""The OpenAI-compatible engine: OpenAI, Ollama, vLLM, llama.cpp, LM Studio, LiteLLM.

One attempt per `run` (the gateway retries), chat completions streamed so that a cancelled
request closes its HTTP connection, usage recorded from the final stream chunk. The `openai`
package is imported on first use: start-up never pays for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from lspilot.answers import clean_docstring
from lspilot.assistant.engines.prompts import PROMPT_VERSION, build_messages, review_response_format
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
    DocumentInput,
    DocumentResult,
    ExplainInput,
    ExplainResult,
    GenerateInput,
    GenerateResult,
    ResultMeta,
    ReviewIssue,
    ReviewResult,
    Task,
    TaskResult,
    Usage,
)

if TYPE_CHECKING:
    from lspilot.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# An answer longer than this is cut (and never cached): a token is rarely over 16 bytes, so
# more means an endpoint that ignores `max_tokens` (or streams garbage) and must not fill the
# memory, the cache or a hover.
BYTES_PER_TOKEN_CAP = 16
MIN_ANSWER_CAP = 16_384


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
        # What this endpoint refused before, so that we stop asking (per engine instance).
        self.structured_output_rejected = False
        self.stream_options_rejected = False

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
            "structured_output": "rejected" if self.structured_output_rejected else "ok",
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
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # ---- one attempt --------------------------------------------------------------------

    def _client_or_new(self) -> Any:
        if self._client is None:
            import openai  # lazy: a second of import time the server must not pay at start-up

            self._client = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                max_retries=0,  # one retry policy: ours (lspilot.assistant.retry)
                timeout=self.settings.request_timeout_ms / 1000,
            )
        return self._client

    def _wants_structured(self, request: AnyTaskInput) -> bool:
        mode = self.settings.diagnostics.structured_output
        if request.task is not Task.REVIEW or mode == "off":
            return False
        return mode == "on" or not self.structured_output_rejected

    async def run(self, request: AnyTaskInput) -> TaskResult:
        """Ask the model once; raise an `AssistantError` subclass on any failure."""
        task = Task(request.task)
        model = self.model_for(task)
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": build_messages(request, self.settings.limits.max_input_chars),
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_output_tokens,
            "stream": True,
        }
        if not self.stream_options_rejected:
            kwargs["stream_options"] = {"include_usage": True}
        if self._wants_structured(request):
            kwargs["response_format"] = review_response_format()
        # A total deadline too: the client's timeout is per read, and a server that trickles
        # tokens forever would never trip it.
        try:
            async with asyncio.timeout(self.settings.request_timeout_ms / 1000):
                text, usage, cut = await self._complete(kwargs)
        except TimeoutError as error:
            raise ModelTimeoutError(
                f"no complete answer from {model} within {self.settings.request_timeout_ms} ms"
            ) from error
        cut = cut or usage.completion_tokens > self.settings.max_output_tokens
        if cut:
            log.warning("%s answered more than asked for; the answer was cut", model)
        meta = ResultMeta(engine=self.id, model=model, usage=usage, cut=cut)
        return to_result(request, text, meta)

    async def _complete(self, kwargs: dict[str, Any]) -> tuple[str, Usage, bool]:
        """Stream one completion; on a 400 drop an optional feature the endpoint may refuse.

        What was dropped is remembered only once the request without it succeeds, so that an
        unrelated 400 (a wrong model name) does not turn features off for good.
        """
        import openai

        client = self._client_or_new()
        dropped: list[str] = []
        while True:
            try:
                answer = await self._stream(client, kwargs)
            except openai.BadRequestError as error:
                option = _refused_option(kwargs, str(getattr(error, "message", "")))
                if option is None:
                    raise self._map_error(error) from None
                del kwargs[option]
                dropped.append(option)
                continue
            except openai.OpenAIError as error:
                raise self._map_error(error) from None
            except ValueError:
                # The SDK does not wrap a malformed event stream: it is an unusable answer.
                raise BadOutputError(
                    f"{public_url(self.base_url)} sent a malformed answer"
                ) from None
            except Exception as error:
                # Transport errors while reading the stream (connection reset mid-answer) are
                # not wrapped by the SDK either; they are the endpoint failing.
                raise UnavailableError(
                    f"reading the answer from {public_url(self.base_url)} failed "
                    f"({type(error).__name__})"
                ) from None
            self._remember_refused(dropped)
            return answer

    def _remember_refused(self, dropped: list[str]) -> None:
        if "stream_options" in dropped:
            self.stream_options_rejected = True
            log.info("%s endpoint refuses stream_options; continuing without usage", self.id)
        if "response_format" in dropped and self.settings.diagnostics.structured_output == "auto":
            self.structured_output_rejected = True
            log.info("%s endpoint refuses response_format; asking for JSON in the prompt", self.id)

    async def _stream(self, client: Any, kwargs: dict[str, Any]) -> tuple[str, Usage, bool]:
        """The answer's text, its usage, and whether it was cut at the size cap."""
        stream = await client.chat.completions.create(**kwargs)
        pieces: list[str] = []
        usage = Usage()
        cap = max(MIN_ANSWER_CAP, BYTES_PER_TOKEN_CAP * self.settings.max_output_tokens)
        size = 0
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = Usage(
                        prompt_tokens=chunk.usage.prompt_tokens or 0,
                        completion_tokens=chunk.usage.completion_tokens or 0,
                    )
                for choice in chunk.choices or ():
                    if choice.delta is not None and choice.delta.content:
                        pieces.append(choice.delta.content)
                        size += len(choice.delta.content.encode("utf-8"))
                if size > cap:
                    text = "".join(pieces).encode("utf-8")[:cap].decode("utf-8", "ignore")
                    return text, usage, True
        finally:
            # Also on cancellation (and at the cap): closing the response closes the HTTP
            # connection, which is what tells the endpoint to stop generating.
            await stream.close()
        return "".join(pieces), usage, False

    def _map_error(self, error: Exception) -> AssistantError:
        """Our error for an SDK error. Never echoes headers; scrubs the key from any message."""
        import openai

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


def _refused_option(kwargs: dict[str, Any], said: str) -> str | None:
    """Which optional argument a 400 is most likely about, if we sent one; else None."""
    said = said.lower()
    for option in ("stream_options", "response_format"):
        if option in kwargs and option in said:
            return option
    # The message does not say: try without the newer feature first.
    for option in ("response_format", "stream_options"):
        if option in kwargs:
            return option
    return None


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
