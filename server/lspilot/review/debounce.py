"""Per-key debounced asyncio tasks (never threads).

`schedule(key, delay, factory)` runs `factory()` after `delay` seconds unless the same key is
scheduled again first: a burst of edits to one document therefore ends in one run. Whether a
run that has already started is cancelled by a newer schedule is the caller's choice: cheap,
stale-on-arrival work (re-positioning) is cancelled; a review pass is left to finish the model
requests it has in flight, because their answers are cached by content and reused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Factory = Callable[[], Awaitable[None]]


@dataclass
class _Entry:
    task: asyncio.Task[None]
    started: bool = False


class Debouncer:
    """Delayed tasks keyed by name (a document URI, say); one pending task per key."""

    def __init__(self, name: str = "debounce") -> None:
        self.name = name
        self._pending: dict[str, _Entry] = {}
        # Every task we made, until it ends: asyncio keeps only weak references to tasks.
        self._alive: set[asyncio.Task[None]] = set()
        # Per key, every task not ended yet, the superseded ones still running included.
        self._by_key: dict[str, set[asyncio.Task[None]]] = {}

    def schedule(
        self, key: str, delay: float, factory: Factory, *, cancel_running: bool = False
    ) -> asyncio.Task[None]:
        """Run `factory()` after `delay` seconds, superseding the previous task for `key`.

        The previous task is cancelled if it is still waiting, or also if it is running when
        `cancel_running` is set; otherwise it finishes on its own.
        """
        old = self._pending.pop(key, None)
        if old is not None and (not old.started or cancel_running):
            old.task.cancel()
        task = asyncio.get_running_loop().create_task(
            self._run(key, delay, factory), name=f"{self.name}:{key}"
        )
        entry = _Entry(task)
        self._pending[key] = entry
        self._alive.add(task)
        self._by_key.setdefault(key, set()).add(task)
        task.add_done_callback(lambda t: self._done(t, key))
        return task

    def cancel(self, key: str) -> None:
        """Cancel every task for `key`: waiting, running, or superseded and still running."""
        self._pending.pop(key, None)
        for task in self._by_key.pop(key, set()):
            task.cancel()

    def cancel_all(self) -> None:
        """Cancel every task this debouncer made (server shutdown)."""
        self._pending.clear()
        self._by_key.clear()
        for task in list(self._alive):
            task.cancel()

    def task(self, key: str) -> asyncio.Task[None] | None:
        """The latest task scheduled for `key`, while it has not ended."""
        entry = self._pending.get(key)
        return entry.task if entry is not None else None

    async def _run(self, key: str, delay: float, factory: Factory) -> None:
        # The task finds its entry through `_pending` instead of holding it: a cancelled
        # task keeps this frame (in its CancelledError's traceback), and a frame holding the
        # entry, which holds the task, would be a cycle left to the garbage collector, one
        # per keystroke.
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            # Still yield once, so that a burst scheduled without awaiting collapses to one.
            await asyncio.sleep(0)
        entry = self._pending.get(key)
        if entry is not None and entry.task is asyncio.current_task():
            entry.started = True
        entry = None
        try:
            await factory()
        finally:
            entry = self._pending.get(key)
            if entry is not None and entry.task is asyncio.current_task():
                del self._pending[key]
            entry = None

    def _done(self, task: asyncio.Task[None], key: str) -> None:
        self._alive.discard(task)
        tasks = self._by_key.get(key)
        if tasks is not None:
            tasks.discard(task)
            if not tasks:
                del self._by_key[key]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # A failing review must never take the server down; it must not vanish either.
            log.error("%s failed", task.get_name(), exc_info=exc)
