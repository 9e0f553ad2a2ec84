"""A small OpenAI-compatible HTTP server for tests: scriptable, with fault injection.

It speaks just enough of the OpenAI REST API for the ``openai`` SDK (and therefore lspilot's
OpenAI-compatible engine) to talk to it over a real socket on 127.0.0.1:

- ``POST /v1/chat/completions``: a JSON answer, or SSE streaming when the body has
  ``"stream": true`` (with a usage chunk when ``stream_options.include_usage`` is set);
- ``GET /v1/models``: the models in :attr:`FakeModelServer.models`;
- the tokenize routes beside ``/v1`` when :attr:`FakeModelServer.tokenize` says which server
  to be: ``POST /tokenize`` (llama.cpp's ``{"content"}`` → ``{"tokens"}``), or
  ``POST /extras/tokenize`` and ``/extras/tokenize/count`` (llama-cpp-python's ``{"input"}``
  → ``{"tokens"}`` / ``{"count"}``), counting with :func:`fake_tokens`.

Every request is recorded (:class:`RecordedRequest`) so tests can assert on how often the
model was called and on what was sent. Replies are scripted per test with
:meth:`FakeModelServer.script` (a queue) or :attr:`FakeModelServer.responder` (the fallback),
and a :class:`Reply` can inject faults: an HTTP status with headers (429 + ``Retry-After``),
a delay, a stall until the client gives up, a dropped connection, a malformed body.

Waiting is done with a :class:`threading.Condition`, never with sleep loops in tests:
``wait_for_requests`` / ``wait_for_disconnect`` and their async twins.

Usage::

    with FakeModelServer() as server:
        server.script(Reply(status=429, headers={"Retry-After": "0"}), "def f(): ...")
        client = openai.AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
#: The tokenize routes of each server `FakeModelServer.tokenize` can be, and their fields.
TOKENIZE_PATHS = {
    "llama.cpp": {"/tokenize": ("content", "tokens")},
    "llama-cpp-python": {
        "/extras/tokenize": ("input", "tokens"),
        "/extras/tokenize/count": ("input", "count"),
    },
}
DEFAULT_ANSWER = "Explanation of the code."

# How often a waiting handler checks whether the client went away or the server is stopping.
_POLL_S = 0.02

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


# What llama-cpp-python's server (0.3.x) answers to a `json_schema` response_format, verbatim
# but for the file path: HTTP 500, a pydantic validation dump naming `response_format`.
_LLAMA_CPP_JSON_SCHEMA_ERROR = {
    "error": {
        "message": (
            "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format',"
            " 'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': "
            "'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n  File "
            '"llama_cpp/server/app.py", line 376, in create_chat_completion\n'
            "    POST /v1/chat/completions"
        ),
        "type": "internal_server_error",
        "param": None,
        "code": None,
    }
}


def _wants_json_schema(body: dict[str, Any]) -> bool:
    response_format = body.get("response_format")
    return isinstance(response_format, dict) and response_format.get("type") == "json_schema"


@dataclass
class Reply:
    """What the fake answers to one chat completion request.

    Attributes:
        content: The assistant message (split into a few SSE chunks when streaming).
        status: HTTP status; >= 400 sends an OpenAI-style error body.
        headers: Extra response headers, e.g. ``{"Retry-After": "2"}``.
        delay: Seconds to wait before answering (ends early if the client disconnects).
        stall: Never answer; wait until the client disconnects or the server stops.
        drop: Close the connection without sending any response.
        raw_body: Send these bytes verbatim as the body (e.g. malformed JSON; when
            streaming, the raw event stream).
        usage: ``(prompt_tokens, completion_tokens)``; default ~4 characters per token.
        chunk_delay: Seconds between SSE chunks.
        error_message: Message of the error body for ``status >= 400``.
        finish_reason: ``finish_reason`` of the choice (``"length"`` for truncated output);
            None when streaming ends the stream with ``[DONE]`` and no finish chunk, as
            llama.cpp does to a running stream when another request arrives.
        stall_after: When streaming, send this many SSE events, then stall (a model that
            stops producing tokens mid-answer) until the client disconnects.
    """

    content: str = "ok"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    stall: bool = False
    drop: bool = False
    raw_body: bytes | None = None
    usage: tuple[int, int] | None = None
    chunk_delay: float = 0.0
    error_message: str | None = None
    finish_reason: str | None = "stop"
    stall_after: int | None = None


Responder = Callable[[dict[str, Any]], "Reply | str"]


@dataclass
class RecordedRequest:
    """One request the fake received.

    ``headers`` has lower-case keys and keeps ``authorization`` on purpose: tests assert that
    a key was (or was not) sent. ``body`` is the parsed JSON, or None when absent/invalid.
    ``disconnected`` becomes True when the client closed the connection before the answer
    was complete (while we delayed, stalled or streamed). ``peer_port`` identifies the
    client's connection (equal ports: a reused keep-alive connection).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float
    raw: bytes = b""
    peer_port: int = 0
    reply: Reply | None = None
    disconnected: bool = False
    #: A stream cut short because a tokenize request arrived (llama-cpp-python's
    #: ``interrupt_requests``).
    interrupted: bool = False

    @property
    def model(self) -> str | None:
        """The ``model`` field of the body, if any."""
        return (self.body or {}).get("model")

    @property
    def stream(self) -> bool:
        """Whether the client asked for SSE streaming."""
        return bool((self.body or {}).get("stream"))


def _default_responder(body: dict[str, Any]) -> Reply | str:
    """Deterministic answer used when nothing is scripted."""
    return DEFAULT_ANSWER


def message_text(message: dict[str, Any]) -> str:
    """The text of one chat message; content may be a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def fake_tokens(text: str) -> list[int]:
    """The fake's tokenizer: one token per word and per other character that is not a space
    (so its counts differ from lspilot's ~3.6-characters estimate); ids are stable."""
    return [sum(map(ord, piece)) % 50_000 for piece in re.findall(r"\w+|[^\w\s]", text)]


def _tokens(text: str) -> int:
    """Rough token count, ~4 characters per token, like a real tokenizer on code."""
    return (len(text) + 3) // 4


def _within_max_tokens(body: dict[str, Any], reply: Reply) -> Reply:
    """`reply` cut at the request's output limit, as a real server would cut it."""
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if not isinstance(limit, int):
        return reply
    completion = reply.usage[1] if reply.usage is not None else _tokens(reply.content)
    if completion <= limit:
        return reply
    usage = (reply.usage[0], limit) if reply.usage is not None else None
    return replace(reply, content=reply.content[: 4 * limit], usage=usage, finish_reason="length")


def _split(content: str, pieces: int = 4) -> list[str]:
    """Split `content` into up to `pieces` non-empty parts, so streaming has real chunks."""
    if not content:
        return []
    size = max(1, -(-len(content) // pieces))
    return [content[i : i + size] for i in range(0, len(content), size)]


class _Server(ThreadingHTTPServer):
    """The HTTP server, holding a back reference to the fake that owns it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, fake: FakeModelServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up mid-answer on purpose in many tests; that is not an error worth
        # a traceback on stderr. Anything else still gets reported.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) or self.fake._stopping.is_set():
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 so the SDK's connection pool keeps it alive."""

    protocol_version = "HTTP/1.1"
    server: _Server

    # --- plumbing -------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log (it would clutter test output)."""

    def _client_gone(self) -> bool:
        """True when the peer closed the connection (readable and a peek returns b"")."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except (OSError, ValueError):
            return True

    def _wait(self, seconds: float | None, record: RecordedRequest) -> bool:
        """Wait `seconds` (None: forever) while watching the client and the server.

        Returns True when the time is up and the client is still there; False when the
        client disconnected (recorded) or the server is stopping.
        """
        fake = self.server.fake
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            if self._client_gone():
                fake._mark_disconnected(record)
                return False
            if fake._stopping.is_set():
                return False
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return True
                fake._stopping.wait(min(_POLL_S, remaining))
            else:
                fake._stopping.wait(_POLL_S)

    def _abort(self) -> None:
        """Close the connection without (finishing) a response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_bytes(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self._send_bytes(status, body, "application/json", headers or {})

    def _send_error_body(
        self,
        status: int,
        message: str | None,
        headers: dict[str, str] | None = None,
        param: str | None = None,
    ) -> None:
        type_, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "error", None))
        if message is None:
            try:
                message = HTTPStatus(status).phrase
            except ValueError:
                message = "error"
        error = {"message": message, "type": type_, "param": param, "code": code}
        self._send_json(status, {"error": error}, headers)

    # --- requests -------------------------------------------------------------------------

    def _read_request(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        if not isinstance(body, dict):
            body = None
        record = RecordedRequest(
            method=self.command,
            path=self.path.split("?", 1)[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            at=time.monotonic(),
            raw=raw,
            peer_port=int(self.client_address[1]),
        )
        self.server.fake._record(record)
        return record

    def do_GET(self) -> None:
        record = self._read_request()
        if record.path.rstrip("/") == MODELS_PATH:
            data = [
                {"id": m, "object": "model", "owned_by": "fake"} for m in self.server.fake.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error_body(404, f"no route for GET {record.path}")

    def _tokenize(self, record: RecordedRequest) -> bool:
        """Answer a tokenize request when the fake plays a server that has the route."""
        fake = self.server.fake
        route = TOKENIZE_PATHS.get(fake.tokenize or "", {}).get(record.path.rstrip("/"))
        if route is None:
            return False
        if fake.tokenize == "llama-cpp-python":
            fake._interrupt()  # it takes the model's lock: a running stream is cut
        if fake.tokenize_stall:
            self._wait(None, record)
            self._abort()
            return True
        field_name, answer = route
        text = (record.body or {}).get(field_name)
        if not isinstance(text, str):
            self._send_error_body(422, f"`{field_name}` is required", param=field_name)
            return True
        tokens = fake_tokens(text)
        if fake.tokenize == "llama-cpp-python":
            tokens = [1, *tokens]  # its Llama.tokenize adds the BOS token to any text
        self._send_json(200, {"count": len(tokens)} if answer == "count" else {"tokens": tokens})
        return True

    def do_POST(self) -> None:
        record = self._read_request()
        fake = self.server.fake
        if self._tokenize(record):
            return
        if record.path.rstrip("/") != CHAT_PATH:
            self._send_error_body(404, f"no route for POST {record.path}")
            return
        body = record.body
        if body is None:
            self._send_error_body(400, "request body is not a JSON object")
            return
        # Refusals that do not depend on the script: they do not consume a scripted reply, so
        # a test can script the answer to the retry that follows.
        if fake.reject_response_format and "response_format" in body:
            self._send_error_body(400, "response_format is not supported", param="response_format")
            return
        if fake.mimic_llama_cpp and _wants_json_schema(body):
            self._send_json(500, _LLAMA_CPP_JSON_SCHEMA_ERROR)
            return
        if fake.strict_models and body.get("model") not in fake.models:
            self._send_error_body(404, "model not found", param="model")
            return

        reply = fake._next_reply(body)
        if fake.honor_max_tokens:
            reply = _within_max_tokens(body, reply)
        record.reply = reply
        if reply.delay and not self._wait(reply.delay, record):
            self._abort()
            return
        if reply.stall:
            self._wait(None, record)
            self._abort()
            return
        if reply.drop:
            self._abort()
            return
        if reply.status >= 400:
            if reply.raw_body is not None:
                self._send_bytes(reply.status, reply.raw_body, "application/json", reply.headers)
            else:
                self._send_error_body(reply.status, reply.error_message, reply.headers)
            return
        if record.stream:
            self._stream(body, reply, record)
        elif reply.raw_body is not None:
            self._send_bytes(reply.status, reply.raw_body, "application/json", reply.headers)
        else:
            self._send_json(reply.status, fake._completion(body, reply), reply.headers)

    def _stream(self, body: dict[str, Any], reply: Reply, record: RecordedRequest) -> None:
        """Answer with SSE over chunked transfer encoding (keeps the connection reusable)."""
        fake = self.server.fake
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()

        if reply.raw_body is not None:
            events = [reply.raw_body]
        else:
            events = [
                b"data: " + json.dumps(chunk).encode() + b"\n\n"
                for chunk in fake._chunks(body, reply)
            ]
            events.append(b"data: [DONE]\n\n")
        interrupts = fake._interrupts
        try:
            for index, event in enumerate(events):
                if fake._interrupts != interrupts:
                    # llama-cpp-python ends a running stream when another request arrives.
                    record.interrupted = True
                    event = b"data: [DONE]\n\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                    break
                if index == reply.stall_after:
                    self._wait(None, record)
                    self._abort()
                    return
                if index and reply.chunk_delay and not self._wait(reply.chunk_delay, record):
                    self._abort()
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            # The client hung up while we were streaming.
            fake._mark_disconnected(record)
            self.close_connection = True


class FakeModelServer:
    """An OpenAI-compatible server on 127.0.0.1 (random port), run in a daemon thread.

    Attributes:
        models: Model ids listed by ``GET /v1/models``.
        strict_models: When True, a chat request for a model not in ``models`` gets 404.
        reject_response_format: When True, a chat request with ``response_format`` gets 400
            (like endpoints without structured output).
        responder: ``(body) -> Reply | str``, used when the script queue is empty.
        mimic_llama_cpp: When True, behave like llama-cpp-python's server: a
            ``response_format`` of type ``json_schema`` gets 500 with its validation dump
            (``json_object``, with or without a ``schema``, is taken), streams carry no usage
            whatever ``stream_options`` says, and the first chunk has the role only.
        tokenize: Which server's tokenize routes to serve: None (none: 404), "llama.cpp"
            or "llama-cpp-python" (which, like the real one, cuts a running stream short
            when a tokenize request arrives).
        tokenize_stall: Tokenize requests never answer (until the client gives up).
        honor_max_tokens: When True, an answer longer than the request's ``max_tokens``
            (or ``max_completion_tokens``) is cut there, as real servers do: its content to
            ~4 characters a token, ``finish_reason`` "length", the usage to the limit.
    """

    def __init__(self, models: list[str] | None = None) -> None:
        self.models: list[str] = list(models or ["test-model"])
        self.strict_models = False
        self.reject_response_format = False
        self.mimic_llama_cpp = False
        self.tokenize: str | None = None
        self.tokenize_stall = False
        self.honor_max_tokens = False
        self._interrupts = 0
        self.responder: Responder = _default_responder
        self._script: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._ids = itertools.count(1)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeModelServer:
        """Bind to a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-model-server:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled or streaming handlers end promptly. Idempotent."""
        httpd = self._httpd
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        # Idle keep-alive connections block their handler in a read; shutting the sockets
        # down wakes them up so no thread outlives the test holding a socket.
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port (only valid after ``start()``)."""
        if self._httpd is None:
            raise RuntimeError("FakeModelServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients: ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # --- scripting ------------------------------------------------------------------------

    def script(self, *replies: Reply | str) -> None:
        """Queue replies, consumed one per chat request, in order (a str is its content)."""
        with self._lock:
            self._script.extend(r if isinstance(r, Reply) else Reply(content=r) for r in replies)

    def pending_replies(self) -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        """Forget the recorded requests (e.g. after warming a cache). The script, the
        responder and the flags stay as they are: a test resets the log, not its setup."""
        with self._changed:
            self._requests.clear()
            self._changed.notify_all()

    def clear_script(self) -> None:
        """Drop scripted replies that were not used."""
        with self._lock:
            self._script.clear()

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._script:
                return self._script.popleft()
        answer = self.responder(body)
        return answer if isinstance(answer, Reply) else Reply(content=answer)

    # --- the request log ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        with self._lock:
            return list(self._requests)

    def tokenize_requests(self) -> list[RecordedRequest]:
        """Requests to any tokenize route (served or not), oldest first."""
        with self._lock:
            return [r for r in self._requests if "tokenize" in r.path]

    def _interrupt(self) -> None:
        with self._lock:
            self._interrupts += 1

    def chat_requests(self) -> list[RecordedRequest]:
        """Only the chat completion requests, oldest first."""
        with self._lock:
            return [r for r in self._requests if r.path.rstrip("/") == CHAT_PATH]

    @staticmethod
    def prompt_text(request: RecordedRequest) -> str:
        """All message contents of a chat request, joined by newlines."""
        messages = (request.body or {}).get("messages") or []
        return "\n".join(message_text(m) for m in messages if isinstance(m, dict))

    def all_prompt_text(self) -> str:
        """The prompt text of every chat request so far (for "never sent" assertions)."""
        return "\n".join(self.prompt_text(r) for r in self.chat_requests())

    def _record(self, record: RecordedRequest) -> None:
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()

    def _mark_disconnected(self, record: RecordedRequest) -> None:
        with self._changed:
            record.disconnected = True
            self._changed.notify_all()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # --- waiting without sleep loops ------------------------------------------------------

    def wait_for_requests(
        self, n: int, timeout: float = 5.0, *, path: str | None = CHAT_PATH
    ) -> bool:
        """Block until at least `n` requests arrived; True if they did within `timeout`.

        Counts chat completion requests by default (what "the model was called n times"
        means); pass ``path=None`` to count every request.
        """

        def enough() -> bool:
            count = sum(1 for r in self._requests if path is None or r.path.rstrip("/") == path)
            return count >= n

        with self._changed:
            return self._changed.wait_for(enough, timeout)

    def wait_for_disconnect(self, timeout: float = 5.0, n: int = 1) -> bool:
        """Block until `n` requests saw their client disconnect; True if within `timeout`."""
        with self._changed:
            return self._changed.wait_for(
                lambda: sum(r.disconnected for r in self._requests) >= n, timeout
            )

    # The timeout is passed to the blocking wait in the worker thread: asyncio.timeout could
    # not interrupt that thread, so the parameter is the right tool here.
    async def await_requests(
        self,
        n: int,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        path: str | None = CHAT_PATH,
    ) -> bool:
        """``wait_for_requests`` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for_requests, n, timeout, path=path)

    async def await_disconnect(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
        n: int = 1,
    ) -> bool:
        """``wait_for_disconnect`` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for_disconnect, timeout, n)

    # --- answers --------------------------------------------------------------------------

    def _usage(self, body: dict[str, Any], reply: Reply) -> dict[str, int]:
        if reply.usage is not None:
            prompt, completion = reply.usage
        else:
            messages = body.get("messages") or []
            prompt_chars = "".join(message_text(m) for m in messages if isinstance(m, dict))
            prompt, completion = max(1, _tokens(prompt_chars)), _tokens(reply.content)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.models[0],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                    "logprobs": None,
                }
            ],
            "usage": self._usage(body, reply),
        }

    def _chunks(self, body: dict[str, Any], reply: Reply) -> Iterator[dict[str, Any]]:
        """The SSE chunks: role, content pieces, finish, then usage when asked for."""
        base = {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model") or self.models[0],
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return {**base, "choices": [choice]}

        # llama.cpp's first chunk carries the role only; OpenAI's an empty content too.
        yield chunk(
            {"role": "assistant"} if self.mimic_llama_cpp else {"role": "assistant", "content": ""}
        )
        for piece in _split(reply.content):
            yield chunk({"content": piece})
        if reply.finish_reason is not None:
            yield chunk({}, reply.finish_reason)
        # llama.cpp ignores stream_options: a stream never carries usage.
        if self.mimic_llama_cpp:
            return
        if (body.get("stream_options") or {}).get("include_usage"):
            yield {**base, "choices": [], "usage": self._usage(body, reply)}
