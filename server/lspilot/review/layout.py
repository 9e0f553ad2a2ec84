"""Chunk bookkeeping: which chunk has which issues, and where those issues stand now.

A review result belongs to a chunk's *content*, not to a place in the file: the store keys
anchored issues by a digest of the chunk's review input (its code, name and context), with
offsets relative to the chunk. After any edit the document is re-chunked and every chunk
whose content was reviewed before gets its issues back at once, at `chunk.start + offset`; a
chunk that changed has no entry and so shows nothing until it is reviewed again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from lspilot.assistant.tasks import Severity
from lspilot.review.anchoring import AnchoredIssue, AnchorResult, select_issues

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class ChunkAt(Generic[K]):
    """A chunk where it stands in the current text, with the key its review is stored under."""

    key: K
    start: int
    end: int


@dataclass(frozen=True)
class PlacedIssue:
    """An issue at document offsets (string offsets into the current text)."""

    start: int
    end: int
    message: str
    severity: Severity
    fix: str | None = None


class ReviewStore:
    """The anchored review results of one document's chunks, by chunk key.

    Besides the chunks in the document now, it keeps a few that left it recently: while the
    user types, the syntax tree of a half-written line can swallow a neighbouring definition
    for a moment, and forgetting that neighbour's review then would cost a lookup (or a model
    call, with the disk cache off) when it reappears a keystroke later.
    """

    def __init__(self, spare: int = 64) -> None:
        self.spare = spare
        self._results: OrderedDict[Hashable, AnchorResult] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._results

    def __len__(self) -> int:
        return len(self._results)

    def get(self, key: Hashable) -> AnchorResult | None:
        """The stored result for a chunk, or None when it was never reviewed (or changed)."""
        result = self._results.get(key)
        if result is not None:
            self._results.move_to_end(key)
        return result

    def put(self, key: Hashable, result: AnchorResult) -> None:
        """Remember the anchored issues of a reviewed chunk."""
        self._results[key] = result
        self._results.move_to_end(key)

    def retain(self, keys: Iterable[Hashable]) -> None:
        """Keep the chunks in `keys` and the `spare` most recently used others.

        What is forgotten is still in the assistant's disk cache.
        """
        wanted = set(keys)
        others = [k for k in self._results if k not in wanted]  # least recently used first
        for key in others[: max(0, len(others) - self.spare)]:
            del self._results[key]

    def clear(self) -> None:
        """Forget everything (the model or the settings changed)."""
        self._results.clear()


def place(
    chunks: Sequence[ChunkAt[K]], store: ReviewStore, floor: Severity, limit: int
) -> tuple[list[PlacedIssue], list[ChunkAt[K]]]:
    """Issues of the reviewed chunks at their current positions, and the chunks not reviewed.

    Settings are applied here, not when storing, so that changing `severityFloor` or
    `maxIssuesPerChunk` needs no new review.
    """
    placed: list[PlacedIssue] = []
    missing: list[ChunkAt[K]] = []
    for chunk in chunks:
        result = store.get(chunk.key)
        if result is None:
            missing.append(chunk)
            continue
        placed.extend(_at(chunk, issue) for issue in select_issues(result.issues, floor, limit))
    placed.sort(key=lambda p: (p.start, p.end))
    return placed, missing


def _at(chunk: ChunkAt[K], issue: AnchoredIssue) -> PlacedIssue:
    return PlacedIssue(
        chunk.start + issue.start, chunk.start + issue.end, issue.message, issue.severity, issue.fix
    )
