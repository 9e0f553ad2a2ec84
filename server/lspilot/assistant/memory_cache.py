"""L1 of the result cache: the most recent entries in process memory, bounded by size.

The result cache keeps each entry here as the compact JSON text of its result (a hit costs
no thread hop and no disk access, and one pydantic `model_validate_json`: some ten
microseconds), counted against `max_bytes` by that text's UTF-8 size, so the cap is what
the entries take. Kept as validated objects instead, they took ~5 times the size counted
(1.2 KB for a review result with no issues, ~3 MiB for the 2,500 chunks of the memory
benchmark) and every caller had to copy a hit before changing it. The least recently used
go first. Used from the event loop only (no lock).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any


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
