"""Workspace context for tasks: a symbol index of the workspace and a context builder.

`WorkspaceContext` is what the features use (LSP-free, so `lspilot check` could use it too):
it owns the `SymbolIndex` of the workspace folder, keeps it in step with the documents the
editor has open (`sync`, by document version), and builds the context text of a task
(`build`), which goes into the task input's ``context`` field and so into its cache key.

Layer: between review and assistant. It imports syntax, privacy (through a callback),
settings and model; the assistant never imports it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from lspilot.context.builder import ContextBuilder
from lspilot.context.index import Progress, SymbolIndex

if TYPE_CHECKING:
    from lspilot.settings.model import ContextSettings
    from lspilot.syntax import Source

__all__ = ["ContextBuilder", "SymbolIndex", "WorkspaceContext"]

log = logging.getLogger("lspilot.context")


class WorkspaceContext:
    """The index of one workspace and the context of tasks in it."""

    def __init__(
        self,
        root: Path | None,
        store: Path | None,
        excluded: Callable[[str], str | None],
        settings: ContextSettings,
    ) -> None:
        self.root = root
        self.settings = settings
        self.index = (
            SymbolIndex(root, store, excluded, max_files=settings.index_max_files)
            if root is not None
            else None
        )
        self._versions: dict[str, tuple[int | None, int]] = {}
        self._lock = threading.Lock()

    # ---- the index (blocking: call from a worker thread) ---------------------------------

    def build_index(self, progress: Progress | None = None) -> dict[str, int]:
        """Index the workspace (reusing the stored index); the counts."""
        if self.index is None:
            return {}
        counts = self.index.build(progress)
        log.info(
            "indexed %d files (%d reused, %d parsed, %d skipped)",
            counts["files"],
            counts["reused"],
            counts["parsed"],
            counts["skipped"],
        )
        return counts

    def stale(self, documents: Iterable[tuple[str, int | None, str]]) -> list[tuple[str, str]]:
        """The open documents (path, version, text) whose version the index has not seen."""
        out = []
        with self._lock:
            for path, version, text in documents:
                key = (version, hash(text))
                if self._versions.get(path) != key:
                    out.append((path, text))
        return out

    def sync(self, documents: Iterable[tuple[str, str]], versions: dict[str, int | None]) -> None:
        """Index the editor's text of these documents (blocking)."""
        if self.index is None:
            return
        for path, text in documents:
            self.index.update_text(path, text)
            with self._lock:
                self._versions[path] = (versions.get(path), hash(text))

    def forget(self, path: str) -> None:
        """The editor's text of `path` is gone (closed, saved): the disk is the truth again."""
        with self._lock:
            self._versions.pop(path, None)

    # ---- the context (cheap) ------------------------------------------------------------

    def build(self, source: Source, path: str | None, start: int, end: int) -> str:
        """The context of `source.text[start:end]` in the file at `path`, within the budget."""
        if not self.settings.enabled:
            return ""
        rel = self.index.relative(path) if self.index is not None and path else None
        builder = ContextBuilder(source, index=self.index, path=rel)
        return builder.build(start, end, self.settings.max_tokens)
