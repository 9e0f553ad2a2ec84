"""Workspace context for tasks: a symbol index of the workspace and a context builder.

`WorkspaceContext` is what the features use (LSP-free, so `lspilot check` could use it too):
it owns the `SymbolIndex` of the workspace folder, keeps it in step with the documents the
editor has open (`sync`, by document version), and builds the context text of a task
(`build`), which goes into the task input's ``context`` field and so into its cache key.

Layer: between review and assistant. It imports syntax, privacy (through a callback),
settings and model; the assistant never imports it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
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
        self._memo: dict[tuple[object, ...], str] = {}
        self._memo_generation = 0
        # Task contexts per parsed text (gone with it): hovering the same symbol again
        # builds nothing (the context is part of the cache key, so it is built per look-up).
        self._built: weakref.WeakKeyDictionary[Source, dict[tuple[object, ...], str]] = (
            weakref.WeakKeyDictionary()
        )
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

    def build(
        self,
        source: Source,
        path: str | None,
        start: int,
        end: int,
        task: str = "explain",
        *,
        focus: tuple[int, int] | None = None,
    ) -> str:
        """The context of `source.text[start:end]` in the file at `path`, within `task`'s budget.

        `focus`: the part of the span whose names come first (Generate: the comment).
        """
        if not self.settings.enabled:
            return ""
        budget = self.settings.max_tokens_for(task)
        # What the context depends on besides `source`: the index changes bump its generation.
        generation = self.index.generation if self.index is not None else 0
        key = (path, start, end, task, focus, budget, generation)
        with self._lock:
            built = self._built.get(source)
            found = built.get(key) if built is not None else None
        if found is not None:
            return found
        rel = self.index.relative(path) if self.index is not None and path else None
        found = ContextBuilder(source, index=self.index, path=rel).build(
            start, end, budget, focus=focus
        )
        with self._lock:
            built = self._built.setdefault(source, {})
            built[key] = found
            if len(built) > BUILT_PER_SOURCE:
                del built[next(iter(built))]
        return found

    def review_contexts(
        self, source: Source, path: str | None, spans: Sequence[tuple[int, int, str]]
    ) -> list[str]:
        """Per chunk (start, end, text): the signatures and docstrings of what it calls or
        names that is defined outside it (this file first, then other files), within the
        review budget. Nothing else: neither imports nor neighbouring code, so that only a
        change in what a chunk relies on changes its cache key.

        Memoized per chunk (a digest of its text), the file's definitions (signatures and
        docstrings, not bodies) and the index generation, so re-planning after a keystroke
        builds the context of the edited chunk only.
        """
        budget = self.settings.max_tokens_for("review")
        if not self.settings.enabled or budget <= 0:
            return ["" for _ in spans]
        rel = self.index.relative(path) if self.index is not None and path else None
        generation = self.index.generation if self.index is not None else 0
        shape = hash(_interface(source))
        builder: ContextBuilder | None = None
        out = []
        with self._lock:
            if generation != self._memo_generation:
                # Contexts of an older index are never asked for again (the generation is
                # part of their key): dropped at once rather than left to the memo's bound.
                self._memo.clear()
                self._memo_generation = generation
        for ordinal, (start, end, text) in enumerate(spans):
            # The chunk's digest, not its text: a key holding the text kept a copy of every
            # chunk of every version planned (megabytes over a few open files).
            digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16)
            key = (rel, source.language, ordinal, digest.digest(), shape, generation, budget)
            with self._lock:
                found = self._memo.get(key)
            if found is None:
                if builder is None:
                    builder = ContextBuilder(source, index=self.index, path=rel)
                found = builder.build(start, end, budget, ranks=(1, 2))
                with self._lock:
                    self._memo[key] = found
                    if len(self._memo) > MEMO_SIZE:
                        del self._memo[next(iter(self._memo))]
            out.append(found)
        return out


#: Chunk contexts kept (a few workspaces' worth of open documents).
MEMO_SIZE = 20_000
#: Task contexts kept per parsed text (the symbols hovered in one version of a document).
BUILT_PER_SOURCE = 256


def _interface(source: Source) -> tuple[tuple[object, ...], ...]:
    """What the other chunks of a file offer a chunk: definitions without their bodies."""
    return tuple(
        (d.kind, d.name, d.signature, d.docstring, d.container, d.indent)
        for d in source.definitions()
        if d.kind in ("function", "class", "method", "import")
        or (d.kind == "variable" and not d.indent)
    )
