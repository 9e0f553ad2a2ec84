"""What an OpenAI-compatible endpoint takes, learnt from its refusals, per endpoint and model.

Servers differ in the optional request features they accept: llama.cpp (llama-cpp-python)
answers a `response_format` of type `json_schema` with HTTP 500 and a validation dump naming
`response_format`, but takes `json_object` with a `schema`; some servers refuse
`stream_options`; many send no usage at all. A refusal of an optional feature is not an
outage: the engine asks again without it and remembers it here, so that the next request
does not ask for it again. Each engine (one per endpoint) keeps one
`Capabilities` per model; a settings change builds a new engine, which learns afresh.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from lspilot.assistant.errors import (
    AssistantError,
    FirstTokenTimeoutError,
    ModelTimeoutError,
    PreemptedError,
    RateLimitError,
    UnavailableError,
)

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine
    from lspilot.settings import Settings

#: How review JSON is asked for, best first: a JSON schema, JSON mode with the schema (the
#: llama.cpp extension), JSON mode alone, or only in the prompt.
StructuredMode = Literal["json_schema", "json_object_schema", "json_object", "prompt"]
STRUCTURED_MODES: tuple[StructuredMode, ...] = (
    "json_schema",
    "json_object_schema",
    "json_object",
    "prompt",
)

#: Optional request fields a server may refuse; a refusal names one of these in its body.
OPTIONAL_FIELDS = ("response_format", "stream_options", "tools")

#: Characters per token assumed before the endpoint has reported any usage (code and
#: English prose both come out near 3.5-4 with the common BPE tokenizers).
DEFAULT_CHARS_PER_TOKEN = 3.6


@dataclass
class Capabilities:
    """What one endpoint+model was found to take."""

    structured: StructuredMode = "json_schema"
    stream_options: bool = True
    #: Characters per token, calibrated from reported usage; used to estimate without it.
    chars_per_token: float = DEFAULT_CHARS_PER_TOKEN
    #: Who counted the last answer's tokens: "reported" (the server), "tokenizer" (the
    #: model's, when the server sent no usage) or "estimated".
    tokens_counted: str = ""

    def downgrade_structured(self) -> StructuredMode | None:
        """Step down to the next way of asking for JSON; None when only the prompt is left."""
        index = STRUCTURED_MODES.index(self.structured)
        if index + 1 >= len(STRUCTURED_MODES):
            return None
        self.structured = STRUCTURED_MODES[index + 1]
        return self.structured

    def calibrate(self, chars: int, tokens: int) -> None:
        """Learn the endpoint's characters per token from a reported count (smoothed)."""
        if chars < 200 or tokens <= 0:
            return  # too short to say anything
        observed = min(max(chars / tokens, 1.5), 8.0)
        self.chars_per_token = 0.7 * self.chars_per_token + 0.3 * observed

    def estimate(self, chars: int) -> int:
        """Tokens in `chars` characters of text, by the calibrated ratio (at least 1)."""
        return max(1, math.ceil(chars / self.chars_per_token)) if chars else 0


@dataclass(frozen=True)
class TokenizeRoute:
    """A server's own tokenizer, beside its `/v1`: where, what to send, what comes back."""

    path: str  # under the server root (the base URL without its `/v1`)
    field: str  # the request's text field
    answer: str  # "tokens" (a list) or "count" (a number)
    #: The server cuts a running stream when this request arrives (llama-cpp-python's
    #: `interrupt_requests`), so it must never overlap one of ours.
    interrupts: bool
    name: str  # for the status and `lspilot doctor`


#: Tokenize routes, asked in this order until one answers: llama.cpp's own server
#: (`llama-server`), then llama-cpp-python's (`python -m llama_cpp.server`).
TOKENIZE_ROUTES = (
    TokenizeRoute("tokenize", "content", "tokens", False, "llama.cpp /tokenize"),
    TokenizeRoute(
        "extras/tokenize/count", "input", "count", True, "llama-cpp-python /extras/tokenize/count"
    ),
    TokenizeRoute("extras/tokenize", "input", "tokens", True, "llama-cpp-python /extras/tokenize"),
)


def server_root(base_url: str) -> str:
    """The server's root for `base_url`: its OpenAI `/v1` (or `/v1/`) cut off, if it has one."""
    url = base_url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def response_format_for(mode: StructuredMode, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The `response_format` argument for `mode`, or None to ask in the prompt only."""
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "review", "strict": True, "schema": schema},
        }
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def refused_field(status: int, said: str, sent: dict[str, Any]) -> str | None:
    """The optional field a 400/422/500 refused, when its body names one we sent; else None.

    Whatever the status, the body must name the field: a 400 that names none of them (a
    wrong model name, a prompt over the context window) is the request's own fault, and
    asking again without each optional field in turn would only send the same bad request
    up to three more times before the user hears of it.
    """
    if status not in (400, 422, 500):
        return None
    lowered = said.lower()
    for name in OPTIONAL_FIELDS:
        if name in sent and name in lowered:
            return name
    return None


def is_local(base_url: str) -> bool:
    """Whether `base_url` points at this machine (a loopback address or `localhost`)."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---- what an endpoint is given -------------------------------------------------------


def concurrency_for(settings: Settings, engine: Engine) -> int:
    """Requests in flight at once: `limits.maxConcurrent` when set, else 1 for a local server.

    llama.cpp, Ollama and LM Studio on one machine serve one request at a time (a second one
    queues, or cuts the running stream short), so asking them in parallel only slows down.
    """
    limits = settings.limits
    if "max_concurrent" in limits.model_fields_set:
        return limits.max_concurrent
    if serves_locally(engine):
        return 1
    return limits.max_concurrent


#: A hover explanation's output limit on a local endpoint, unless `hover.maxOutputTokens`
#: says otherwise: a CPU writes a few tokens a second, so 1024 keep a hover waiting minutes.
LOCAL_HOVER_OUTPUT_TOKENS = 256


def hover_output_tokens(settings: Settings, engine: Engine) -> int | None:
    """The most tokens a hover explanation asks for; None: `maxOutputTokens`, as any task."""
    own = settings.hover.max_output_tokens
    if own is None:
        if not serves_locally(engine):
            return None
        own = LOCAL_HOVER_OUTPUT_TOKENS
    return own if own < settings.max_output_tokens else None


def endpoint_failed(engine: Engine, error: BaseException) -> bool | None:
    """What a request's `error` says of the endpoint, for the circuit breaker.

    True: it is failing (unreachable, timing out, rate limiting). False: it answered, just
    not usefully. None: nothing (the request was cancelled, or made way for a hover; or a
    local server began its response and was slow to the first token, which is a CPU reading
    a long prompt, not an outage).
    """
    if not isinstance(error, AssistantError) or isinstance(error, PreemptedError):
        return None
    if isinstance(error, FirstTokenTimeoutError) and serves_locally(engine):
        return None
    return isinstance(error, UnavailableError | ModelTimeoutError | RateLimitError)


def serves_locally(engine: Engine) -> bool:
    """Whether `engine` talks to a server on this machine (Ollama, or a loopback endpoint)."""
    return engine.id == "ollama" or is_local(engine.describe().get("endpoint", ""))


def engine_inputs(settings: Settings) -> tuple[Any, ...]:
    """The settings an engine is built from: when they change, the engine is selected again."""
    return (
        settings.provider,
        settings.base_url,
        settings.model,
        settings.models,
        settings.ollama_url,
        settings.ollama_model,
        settings.request_timeout_ms,
        settings.first_token_timeout_ms,
        settings.stall_timeout_ms,
        settings.total_timeout_ms,
        settings.temperature,
        settings.max_output_tokens,
        settings.api_key,
        settings.diagnostics.structured_output,
        settings.limits.max_input_chars,
    )
