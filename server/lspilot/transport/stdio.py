"""Serving LSP over stdio with a stdin reader that never keeps the process alive.

pygls reads stdin in its thread pool, and shutting the pool down waits for the read under
way: after Ctrl-C in a terminal (or a client that keeps stdin open after `exit`) the process
would wait for one more line that never comes. Here one daemon thread does the reading, so
the process ends as soon as the event loop does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from pygls.io_ import StdoutWriter, run_async

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger("lspilot.transport")

_Call = tuple[Callable[[], bytes], asyncio.Future[bytes], asyncio.AbstractEventLoop]


def _settle(
    future: asyncio.Future[bytes], value: bytes | None, error: BaseException | None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value or b"")


class DaemonReader:
    """The async reader pygls's message loop wants, reading in one daemon thread."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def _work(self) -> None:
        while True:
            read, future, loop = self._calls.get()
            value: bytes | None = None
            error: BaseException | None = None
            try:
                value = read()
            except Exception as exc:  # handed to the loop, which decides what it means
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle, future, value, error)

    def _submit(self, read: Callable[[], bytes]) -> asyncio.Future[bytes]:
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="lspilot-stdin", daemon=True)
            self._thread.start()
        future: asyncio.Future[bytes] = loop.create_future()
        self._calls.put((read, future, loop))
        return future

    def readline(self) -> asyncio.Future[bytes]:
        """The next line (b"" at end of input)."""
        return self._submit(self._stream.readline)

    def readexactly(self, n: int) -> asyncio.Future[bytes]:
        """The next `n` bytes (fewer at end of input)."""
        return self._submit(lambda: self._stream.read(n))


#: How long tasks still running at exit get to wind down after being cancelled.
EXIT_GRACE_S = 2.0


def _interrupted() -> None:
    raise KeyboardInterrupt


_ctrl_c_seen = threading.Event()


def note_ctrl_c() -> None:
    """From now on a Ctrl-C is remembered as well as raised (call it before the server is
    built). The KeyboardInterrupt Python raises can land where it is only printed, never
    propagated (a finaliser or weakref callback run during start-up: "Exception ignored
    in ..."); serving then begins with the interrupt lost and waits for stdin for ever."""

    def handler(signum: int, frame: Any) -> None:
        _ctrl_c_seen.set()
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread: Python keeps its own
        signal.signal(signal.SIGINT, handler)


def _run(main: Any) -> None:
    """`asyncio.run`, except that the end does not wait for worker threads.

    asyncio.run joins the default executor's threads, so `exit` during a long parse in a
    worker thread would wait for the parse. Here remaining tasks get `EXIT_GRACE_S` after
    being cancelled, and the executor is shut down without waiting.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Python's own SIGINT handler runs only when the main thread next runs bytecode: when the
    # kernel hands the signal to the stdin reader or another worker thread while the loop
    # sleeps in select() with no timer due, Ctrl-C would wait. A loop signal handler writes
    # the loop's wakeup fd, so the loop wakes and raises KeyboardInterrupt at once.
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, _interrupted)
    try:
        if _ctrl_c_seen.is_set():  # before the loop's handler, and not propagated
            main.close()
            raise KeyboardInterrupt
        loop.run_until_complete(main)
    finally:
        try:
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=EXIT_GRACE_S))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            executor = getattr(loop, "_default_executor", None)
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
            asyncio.set_event_loop(None)
            loop.close()


def lingering_threads() -> list[threading.Thread]:
    """Threads that would keep the process alive after serving (a parse still running)."""
    return [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and not t.daemon and t.is_alive()
    ]


def serve_stdio(
    server: LanguageServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> int:
    """Serve until `exit` or end of input; the exit code (1 for `exit` without `shutdown`)."""
    stop = threading.Event()
    server._stop_event = stop
    reader = DaemonReader(stdin or sys.stdin.buffer)
    server.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
    code = 0
    try:
        _run(
            run_async(
                stop_event=stop,
                reader=reader,
                protocol=server.protocol,
                logger=logging.getLogger("pygls.server"),
                error_handler=server.report_server_error,
            )
        )
    except SystemExit as exc:  # `exit`
        code = exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        log.info("interrupted")
        code = 130
    except BrokenPipeError:
        log.warning("the connection to the client is lost")
    finally:
        stop.set()
    exit_code: Any = getattr(server.protocol, "exit_code", None)
    return exit_code if isinstance(exit_code, int) else code
