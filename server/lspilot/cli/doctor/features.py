"""What `lspilot doctor` finds out about the endpoint's optional features, and what lspilot
will use: streaming (with a finish reason), usage in the stream (else the model's tokenizer:
the server's tokenize route or OpenAI's encodings, else the estimate), `json_schema` and
`json_object` structured output.

Each feature is asked for once, the way the engine would; a refusal (400/422/500 naming the
feature, `lspilot.assistant.engines.capabilities.refused_field`) is a fallback to report with
a warning, never a failure: lspilot works without any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lspilot.assistant.engines.capabilities import (
    STRUCTURED_MODES,
    StructuredMode,
    refused_field,
    response_format_for,
)
from lspilot.assistant.engines.prompts import REVIEW_SCHEMA
from lspilot.assistant.engines.streaming import StreamState
from lspilot.cli.doctor.report import OK, WARN, Section

if TYPE_CHECKING:
    from lspilot.assistant.engines.chat_client import ChatClient

_ASK = [{"role": "user", "content": 'Reply with the JSON {"issues": []}.'}]

_MODE_WORDS = {
    "json_schema": "a JSON schema (`response_format` json_schema)",
    "json_object_schema": "JSON mode with the schema (`response_format` json_object + schema)",
    "json_object": "JSON mode without the schema (`response_format` json_object)",
    "prompt": "JSON asked for in the prompt only",
}


@dataclass
class Found:
    """What the endpoint took."""

    streams: bool = False
    finish_reason: bool = False
    usage: bool = False
    stream_options_refused: bool = False
    structured: StructuredMode = "prompt"
    refusals: list[str] = field(default_factory=list)


def _said(error: Exception) -> tuple[int | None, str]:
    """The status and whole body of a refusal; (None, "") for any other error."""
    from lspilot.assistant.engines.chat_client import EndpointStatusError

    if isinstance(error, EndpointStatusError):
        return error.status_code, error.body
    return None, ""


async def _stream(client: ChatClient, model: str, found: Found) -> None:
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": "Reply with the word OK."}],
        "max_tokens": 4,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    for _ in range(2):
        try:
            stream = await client.stream(kwargs)
            try:
                async for chunk in stream:
                    found.streams = True
                    state = StreamState()
                    state.add(chunk)
                    found.usage = found.usage or bool(state.usage and state.usage[0])
                    found.finish_reason = found.finish_reason or state.finish_reason is not None
            finally:
                await stream.close()
            return
        except Exception as error:
            status, said = _said(error)
            if status is None or refused_field(status, said, kwargs) != "stream_options":
                raise
            found.stream_options_refused = True
            del kwargs["stream_options"]


async def _structured(client: ChatClient, model: str, found: Found) -> None:
    for mode in STRUCTURED_MODES:
        response_format = response_format_for(mode, REVIEW_SCHEMA)
        if response_format is None:
            found.structured = "prompt"
            return
        kwargs = {
            "model": model,
            "messages": _ASK,
            "max_tokens": 8,
            "temperature": 0,
            "response_format": response_format,
        }
        try:
            await client.complete(kwargs)
        except Exception as error:
            status, said = _said(error)
            if status is None or refused_field(status, said, kwargs) != "response_format":
                raise
            found.refusals.append(f"{mode} ({status})")
            continue
        found.structured = mode
        return


async def _token_counter(base_url: str, key: str | None, model: str) -> str:
    """What counts `model`'s tokens without usage: an encoding, a route, or "none"."""
    from lspilot.assistant.engines.tokenizer import PROBE_TEXT, TokenCounter

    counter = TokenCounter(base_url, key)
    try:
        await counter.count(model, [PROBE_TEXT])
    finally:
        await counter.aclose()
    return counter.source(model) or "none"


def _report_usage(section: Section, found: Found, counter: str, model: str) -> None:
    if found.usage:
        section.add(OK, "usage: reported in the stream; lspilot counts the server's tokens")
        return
    why = "refuses stream_options" if found.stream_options_refused else "sends no usage"
    if counter != "none":
        section.add(
            OK,
            f"usage: the endpoint {why}; lspilot counts tokens with the model's tokenizer"
            f" ({counter})",
        )
        return
    from lspilot.assistant.engines.tokenizer import encoding_for

    fix = "budgets still spend the estimate"
    if encoding_for(model):
        fix += "; `pip install 'lspilot[tokenizers]'` counts OpenAI models' tokens offline"
    section.add(
        WARN,
        f"usage: the endpoint {why}; lspilot estimates tokens (no tokenizer to ask on the"
        " server; status: tokensCounted)",
        fix,
    )


async def check_features(
    section: Section,
    client: ChatClient,
    model: str,
    base_url: str = "",
    key: str | None = None,
) -> None:
    """Probe streaming, usage (else the tokenizer) and structured output with `model`; say
    what lspilot uses."""
    found = Found()
    counter = "none"
    try:
        await _stream(client, model, found)
        if not found.usage and base_url:
            counter = await _token_counter(base_url, key, model)
        await _structured(client, model, found)
    except Exception as error:
        section.add(WARN, f"could not finish probing {model}'s features ({type(error).__name__})")
        return
    if found.streams and found.finish_reason:
        section.add(OK, "streaming: answers stream and say when they are finished")
    elif found.streams:
        section.add(
            WARN,
            "streaming: the stream ended without a finish_reason",
            "lspilot treats such answers as cut short and does not cache them",
        )
    else:
        section.add(WARN, "streaming: no chunk arrived for a streamed request")
    _report_usage(section, found, counter, model)
    using = f"review JSON: lspilot will use {_MODE_WORDS[found.structured]}"
    if found.structured == "json_schema":
        section.add(OK, using)
    else:
        refused = ", ".join(found.refusals)
        section.add(
            WARN,
            f"{using}; refused: {refused}" if refused else using,
            "nothing to do: lspilot falls back by itself (diagnostics.structuredOutput)",
        )
