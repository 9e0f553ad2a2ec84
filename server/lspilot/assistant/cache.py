"""The result cache: diskcache under the user cache dir, degrading to memory, never failing.

Keys are sha256 hashes of the normalized, already-redacted input plus everything that changes
the answer (engine, model, task, prompt version, parameters). Values are validated results as
plain JSON data plus their task; never an API key. Disk I/O runs in a worker thread so the
event loop never waits on the disk. diskcache uses SQLite with its own locking, so several
servers (two editors open) can share one directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lspilot.assistant.tasks import RESULT_TYPES, AnyTaskInput, Task, TaskResult

if TYPE_CHECKING:
    from lspilot.settings import CacheSettings

log = logging.getLogger(__name__)

#: Bump when the stored value layout changes; old entries are then simply not found.
CACHE_FORMAT = 1
#: Entries kept by the in-memory fallback.
MEMORY_ENTRIES = 2048
#: Seconds SQLite waits on a lock before we call the cache locked (its default is 60).
LOCK_TIMEOUT_S = 2.0


def _normalize(value: Any) -> Any:
    """Newlines to \\n and trailing whitespace stripped per line, recursively.

    Whitespace the model cannot see a difference in must not cost a cache miss.
    """
    if isinstance(value, str):
        text = value.replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(line.rstrip() for line in text.split("\n"))
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return value


def default_cache_dir() -> Path:
    """The platform user cache dir for lspilot (imported lazily: start-up stays cheap)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("lspilot"))


class ResultCache:
    """Task results by key: on disk when possible, else in memory; `enabled=False` is off."""

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self.directory = Path(settings.dir).expanduser() if settings.dir else default_cache_dir()
        self.mode = "disk" if settings.enabled else "off"
        self._disk: Any = None  # diskcache.Cache once opened
        self._memory: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._entries = 0
        self._volume = 0
        self._warned = False

    # ---- keys ---------------------------------------------------------------------------

    @staticmethod
    def key(
        engine_id: str,
        model: str,
        task: Task | str,
        prompt_version: str,
        request: AnyTaskInput,
        params: dict[str, Any],
    ) -> str:
        """A stable hash of everything that determines the answer."""
        payload = {
            "format": CACHE_FORMAT,
            "engine": engine_id,
            "model": model,
            "task": str(task),
            "prompt": prompt_version,
            "input": _normalize(request.model_dump(mode="json")),
            "params": _normalize(params),
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # surrogatepass: an editor may send lone surrogates ("\ud800"); they still get a key.
        return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()

    # ---- disk, in a worker thread ---------------------------------------------------------

    def _open(self) -> Any:
        """Open the disk cache (once); on any failure switch to memory. Caller holds the lock."""
        if self._disk is not None or self.mode != "disk":
            return self._disk
        try:
            import diskcache

            path = self.directory / "results"
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.mkdir(exist_ok=True, mode=0o700)
            # Results are the user's code explained: keep them private even if umask is lax.
            os.chmod(path, 0o700)
            self._disk = diskcache.Cache(
                str(path),
                size_limit=self.settings.size_limit_mb * 1024 * 1024,
                timeout=LOCK_TIMEOUT_S,
            )
            self._entries, self._volume = len(self._disk), self._disk.volume()
        except Exception as error:
            self._degrade(error)
        return self._disk

    def _degrade(self, error: BaseException) -> None:
        """Fall back to memory, warning once (a broken cache must never break a feature)."""
        if self._disk is not None:
            # Already broken: closing is best effort.
            with contextlib.suppress(Exception):
                self._disk.close()
        self._disk = None
        self.mode = "memory"
        if not self._warned:
            self._warned = True
            log.warning(
                "result cache at %s is unusable (%s: %s); using memory for this session",
                self.directory,
                type(error).__name__,
                error,
            )

    def _get_sync(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            disk = self._open()
            if disk is not None:
                try:
                    value = disk.get(key)
                    return value if isinstance(value, dict) else None
                except Exception as error:
                    self._degrade(error)
            value = self._memory.get(key)
            if value is not None:
                self._memory.move_to_end(key)
            return value

    def _set_sync(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            disk = self._open()
            if disk is not None:
                try:
                    disk.set(key, value)
                    self._entries, self._volume = len(disk), disk.volume()
                    return
                except Exception as error:
                    self._degrade(error)
            self._memory[key] = value
            self._memory.move_to_end(key)
            while len(self._memory) > MEMORY_ENTRIES:
                self._memory.popitem(last=False)
            self._entries = len(self._memory)
            self._volume = sum(len(json.dumps(v)) for v in self._memory.values())

    # ---- public API ---------------------------------------------------------------------

    async def get(self, key: str) -> TaskResult | None:
        """The stored result for `key`, or None (also when the stored value no longer fits)."""
        if self.mode == "off":
            return None
        value = await asyncio.to_thread(self._get_sync, key)
        if value is None:
            return None
        try:
            return RESULT_TYPES[Task(value["task"])].model_validate(value["result"])
        except (KeyError, ValueError) as error:
            # An entry written by another version of lspilot: treat as a miss.
            log.debug("ignoring unreadable cache entry: %s", error)
            return None

    async def set(self, key: str, result: TaskResult) -> None:
        """Store `result` (as JSON data, with its task) under `key`."""
        if self.mode == "off":
            return
        task = next(t for t, kind in RESULT_TYPES.items() if type(result) is kind)
        value = {"task": str(task), "result": result.model_dump(mode="json")}
        await asyncio.to_thread(self._set_sync, key, value)

    def stats(self) -> dict[str, Any]:
        """Entries, size in bytes, directory and mode, as last seen (no disk access here)."""
        return {
            "entries": self._entries,
            "size_bytes": self._volume,
            "directory": str(self.directory),
            "mode": self.mode,
        }

    def clear(self) -> int:
        """Remove every entry (blocking: for the CLI and tests). Returns how many were removed."""
        with self._lock:
            removed = len(self._memory)
            self._memory.clear()
            disk = self._open()
            if disk is not None:
                try:
                    removed += int(disk.clear())
                except Exception as error:
                    self._degrade(error)
            self._entries = self._volume = 0
            return removed

    def close(self) -> None:
        """Close the disk cache (it reopens on next use)."""
        with self._lock:
            if self._disk is not None:
                try:
                    self._disk.close()
                finally:
                    self._disk = None

    async def aclose(self) -> None:
        """Close without blocking the event loop."""
        await asyncio.to_thread(self.close)
