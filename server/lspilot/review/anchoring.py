"""Anchor review issues by their quoted code inside their own chunk, never by line numbers.

Models are bad at counting lines and good at copying text, so a review issue names the code it
is about (`quote`) and we look for that text inside the chunk that was reviewed: exactly first,
then ignoring whitespace (models re-indent and re-wrap what they quote). An issue whose quote
is not found is dropped rather than shown somewhere plausible but wrong.

Offsets here are string offsets relative to the chunk's text; `layout` turns them into
document offsets once the chunk's current position is known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lspilot.assistant.tasks import ReviewIssue, Severity
from lspilot.review.fixes import checked_fix

#: Most severe first; the index is the rank used for `severityFloor` and for choosing which
#: issues survive `maxIssuesPerChunk`.
SEVERITY_ORDER: tuple[Severity, ...] = ("error", "warning", "information", "hint")


@dataclass(frozen=True, slots=True)
class AnchoredIssue:
    """A review issue located inside its chunk (`start`/`end` relative to the chunk text)."""

    start: int
    end: int
    message: str
    severity: Severity
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class AnchorResult:
    """The issues of one chunk that could be placed, and how many could not."""

    issues: tuple[AnchoredIssue, ...]
    dropped: int = 0


#: The result of most chunks, shared: every open document's store holds one per chunk.
NO_ISSUES = AnchorResult(())


class QuoteFinder:
    """Finds quotes in one text; the whitespace-free index is built once, on first need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._compact: str | None = None
        self._offsets: list[int] = []

    def find(self, quote: str) -> tuple[int, int] | None:
        """The span of `quote` in the text: exact match first, then whitespace-insensitive.

        The first occurrence wins; a quote that is only whitespace matches nothing.
        """
        if not quote.strip():
            return None
        at = self.text.find(quote)
        if at >= 0:
            return at, at + len(quote)
        return self._find_loose(quote)

    def _find_loose(self, quote: str) -> tuple[int, int] | None:
        if self._compact is None:
            # Map each non-whitespace character to its offset so a match in the compacted
            # text maps back to a span that starts and ends on real characters.
            self._offsets = [i for i, ch in enumerate(self.text) if not ch.isspace()]
            self._compact = "".join(self.text[i] for i in self._offsets)
        needle = "".join(quote.split())
        at = self._compact.find(needle)
        if at < 0:
            return None
        return self._offsets[at], self._offsets[at + len(needle) - 1] + 1


def find_quote(quote: str, text: str) -> tuple[int, int] | None:
    """The span of `quote` inside `text` (see `QuoteFinder.find`)."""
    return QuoteFinder(text).find(quote)


def severity_rank(severity: Severity) -> int:
    """0 for errors up to 3 for hints."""
    return SEVERITY_ORDER.index(severity)


def anchor_issues(text: str, issues: Iterable[ReviewIssue], language: str = "") -> AnchorResult:
    """Place every issue of a chunk by its quote; count the ones that cannot be placed.

    Duplicates (same span and message) are kept once. A fix equal to the text it would replace
    is no fix at all and is dropped, so that no code action offers a no-op; so is a fix that
    fails `checked_fix` (it would break the code or land a redaction placeholder).
    """
    finder = QuoteFinder(text)
    placed: list[AnchoredIssue] = []
    seen: set[tuple[int, int, str]] = set()
    dropped = 0
    for issue in issues:
        span = finder.find(issue.quote)
        if span is None:
            dropped += 1
            continue
        start, end = span
        if (start, end, issue.message) in seen:
            continue
        seen.add((start, end, issue.message))
        fix = checked_fix(text, start, end, issue.fix, language) if issue.fix else None
        placed.append(AnchoredIssue(start, end, issue.message, issue.severity, fix))
    if not placed and not dropped:
        return NO_ISSUES
    return AnchorResult(tuple(placed), dropped)


def select_issues(
    issues: Sequence[AnchoredIssue], floor: Severity, limit: int
) -> list[AnchoredIssue]:
    """Apply `severityFloor` and `maxIssuesPerChunk`: the most severe issues win the limit.

    The result is in document order, which is what editors list.
    """
    ceiling = severity_rank(floor)
    kept = [i for i in issues if severity_rank(i.severity) <= ceiling]
    kept.sort(key=lambda i: severity_rank(i.severity))  # stable: ties keep the model's order
    return sorted(kept[:limit], key=lambda i: (i.start, i.end))
