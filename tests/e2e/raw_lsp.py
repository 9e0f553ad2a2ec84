"""A bare LSP client over the server's stdio, byte for byte, for what pytest-lsp cannot send.

Malformed frames, requests it would refuse to build, server requests left unanswered on
purpose, `exit` without `shutdown`. Every message the server sends is recorded; the server's
stderr is drained all the time (and kept, so tests can read the log). Waits are event waits
with hang guards, never sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from tests.e2e.conftest import SERVER_CMD, SHUTDOWN_TIMEOUT, STARTUP_TIMEOUT

Message = dict[str, Any]
# Hang guards, generous: on a loaded 2-core machine (the suite under `nice` beside busy
# processes) a fresh server's first answers can take well over 15 s.
REPLY_TIMEOUT = STARTUP_TIMEOUT


def frame(body: bytes | Message) -> bytes:
    """A message with its Content-Length header (`body` as given, or JSON-encoded)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


class RawClient:
    """One server process and what it said."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.messages: list[Message] = []
        self.stderr = bytearray()
        self.answer: Callable[[Message], Any] | None = None  # server requests: reply or None
        self._changed = asyncio.Event()
        self._ids = 0
        self._tasks = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    async def _read_stdout(self) -> None:
        reader = self.process.stdout
        assert reader is not None
        while True:
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if not line:
                break
            message = json.loads(await reader.readexactly(length))
            self.messages.append(message)
            if "method" in message and "id" in message and self.answer is not None:
                result = self.answer(message)
                if result is not None:
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            self._changed.set()
        self._changed.set()

    async def _read_stderr(self) -> None:
        reader = self.process.stderr
        assert reader is not None
        while chunk := await reader.read(65536):
            self.stderr.extend(chunk)
            self._changed.set()

    @property
    def log(self) -> str:
        """The server's stderr so far."""
        return self.stderr.decode("utf-8", "replace")

    def send(self, body: bytes | Message) -> None:
        """Write one framed message (raw bytes are framed as they are)."""
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(frame(body))

    def request(self, method: str, params: Any = None, *, raw: Message | None = None) -> int:
        """Send a request (or `raw`, given this request's id); its id."""
        self._ids += 1
        message = raw if raw is not None else {"jsonrpc": "2.0", "method": method}
        message = {**message, "id": self._ids}
        if raw is None and params is not None:
            message["params"] = params
        self.send(message)
        return self._ids

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification."""
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        what: str,
        timeout: float = REPLY_TIMEOUT,  # noqa: ASYNC109 - a hang guard
    ) -> Any:
        """Wait until `predicate()` is truthy (re-checked on every message); its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return value

    async def reply(self, msg_id: int, timeout: float = REPLY_TIMEOUT) -> Message:  # noqa: ASYNC109
        """The server's answer to request `msg_id`."""
        return await self.wait_for(
            lambda: next(
                (m for m in self.messages if m.get("id") == msg_id and "method" not in m), None
            ),
            f"the reply to request {msg_id}",
            timeout,
        )

    async def call(self, method: str, params: Any = None) -> Message:
        """A request and its answer."""
        return await self.reply(self.request(method, params))

    def sent(self, method: str) -> list[Message]:
        """Every message `method` the server sent."""
        return [m for m in self.messages if m.get("method") == method]

    async def exit(self, *, shutdown: bool = True) -> int:
        """(shutdown,) exit, and the exit code once the process has ended (hang guard)."""
        if shutdown:
            answer = await self.call("shutdown")
            assert "error" not in answer, answer
        self.notify("exit")
        return await self.ended()

    async def ended(self) -> int:
        """The exit code, once the process has ended by itself (AssertionError if not)."""
        try:
            return await asyncio.wait_for(self.process.wait(), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"the server did not exit within {SHUTDOWN_TIMEOUT}s; its log:\n{self.log[-3000:]}"
            ) from None

    async def close(self) -> None:
        """Make sure the process is gone and the readers are done."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, SHUTDOWN_TIMEOUT)


@contextlib.asynccontextmanager
async def raw_session(
    env: dict[str, str],
    workspace: Path,
    *,
    capabilities: Message | None = None,
    init_options: Any = None,
    cmd: Sequence[str] = SERVER_CMD,
    initialize: bool = True,
) -> AsyncIterator[RawClient]:
    """Start the server and (unless `initialize` is False) initialize it."""
    process = await asyncio.create_subprocess_exec(
        *cmd,
        env=env,
        cwd=str(workspace),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    client = RawClient(process)
    try:
        if initialize:
            params = {
                "processId": os.getpid(),
                "rootUri": workspace.as_uri(),
                "capabilities": capabilities or {},
                "initializationOptions": init_options,
            }
            answer = await client.reply(client.request("initialize", params), STARTUP_TIMEOUT)
            assert "result" in answer, answer
            client.notify("initialized", {})
        yield client
    finally:
        await client.close()


def open_text(client: RawClient, uri: str, text: str, language: str = "python") -> None:
    """didOpen."""
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
    )
