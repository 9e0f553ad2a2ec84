"""An OpenAI-compatible chat completions client: one POST over httpx, streamed as SSE.

lspilot asks an endpoint for three things: a streamed chat completion (every task), a plain
one and the model list (`lspilot doctor`). The `openai` SDK did this before; it was dropped
because of what it costs a process that lives as long as the editor: importing it builds
~630 modules of pydantic models (~19 MiB resident, a second of CPU on a busy machine, which
is why it had to be imported in a thread of its own), while lspilot used none of what it adds
over HTTP: retries are ours (`lspilot.assistant.retry`, the SDK ran with `max_retries=0`),
timeouts are ours (`streaming.py`), errors are mapped to ours (the engine), and answers are
validated by our own models (`lspilot.assistant.tasks`). What it did over HTTP is kept here:
the bearer key, JSON bodies, `data:` events up to `[DONE]`, an `error` object inside the
stream, and the status code, headers and body of a refusal, sorted into the errors below.

What a server sends is bounded: an event, an error body or a plain answer over
`MAX_EVENT_BYTES` is malformed, not read on (a server that never sends a newline must not
fill the memory).

Redirects are not followed: a key goes to the configured endpoint and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

#: The most bytes of one SSE event, one error body or one plain JSON answer.
MAX_EVENT_BYTES = 4 * 2**20
#: The most characters of an error body kept in an error's message.
MESSAGE_CHARS = 2_000


class EndpointError(Exception):
    """The endpoint could not be asked, or did not answer as an OpenAI-compatible server."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EndpointTimeoutError(EndpointError):
    """No connection, or no response, within the client's timeouts."""


class EndpointConnectionError(EndpointError):
    """The connection could not be made, or broke (refused, reset, closed mid-answer)."""


class EndpointStatusError(EndpointError):
    """The endpoint answered with an error status (>= 400)."""

    def __init__(self, status_code: int, body: str, headers: httpx.Headers) -> None:
        self.status_code = status_code
        #: The whole body (truncated), where a refused field may be named outside `message`.
        self.body = body
        self.headers = headers
        super().__init__(_error_message(body))


class StreamErrorEvent(EndpointError):
    """An `error` object sent inside the event stream (the status was 200)."""


class MalformedAnswerError(EndpointError, ValueError):
    """What came is not what an OpenAI-compatible server sends (not JSON, not an object,
    an event over `MAX_EVENT_BYTES`)."""


def _error_message(body: str) -> str:
    """The `error.message` of an OpenAI-style error body, else the body's text."""
    try:
        data = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:MESSAGE_CHARS]
    if isinstance(data, dict):
        error = data.get("error", data)
        message = error.get("message") if isinstance(error, dict) else error
        if isinstance(message, str) and message.strip():
            return message[:MESSAGE_CHARS]
    return " ".join(body.split())[:MESSAGE_CHARS]


def _transport_error(error: Exception, where: str) -> EndpointError:
    import httpx

    if isinstance(error, httpx.TimeoutException):
        return EndpointTimeoutError(f"request to {where} timed out ({type(error).__name__})")
    return EndpointConnectionError(f"connection to {where} failed ({type(error).__name__})")


class ChatStream:
    """The chunks of one streamed completion, as JSON objects; `close()` ends the request
    (closing the connection is what tells the endpoint to stop generating)."""

    def __init__(self, response: httpx.Response, where: str) -> None:
        self._response = response
        self._where = where
        self._events = self._read()

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self._events.__anext__()

    async def close(self) -> None:
        """Close the response (idempotent)."""
        await self._events.aclose()
        await self._response.aclose()

    async def _read(self) -> AsyncGenerator[dict[str, Any], None]:
        import httpx

        try:
            async for data in _sse_data(self._response.aiter_bytes()):
                if data.startswith("[DONE]"):
                    return
                chunk = _json_object(data, "an event")
                error = chunk.get("error")
                if error:
                    said = error.get("message") if isinstance(error, dict) else error
                    raise StreamErrorEvent(
                        f"{self._where} sent an error in the stream: {str(said)[:MESSAGE_CHARS]}"
                    )
                yield chunk
        except httpx.HTTPError as error:
            raise _transport_error(error, self._where) from None


async def _sse_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The `data` of each server-sent event in `chunks` (lines split on CR, LF or CRLF)."""
    buffer = b""
    data: list[str] = []
    size = 0
    ended = False
    iterator = chunks.__aiter__()
    while not ended:
        try:
            buffer += await iterator.__anext__()
            lines = buffer.splitlines(keepends=True)
            # The last piece waits for the rest of its line, unless that line ended.
            buffer = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        except StopAsyncIteration:  # the end of the stream ends its last line
            lines, buffer, ended = [buffer, b""], b"", True
        if len(buffer) > MAX_EVENT_BYTES:
            raise MalformedAnswerError(f"an event stream line over {MAX_EVENT_BYTES} bytes")
        for raw in lines:
            line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
            if not line:  # a blank line dispatches the event
                if data:
                    yield "\n".join(data)
                data, size = [], 0
                continue
            name, _, value = line.partition(":")
            # Comments (":"), `event:`, `id:` and `retry:` carry nothing a completion needs.
            if name == "data":
                data.append(value[1:] if value.startswith(" ") else value)
                size += len(value)
                if size > MAX_EVENT_BYTES:
                    raise MalformedAnswerError(f"an event over {MAX_EVENT_BYTES} bytes")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise MalformedAnswerError(f"{what} that is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedAnswerError(f"{what} that is not a JSON object")
    return value


class ChatClient:
    """Chat completions and the model list of one OpenAI-compatible endpoint."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        where: str | None = None,
    ) -> None:
        """`where`: the endpoint as messages name it (without credentials). Builds the
        connection pool, which loads the CA certificates: tens of milliseconds, so build it
        off the event loop."""
        import httpx

        from lspilot import __version__

        headers = {"User-Agent": f"lspilot/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self.base_url = base_url.rstrip("/")
        self.where = where or self.base_url
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
        )

    async def stream(self, body: dict[str, Any]) -> ChatStream:
        """Start a streamed completion (`body` as the API takes it, `stream` set here).

        Raises `EndpointStatusError` for an error status, `EndpointTimeoutError` and
        `EndpointConnectionError` when no response came."""
        response = await self._send("POST", "/chat/completions", {**body, "stream": True})
        return ChatStream(response, self.where)

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """A completion that is not streamed: the answer's JSON object."""
        body = {key: value for key, value in body.items() if key != "stream_options"}
        response = await self._send("POST", "/chat/completions", {**body, "stream": False})
        return _json_object(await self._read_body(response), "an answer")

    async def models(self) -> list[str]:
        """The ids of the models the endpoint lists (`GET /models`)."""
        response = await self._send("GET", "/models", None)
        listed = _json_object(await self._read_body(response), "a model list").get("data")
        if not isinstance(listed, list):
            raise MalformedAnswerError("a model list without a `data` list")
        return [str(m["id"]) for m in listed if isinstance(m, dict) and "id" in m]

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        import httpx

        content = None
        headers = {}
        if body is not None:
            # ASCII JSON: a lone surrogate in a buffer travels as its escape, never as bad UTF-8.
            content = json.dumps(body).encode("ascii")
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method, self.base_url + path, content=content, headers=headers
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise _transport_error(error, self.where) from None
        if response.status_code >= 300:  # redirects are not followed: a refusal too
            try:
                text = await self._read_body(response)
            finally:
                await response.aclose()
            raise EndpointStatusError(response.status_code, text, response.headers)
        return response

    async def _read_body(self, response: httpx.Response) -> str:
        """The body's text, read up to `MAX_EVENT_BYTES`."""
        import httpx

        data = bytearray()
        try:
            async for piece in response.aiter_bytes():
                data += piece
                if len(data) > MAX_EVENT_BYTES:
                    raise MalformedAnswerError(f"a body over {MAX_EVENT_BYTES} bytes")
        except httpx.HTTPError as error:
            raise _transport_error(error, self.where) from None
        finally:
            await response.aclose()
        return data.decode("utf-8", "replace")
