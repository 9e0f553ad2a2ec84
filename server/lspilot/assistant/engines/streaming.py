"""Reading one streamed chat completion at any speed, and telling a whole answer from a cut one.

Local servers on a CPU answer at 3-15 tokens a second, so there is no total deadline that
kills a stream still making progress; instead there are three limits, each a setting: the
time to the first token (a CPU reads a long prompt slowly), the longest stall between two
chunks once tokens flow, and a total cap long enough for `maxOutputTokens` at local speed.

A stream can end without being whole: with `finish_reason: "length"` (`maxOutputTokens`
reached), with no `finish_reason` at all (llama.cpp ends a running stream with `[DONE]` when
another request arrives), by a stall, by the total cap, or by the connection dropping after
some text arrived. `StreamState.complete` says which it was; the engine decides what of a cut
answer can be used, and the gateway never caches it.

Each chunk goes through `StreamState.add`: the one place that sees every piece of text, so
that a limit on the answer's size can sit beside it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lspilot.assistant.engines.chat_client import EndpointConnectionError, EndpointError
from lspilot.assistant.errors import FirstTokenTimeoutError, ModelTimeoutError

if TYPE_CHECKING:
    from lspilot.assistant.engines.chat_client import ChatClient


@dataclass
class StreamLimits:
    """Seconds: to the response, to the first token, between chunks, and for everything."""

    response_s: float
    first_token_s: float
    stall_s: float
    total_s: float
    #: The most UTF-8 bytes of answer taken in; a longer answer is cut there (never cached).
    max_bytes: int = 1 << 62


@dataclass
class StreamState:
    """What one stream has delivered so far."""

    pieces: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    #: (prompt_tokens, completion_tokens) when the server reported usage.
    usage: tuple[int, int] | None = None
    #: Why the stream ended early ("stalled", "too slow", "connection lost"); "" if it did not.
    cut: str = ""
    chunks: int = 0
    size: int = 0  # UTF-8 bytes of text so far

    @property
    def text(self) -> str:
        """The answer's text so far."""
        return "".join(self.pieces)

    @property
    def started(self) -> bool:
        """Whether any text arrived (from then on a failure is a cut answer, not an outage)."""
        return any(self.pieces)

    @property
    def complete(self) -> bool:
        """Whether the model said it was done (`stop`, or a tool call / filter end)."""
        return not self.cut and self.finish_reason not in (None, "length")

    def why_incomplete(self) -> str:
        """A few words on why the answer is not whole, for messages and logs."""
        if self.cut:
            return self.cut
        if self.finish_reason == "length":
            return "maxOutputTokens was reached"
        return "the server ended the answer without finishing it"

    def add(self, chunk: dict[str, Any]) -> None:
        """Take in one chunk of the stream (its JSON object): text, the finish reason, usage.

        What is not the shape of a chunk (a choice that is no object, content that is no
        string) is skipped, not taken as text."""
        self.chunks += 1
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = (
                _count(usage.get("prompt_tokens")),
                _count(usage.get("completion_tokens")),
            )
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                self.pieces.append(content)
                self.size += len(content.encode("utf-8", "surrogatepass"))
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                self.finish_reason = reason


def _count(value: Any) -> int:
    """A token count as reported: a whole number, else 0 (never trusted beyond that)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


async def read_stream(
    client: ChatClient, kwargs: dict[str, Any], limits: StreamLimits
) -> StreamState:
    """Stream one completion under `limits`.

    Raises `ModelTimeoutError` when no response came in time: the request never streamed, so
    it may be retried. A response with no first token in time raises `FirstTokenTimeoutError`,
    which is not retried: the request was streaming (and a local server is only slow to read
    the prompt). Once text arrived, a stall, the total cap or a dropped connection end the
    stream as cut (`state.cut`) instead. Endpoint errors before any text propagate unchanged.
    """
    started = time.monotonic()
    deadline = started + limits.total_s
    state = StreamState()
    try:
        async with asyncio.timeout(min(limits.response_s, limits.total_s)):
            stream = await client.stream(kwargs)
    except TimeoutError:
        raise ModelTimeoutError(
            f"no response within {limits.response_s:g} s (requestTimeoutMs)"
        ) from None
    try:
        iterator = stream.__aiter__()
        while True:
            now = time.monotonic()
            if state.started:
                wait = min(limits.stall_s, deadline - now)
            else:
                wait = min(started + limits.first_token_s, deadline) - now
            try:
                async with asyncio.timeout(max(wait, 0.0)):
                    chunk = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                if not state.started:
                    raise FirstTokenTimeoutError(
                        f"no first token within {limits.first_token_s:g} s (firstTokenTimeoutMs)"
                    ) from None
                total = time.monotonic() >= deadline
                state.cut = (
                    f"the total cap of {limits.total_s:g} s was reached (totalTimeoutMs)"
                    if total
                    else f"the model stalled for {limits.stall_s:g} s (stallTimeoutMs)"
                )
                break
            except EndpointError as error:
                if not state.started:
                    raise
                # What came before the connection dropped (or the stream broke) is a cut answer.
                state.cut = (
                    "the connection was lost mid-answer"
                    if isinstance(error, EndpointConnectionError)
                    else f"the stream broke off mid-answer ({error.message})"
                )
                break
            state.add(chunk)
            if state.size > limits.max_bytes:
                # A runaway (or hostile) answer: keep what fits, say so, never cache it.
                text = state.text.encode("utf-8", "surrogatepass")[: limits.max_bytes]
                state.pieces = [text.decode("utf-8", "ignore")]
                state.cut = f"the answer was over the size cap of {limits.max_bytes} bytes"
                break
    finally:
        # Also on cancellation: closing the response closes the HTTP connection, which is
        # what tells the endpoint to stop generating.
        await stream.close()
    return state
