"""The result cache: three levels, read through in order and written through.

L1 is process memory (`memory_cache`, bounded by `cache.memoryLimitMb`), L2 diskcache under the
user cache dir (degrading to memory, never failing), L3 an optional team Redis
(`shared_cache`, `cache.sharedUrl`). A hit in a lower level fills the levels above it.

Keys are sha256 hashes of the normalized, already-redacted input plus everything that changes
the answer (engine, endpoint, model, task, prompt version, parameters). The endpoint is its
normalized base URL (`endpoint_key`): switching `baseUrl` never serves the old server's
answers, unless a team cache says its endpoints are interchangeable
(`cache.sharedAcrossUrls`). Values are validated results as
plain JSON data plus their task; never an API key. Disk I/O runs in one worker thread of the
cache's own (`DiskThread`: one SQLite connection, closed at the end so SQLite folds its
write-ahead log back into the database and removes it), so the event loop never waits on the
disk. diskcache uses SQLite with its own locking, so several servers (two editors open) can
share one directory. L1 keeps validated results: a memory hit is not validated again; a
disk or team hit is validated once, on its way into L1.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lspilot.assistant.disk_thread import DiskThread
from lspilot.assistant.memory_cache import MemoryCache
from lspilot.assistant.shared_cache import SharedCache
from lspilot.assistant.tasks import RESULT_TYPES, AnyTaskInput, Task, TaskResult

if TYPE_CHECKING:
    from lspilot.settings import CacheSettings, Settings

log = logging.getLogger(__name__)

#: Bump when the stored value layout changes; old entries are then simply not found.
CACHE_FORMAT = 1
#: Entries kept by the in-memory fallback.
MEMORY_ENTRIES = 2048
#: Seconds SQLite waits on a lock before we call the cache locked (its default is 60).
LOCK_TIMEOUT_S = 2.0
#: The levels, in the order they are read; `stats()["levels"]` counts the hits of each.
LEVELS = ("memory", "disk", "shared")
#: Beside `results/`: hits per level summed over sessions (shown by `lspilot cache stats`).
HITS_FILE = "hits.json"


def cache_secrets(settings: Settings) -> tuple[str, ...]:
    """What must never be in a shared entry: the user's API key."""
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    return (key,) if len(key) >= 8 else ()


#: The endpoint part of a key when a team cache shares answers across endpoints.
ANY_ENDPOINT = "*"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=64)  # asked at every cache look-up, of a handful of URLs
def endpoint_identity(url: str) -> str:
    """`url` as the cache knows it: scheme and host lower-cased, no user or password, no
    default port, no query, no trailing slash (``HTTP://Host:80/v1/`` is ``http://host/v1``)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip().rstrip("/")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    shown_port = f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{host}{shown_port}{parts.path.rstrip('/')}"


def endpoint_key(url: str, settings: CacheSettings) -> str:
    """The endpoint part of a cache key: its identity, or any endpoint when the team cache
    (a `cache.sharedUrl` with `cache.sharedAcrossUrls`) says the team's are one."""
    if settings.shared_url and settings.shared_across_urls:
        return ANY_ENDPOINT
    return endpoint_identity(url)


def _normalize(value: Any) -> Any:
    """Newlines to \\n and trailing whitespace stripped per line, recursively.

    Whitespace the model cannot see a difference in must not cost a cache miss. `map` with
    `str.rstrip` runs no Python code per line (half the time of a generator expression);
    big requests are keyed off the event loop anyway (`prepared.BIG_REQUEST_CHARS`).
    """
    if isinstance(value, str):
        if "\r" in value:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(map(str.rstrip, value.split("\n")))
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def default_cache_dir() -> Path:
    """The platform user cache dir for lspilot (imported lazily: start-up stays cheap)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("lspilot"))


class ResultCache:
    """Task results by key: memory, disk (else memory only), team Redis; `enabled=False` is off."""

    def __init__(self, settings: CacheSettings, *, secrets: tuple[str, ...] = ()) -> None:
        self.settings = settings
        self.directory = Path(settings.dir).expanduser() if settings.dir else default_cache_dir()
        self.mode = "disk" if settings.enabled else "off"
        self._disk: Any = None  # diskcache.Cache once opened
        self._memory: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._entries = 0
        self._volume = 0
        self._warned = False
        self.memory = MemoryCache(settings.memory_limit_mb * 1024 * 1024 if settings.enabled else 0)
        self.shared = SharedCache(settings, secrets)
        self._thread = DiskThread("lspilot-cache")
        self.hits = dict.fromkeys(LEVELS, 0)
        self._saved = dict.fromkeys(LEVELS, 0)  # hits already added to the hits file
        self.misses = 0
        self.last_hit = ""
        self._fills: set[asyncio.Task[None]] = set()

    # ---- keys ---------------------------------------------------------------------------

    @staticmethod
    def key(
        engine_id: str,
        model: str,
        task: Task | str,
        prompt_version: str,
        request: AnyTaskInput,
        params: dict[str, Any],
        endpoint: str = "",
    ) -> str:
        """A stable hash of everything that determines the answer (`endpoint`: `endpoint_key`).

        It is the sha256 of the canonical JSON (sorted keys, compact) of {format, engine,
        endpoint, model, task, prompt, input, params}, input and params normalized.
        """
        input_json = ResultCache.input_json(request)
        return ResultCache.key_of(
            engine_id, model, task, prompt_version, input_json, params, endpoint
        )

    @staticmethod
    def input_json(request: AnyTaskInput) -> str:
        """The normalized input as it goes into the key: what `key_of` takes (callers that
        look the same request up again may keep it and skip the dump and normalizing)."""
        return _canonical(_normalize(request.model_dump(mode="json")))

    @staticmethod
    def key_of(
        engine_id: str,
        model: str,
        task: Task | str,
        prompt_version: str,
        input_json: str,
        params: dict[str, Any],
        endpoint: str = "",
    ) -> str:
        """`key` from the request's `input_json`: the same canonical JSON, put together around
        it in sorted key order (endpoint, engine, format | input | model, params, prompt, task)."""
        head = _canonical({"endpoint": endpoint, "engine": engine_id, "format": CACHE_FORMAT})
        tail = _canonical(
            {
                "model": model,
                "params": _normalize(params),
                "prompt": prompt_version,
                "task": str(task),
            }
        )
        canonical = f'{head[:-1]},"input":{input_json},{tail[1:]}'
        # surrogatepass: an editor may send lone surrogates ("\ud800"); they still get a key.
        return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()

    # ---- disk, in the cache's worker thread -----------------------------------------------

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

    async def _find(self, key: str) -> tuple[TaskResult | None, str]:
        """The validated result and the level it came from, filling the levels above a hit.

        A value that no longer fits its result model (another lspilot version) is a miss.
        """
        kept = self.memory.get(key)
        if kept is not None:
            task, text = kept
            try:
                return RESULT_TYPES[task].model_validate_json(text), "memory"
            except ValueError:  # cannot happen for what `_keep` kept; a miss if it does
                self.memory.discard(key)
        level = "disk"
        value = await self._thread.run(self._get_sync, key)
        if value is None:
            level, value = "shared", await self.shared.get(key)
        if value is None:
            return None, ""
        try:
            result = RESULT_TYPES[Task(value["task"])].model_validate(value["result"])
        except (KeyError, ValueError, TypeError) as error:
            log.debug("ignoring unreadable cache entry: %s", error)
            return None, ""
        self._keep(key, Task(value["task"]), result)
        if level == "shared":
            # Filling the disk must not hold the answer up: the disk thread, in the background.
            fill = asyncio.get_running_loop().create_task(
                self._thread.run(self._set_sync, key, value)
            )
            self._fills.add(fill)
            fill.add_done_callback(self._fills.discard)
        return result, level

    async def lookup(self, key: str) -> tuple[TaskResult | None, str]:
        """The stored result for `key` and its level ("memory", "disk", "shared"), or (None, "").

        Each hit is a result of its own: the caller may change it.
        """
        if self.mode == "off":
            return None, ""
        result, level = await self._find(key)
        if result is not None:
            self.hits[level] += 1
            self.last_hit = level
            return result, level
        self.misses += 1
        return None, ""

    async def get(self, key: str) -> TaskResult | None:
        """The stored result for `key`, or None (also when the stored value no longer fits)."""
        return (await self.lookup(key))[0]

    async def set(self, key: str, result: TaskResult) -> None:
        """Store `result` (as JSON data, with its task) under `key` in every level.

        The team cache gets it in the background, and only when it may be shared.
        """
        if self.mode == "off":
            return
        task = next(t for t, kind in RESULT_TYPES.items() if type(result) is kind)
        value = {"task": str(task), "result": result.model_dump(mode="json")}
        self._keep(key, task, result)
        await self._thread.run(self._set_sync, key, value)
        self.shared.set(key, value)

    def _keep(self, key: str, task: Task, result: TaskResult) -> None:
        """Keep `result` in L1 as its JSON text (see lspilot.assistant.memory_cache)."""
        if self.memory.max_bytes:
            text = result.model_dump_json()
            self.memory.set(key, (task, text), len(text.encode("utf-8", "surrogatepass")))

    def stats(self) -> dict[str, Any]:
        """Entries, size in bytes, directory and mode, as last seen (no disk access here);
        hits per level, the last hit's level, L1's use and the team cache's state."""
        return {
            "entries": self._entries,
            "size_bytes": self._volume,
            "directory": str(self.directory),
            "mode": self.mode,
            "levels": dict(self.hits),
            "misses": self.misses,
            "last_hit": self.last_hit,
            "memory": {
                "entries": len(self.memory),
                "size_bytes": self.memory.size_bytes,
                "limit_bytes": self.memory.max_bytes,
            },
            "shared": self.shared.stats(),
        }

    def clear(self) -> int:
        """Remove every entry (blocking: for the CLI and tests). Returns how many were removed."""
        return self._thread.call(self._clear_sync)

    def _clear_sync(self) -> int:
        with self._lock:
            removed = len(self._memory)
            self._memory.clear()
            self.memory.clear()
            disk = self._open()
            if disk is not None:
                try:
                    removed += int(disk.clear())
                except Exception as error:
                    self._degrade(error)
            self._entries = self._volume = 0
            self._saved = dict(self.hits)
            with contextlib.suppress(OSError):
                self._hits_file.unlink(missing_ok=True)
            return removed

    # ---- hits per level, kept across sessions for `lspilot cache stats` -------------------

    @property
    def _hits_file(self) -> Path:
        return self.directory / HITS_FILE

    def saved_hits(self) -> dict[str, int]:
        """Hits per level of every session since the last `clear` (blocking: CLI)."""
        try:
            data = json.loads(self._hits_file.read_text(encoding="utf-8"))
            return {level: int(data.get(level, 0)) for level in LEVELS}
        except (OSError, ValueError, TypeError, AttributeError):
            return dict.fromkeys(LEVELS, 0)

    def _save_hits(self) -> None:
        """Add this session's hits to the file (best effort: two sessions may race)."""
        fresh = {level: n - self._saved.get(level, 0) for level, n in self.hits.items()}
        if self.mode != "disk" or not any(fresh.values()):
            return
        total = self.saved_hits()
        for level, count in fresh.items():
            total[level] += count
        with contextlib.suppress(OSError):
            self._hits_file.write_text(json.dumps(total), encoding="utf-8")
            self._saved = dict(self.hits)

    def open_disk(self) -> Awaitable[dict[str, Any] | None]:
        """Open the disk level (counting its entries) without reading an entry."""
        return self._thread.run(self._get_sync, "lspilot-cache-stats")

    def _close_connection(self) -> None:
        """Close the calling thread's SQLite connection (diskcache keeps one per thread)."""
        with self._lock:
            if self._disk is not None:
                self._disk.close()

    def close(self) -> None:
        """Close the disk cache (blocking; it reopens on next use).

        The disk thread's connection is closed on that thread, then the thread ends: the last
        connection to close folds the write-ahead log into the database and removes it.
        """
        with self._lock:
            self._save_hits()
        try:
            self._thread.shutdown(self._close_connection)
        finally:
            with self._lock:
                disk, self._disk = self._disk, None
                if disk is not None:
                    disk.close()  # this thread's connection, if it opened one

    async def aclose(self) -> None:
        """Finish the team cache's writes and the disk fills, then close, off the event loop."""
        await self.shared.aclose()
        if self._fills:
            await asyncio.gather(*self._fills, return_exceptions=True)
        await asyncio.to_thread(self.close)
