"""The event-loop lag monitor: stalls are found, not guessed.

A heartbeat on the loop notes when it last ran; a watchdog thread notices when the beat is
late by more than `STALL_S` and samples what the loop thread is running at that moment. When
the loop gets back, the stall is counted (the status shows ``loop.stalls`` and
``loop.worst_ms``) and logged at debug level with the sampled stack, e.g.::

    event loop stalled 130 ms; running: runner.py:87 fill_from_cache < feature.py:206 _view

The beat costs one timer callback every `BEAT_S`; the watchdog samples only when debug
logging is on.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lspilot.session import LspilotServer

log = logging.getLogger("lspilot.lag")

#: A loop that does not run for longer than this has stalled (the editor would notice).
STALL_S = 0.05
#: How often the heartbeat runs.
BEAT_S = 0.05
# Stack frames named in a stall's log line, innermost first.
FRAMES_SHOWN = 5


class LagMonitor:
    """Heartbeat on `loop` plus a watchdog thread; counts and logs stalls."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, stall_s: float = STALL_S, beat_s: float = BEAT_S
    ) -> None:
        self.loop = loop
        self.stall_s = stall_s
        self.beat_s = beat_s
        self.stalls = 0
        self.worst_s = 0.0
        #: Set each time the watchdog samples a stall / the beat counts one (tests wait on them).
        self.sampled = threading.Event()
        self.stalled = asyncio.Event()
        self._beats = 0
        self._last = 0.0
        self._sample: tuple[int, str] | None = None  # (beat it belongs to, the stack)
        self._loop_thread = 0
        self._stop = threading.Event()
        self._handle: asyncio.TimerHandle | None = None
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        """Start the beat (call from the loop's thread) and the watchdog."""
        if self._watchdog is not None:
            return
        self._loop_thread = threading.get_ident()
        self._last = time.monotonic()
        self._handle = self.loop.call_later(self.beat_s, self._beat)
        self._watchdog = threading.Thread(target=self._watch, name="lspilot-lag", daemon=True)
        self._watchdog.start()

    def stop(self) -> None:
        """Stop the beat and the watchdog."""
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()

    def counters(self) -> dict[str, Any]:
        """What the status shows."""
        return {"stalls": self.stalls, "worst_ms": round(self.worst_s * 1000)}

    def _beat(self) -> None:
        now = time.monotonic()
        lag = now - self._last - self.beat_s
        if lag > self.stall_s:
            self.stalls += 1
            self.worst_s = max(self.worst_s, lag)
            sample = self._sample
            running = sample[1] if sample and sample[0] == self._beats else "(not sampled)"
            log.debug("event loop stalled %.0f ms; running: %s", lag * 1000, running)
            self.stalled.set()
        self._beats += 1
        self._last = now
        if not self._stop.is_set():
            self._handle = self.loop.call_later(self.beat_s, self._beat)

    def _watch(self) -> None:
        while not self._stop.wait(self.beat_s):
            beat = self._beats
            late = time.monotonic() - self._last - self.beat_s
            if late <= self.stall_s or not log.isEnabledFor(logging.DEBUG):
                continue
            if self._sample is not None and self._sample[0] == beat:
                continue  # this stall is already sampled
            frame = sys._current_frames().get(self._loop_thread)
            if frame is not None:
                self._sample = (beat, describe(frame))
                self.sampled.set()


def describe(frame: Any) -> str:
    """The innermost frames of a stack, as ``file:line function < caller ...``.

    Import machinery frames are left out; a stack inside an import also names the line that
    started it (``... ; importing from openai_engine.py:139 _client_or_new``), since the
    module being executed says little about why.
    """
    stack = traceback.extract_stack(frame)
    ours = [f for f in stack if not f.filename.startswith(_IMPORT_FRAMES)]
    shown = " < ".join(_frame_name(f) for f in reversed(ours[-FRAMES_SHOWN:]))
    first = next((i for i, f in enumerate(stack) if f.filename.startswith(_IMPORT_FRAMES)), 0)
    if first:
        shown += f"; importing from {_frame_name(stack[first - 1])}"
    return shown


_IMPORT_FRAMES = "<frozen importlib"


def _frame_name(f: traceback.FrameSummary) -> str:
    return f"{Path(f.filename).name}:{f.lineno} {f.name}"


def register(ls: LspilotServer) -> None:
    """Start the monitor once the loop runs (settings are first read after `initialized`)."""
    monitor: list[LagMonitor] = []

    def start() -> None:
        if not monitor:
            monitor.append(LagMonitor(asyncio.get_running_loop()))
            monitor[0].start()

    ls.on_settings_changed.append(start)
    ls.status_sections["loop"] = lambda: monitor[0].counters() if monitor else {}
