"""pygls's LSP protocol, hardened against bad input and against sending after `exit`.

- A request whose params do not fit its method (no position, a string, a position of -1)
  gets an InvalidParams error reply; pygls raises while decoding and never answers it.
- A message that is not a JSON-RPC message (a JSON list, a method that is not a string) is
  logged and, when it carries a request id, answered with InvalidRequest.
- `shutdown` cancels what is still pending without iterating over a dict that the
  cancellation callbacks change (pygls's own loop fails when the client owes us a reply).
- After `exit` (or once the output is closed or broken) nothing more is written: pygls would
  otherwise log a traceback per message, and report each failure by sending a message about
  it on the same closed stream, until the stderr pipe fills and the process hangs.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("lspilot.transport")


@dataclass(frozen=True)
class UnreadableRequest:
    """A request whose params could not be decoded: answered with an error, never run."""

    id: Any
    method: str
    code: int
    reason: str


def _request_id(value: Any) -> Any:
    """The id of a request as JSON-RPC allows it (string or integer), else None."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


class LspilotProtocol(LanguageServerProtocol):
    """The LSP protocol with answers for malformed requests and a silent closed output."""

    #: True once nothing may be written any more (after `exit`, or the output is gone).
    closed = False
    #: The process exit code `exit` asked for (0 after `shutdown`, 1 without), None before.
    exit_code: int | None = None
    #: When the last message from the client arrived (`time.monotonic()`): how long it has
    #: been quiet, for work that waits for a pause (the warm-up, see `LspilotServer.warm_up`).
    last_message_at = 0.0

    # ---- input ----------------------------------------------------------------------------

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Decode one JSON object; an undecodable request becomes an `UnreadableRequest`."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            msg_id = _request_id(data.get("id"))
            method = data.get("method")
            if msg_id is None or method is None or "jsonrpc" not in data:
                raise
            if not isinstance(method, str):
                return UnreadableRequest(
                    msg_id, repr(method), types.ErrorCodes.InvalidRequest, "method must be a string"
                )
            return UnreadableRequest(
                msg_id, method, error.code, f"invalid params for {method}: {error.message}"
            )

    def handle_message(self, message: Any) -> None:
        """Dispatch one message; answer or log the ones that are not proper JSON-RPC."""
        self.last_message_at = time.monotonic()
        if isinstance(message, UnreadableRequest):
            log.warning("request %r: %s", message.id, message.reason)
            self._reply_error(message.id, message.code, message.reason)
            return
        if isinstance(message, list):
            # LSP has no batches. Requests inside one still get an answer: an error.
            log.warning("ignored a JSON-RPC batch of %d message(s)", len(message))
            for item in message:
                msg_id = _request_id(getattr(item, "id", None))
                if msg_id is not None and hasattr(item, "method"):
                    self._reply_error(
                        msg_id,
                        types.ErrorCodes.InvalidRequest,
                        "batches are not supported by LSP",
                    )
            return
        if not attrs.has(type(message)) or not isinstance(getattr(message, "jsonrpc", None), str):
            log.warning("ignored a message that is not JSON-RPC (%s)", type(message).__name__)
            msg_id = _request_id(message.get("id")) if isinstance(message, dict) else None
            if msg_id is not None:
                self._reply_error(msg_id, types.ErrorCodes.InvalidRequest, "not JSON-RPC 2.0")
            return
        method = getattr(message, "method", "")
        if not isinstance(method, str):
            log.warning("ignored a message whose method is not a string: %r", method)
            msg_id = _request_id(getattr(message, "id", None))
            if msg_id is not None:
                self._reply_error(
                    msg_id, types.ErrorCodes.InvalidRequest, "the method must be a string"
                )
            return
        if hasattr(message, "id") and not hasattr(message, "method"):
            log.debug("received a reply to %r", message.id)
        else:
            log.debug("received %s", method)
        super().handle_message(message)

    def _handle_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        """A reply to a request we sent; one we gave up on (cancelled, timed out) is dropped."""
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():
            del self._request_futures[msg_id]
            log.debug("late reply to %r (no longer awaited) dropped", msg_id)
            return
        super()._handle_response(msg_id, result, error)

    def _reply_error(self, msg_id: Any, code: int, reason: str) -> None:
        self._send_response(msg_id, error=types.ResponseError(code=code, message=reason))

    # ---- lifecycle ------------------------------------------------------------------------

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """`shutdown`: run the server's handler, then cancel everything still pending."""
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        # A copy: cancelling a future runs callbacks that remove entries from the dict.
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        """`exit`: from here on nothing is sent; then pygls closes the output and exits."""
        if (user_handler := self.fm.features.get(types.EXIT)) is not None:
            yield user_handler, args, None
        self.closed = True
        self.exit_code = 0 if self._shutdown else 1
        log.info("exit %s", "after shutdown" if self._shutdown else "without shutdown")
        if self.writer is None:
            sys.exit(self.exit_code)
        closing = self.writer.close()
        if inspect.isawaitable(closing):  # TCP: exit once the socket is closed
            code = self.exit_code
            asyncio.ensure_future(closing).add_done_callback(lambda _: sys.exit(code))
        else:
            sys.exit(self.exit_code)

    # ---- output ---------------------------------------------------------------------------

    def _send_data(self, data: Any) -> None:
        """Send, unless the output is closed; a broken pipe closes it (logged once)."""
        if self.closed:
            log.debug("not sent after exit: %s", getattr(data, "method", "a response"))
            return
        stream = getattr(self.writer, "_stdout", None)
        if stream is not None and getattr(stream, "closed", False):
            self.closed = True
            log.info("the client's input is closed; nothing more is sent")
            return
        try:
            super()._send_data(data)
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True
            log.warning("the connection to the client is lost; nothing more is sent")
