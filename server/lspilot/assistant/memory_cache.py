"""L1 of the result cache: the most recent entries in process memory, bounded by size.

The result cache keeps each entry here as its validated result object (a hit costs no thread
hop, no disk access and no pydantic validation; callers copy before changing it), counted
against `max_bytes` by the size of the plain JSON data the disk and the team cache store;
the least recently used go first. Used from the event loop only (no lock).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any


def own_copy(result: Any) -> Any:
    """A copy of a validated result (a pydantic model) for L1, apart from the caller's.

    Only what the caller could change is copied: the result itself and its lists. Strings,
    numbers and frozen models (`ResultMeta`, `ReviewIssue`) are shared. A deep copy took
    1.7 KB per review result with no issues (4 MiB for 2,500 reviewed chunks); this takes
    0.5 KB. Anything else (a mutable model, a dict) falls back to a deep copy.
    """
    update: dict[str, Any] = {}
    for name, value in result.__dict__.items():
        if isinstance(value, list) and all(_immutable(item) for item in value):
            update[name] = list(value)
        elif not _immutable(value):
            return result.model_copy(deep=True)
    return result.model_copy(update=update)


def _immutable(value: Any) -> bool:
    if isinstance(value, str | int | float | bool | None):
        return True
    config = getattr(value, "model_config", None)  # a pydantic model: frozen ones only
    return isinstance(config, dict) and bool(config.get("frozen"))


def entry_size(value: dict[str, Any]) -> int:
    """Bytes `value` takes as compact JSON (what the size cap counts)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


class MemoryCache:
    """An LRU of cache values whose total JSON size stays under `max_bytes` (0: off)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self.size_bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Any:
        """The value under `key` (now the most recently used), or None."""
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def set(self, key: str, value: Any, size: int | None = None) -> None:
        """Keep `value`, evicting the oldest entries; a value over the whole cap is not kept.

        `size`: what `value` counts against the cap (default: its `entry_size`, for JSON data).
        """
        if size is None:
            size = entry_size(value)
        self.discard(key)
        if size > self.max_bytes:
            return
        self._entries[key] = (value, size)
        self.size_bytes += size
        while self.size_bytes > self.max_bytes and self._entries:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size_bytes -= dropped

    def discard(self, key: str) -> None:
        """Forget `key` if it is kept."""
        old = self._entries.pop(key, None)
        if old is not None:
            self.size_bytes -= old[1]

    def clear(self) -> int:
        """Forget everything; returns how many entries there were."""
        count = len(self._entries)
        self._entries.clear()
        self.size_bytes = 0
        return count
