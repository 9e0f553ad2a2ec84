"""One worker thread per diskcache store, so that the store has one SQLite connection.

diskcache opens a connection per thread, and `Cache.close()` closes only the calling
thread's. Run from the shared default executor, a store gathered a connection in each worker
thread that touched it, none of which was ever closed: SQLite deletes the write-ahead log
only when the last connection closes, so every session left the result cache's and the
budget's WAL behind (up to 4 MiB each, the auto-checkpoint size), and each connection kept
its own page cache. With one thread, `shutdown` closes that one connection on its own
thread: the log is checkpointed into the database and removed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class DiskThread:
    """A lazily started single worker thread; `run` (async) and `call` (blocking) use it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._ident: int | None = None
        self._guard = threading.Lock()

    def _mark(self) -> None:
        self._ident = threading.get_ident()

    def _pool(self) -> ThreadPoolExecutor:
        with self._guard:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=self.name, initializer=self._mark
                )
            return self._executor

    def on_thread(self) -> bool:
        """Whether the caller is this worker thread."""
        return self._ident is not None and threading.get_ident() == self._ident

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the worker thread, awaited (the event loop never waits on it)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool(), fn, *args)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in the worker thread, blocking the caller (not for the event loop)."""
        if self.on_thread():
            return fn(*args)
        return self._pool().submit(fn, *args).result()

    def shutdown(self, last: Callable[[], Any] | None = None) -> None:
        """Run `last` in the worker thread (closing its connection), then end the thread.

        Blocking. A later `run` or `call` starts a new thread.
        """
        with self._guard:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        own = self.on_thread()
        try:
            if last is not None:
                last() if own else executor.submit(last).result()
        finally:
            executor.shutdown(wait=not own)
            self._ident = None
