"""Recently used parsed texts, bounded by the memory their syntax trees take (bytes).

A tree-sitter tree costs many times its text (about `TREE_BYTES_PER_CHAR` bytes per
character of Python, measured), so a few big documents would hold hundreds of megabytes:
entries are dropped least recently used first while the estimate is over the budget, always
keeping the `keep` most recently used ones (the document being worked on). A dropped tree is
parsed again when it is asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from lspilot.syntax.source import Source

#: Bytes a syntax tree takes per character of text (tree-sitter-python, 2,000-line files:
#: 5.3 MiB of tree for 100,000 characters).
TREE_BYTES_PER_CHAR = 56

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def tree_bytes(source: Source) -> int:
    """The estimated memory of `source`'s syntax tree."""
    return len(source.text) * TREE_BYTES_PER_CHAR


class Recent(Generic[K, V]):
    """A thread-safe LRU map whose values are weighed (in bytes) and kept within a budget."""

    def __init__(self, budget: int, weigh: Callable[[V], int], keep: int = 1) -> None:
        self.budget = budget
        self.keep = keep
        self._weigh = weigh
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value for `key` (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V) -> None:
        """Keep `value` as the most recently used; drop the oldest while over the budget."""
        weight = self._weigh(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= old[1]
            self._items[key] = (value, weight)
            self._total += weight
            while len(self._items) > self.keep and self._total > self.budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self._total -= dropped

    def pop(self, key: K) -> V | None:
        """Forget `key`; its value, if it was kept."""
        with self._lock:
            found = self._items.pop(key, None)
            if found is None:
                return None
            self._total -= found[1]
            return found[0]

    @property
    def total(self) -> int:
        """The estimated bytes kept."""
        return self._total

    def __len__(self) -> int:
        return len(self._items)
