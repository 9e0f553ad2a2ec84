"""One `lspilot check` run: the diagnostics feature's review pass over many files.

Every piece is the editor's own (`lspilot.review`): `plan` makes the same review
inputs (so the cache keys are the editor's), `fill_from_cache` and `review_missing` run the
pass, `place` applies `severityFloor` and `maxIssuesPerChunk`. Only the LSP conversion is
replaced by 1-based lines and columns for the report. All files' chunks go into one pass, so
the assistant's concurrency limit is used across files, and a chunk that appears in two files
(identical code) is reviewed once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lspilot.cli.check.report import CheckReport, FileResult, Issue, shown_path
from lspilot.positions import LineIndex
from lspilot.review.layout import ReviewStore, place
from lspilot.review.runner import Planned, fill_from_cache, plan, review_missing

if TYPE_CHECKING:
    from lspilot.assistant import Assistant
    from lspilot.context import WorkspaceContext
    from lspilot.review.runner import PassOutcome
    from lspilot.settings import Settings


class Progress(Protocol):
    """What the review tells its progress display."""

    def advance(self, count: int = 1) -> None: ...

    def file(self, shown: str) -> None: ...


@dataclass
class _Doc:
    shown: str
    text: str
    chunks: list[Planned]


class CheckRun:
    """Plans, reviews and reports a set of files."""

    def __init__(
        self,
        assistant: Assistant,
        settings: Settings,
        base: Path,
        report: CheckReport,
        workspace: WorkspaceContext | None = None,
    ) -> None:
        self.assistant = assistant
        self.workspace = workspace
        self.settings = settings
        self.base = base
        self.report = report
        self.docs: list[_Doc] = []
        self.store = ReviewStore()
        self._owner: dict[bytes, _Doc] = {}  # by chunk key (the digest of its review input)
        self._unique: list[Planned] = []

    def plan(self, files: list[Path]) -> None:
        """Read and chunk every file; unreadable ones are reported as skipped."""
        from lspilot.syntax import language_of, parse

        for path in files:
            shown = shown_path(path, self.base)
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                self.report.skipped.append((shown, "not UTF-8 text"))
                continue
            except OSError as error:
                self.report.skipped.append((shown, error.strerror or str(error)))
                continue
            language = language_of(str(path))
            if language is None:  # select() filtered these; stay safe anyway
                continue
            chunks = plan(parse(text, language), language, self.workspace, str(path.resolve()))
            doc = _Doc(shown, text, chunks)
            self.docs.append(doc)
            for chunk in doc.chunks:
                if chunk.key not in self._owner:
                    self._owner[chunk.key] = doc
                    self._unique.append(chunk)
        self.report.chunks = len(self._unique)

    async def review(self, progress: Progress) -> None:
        """Serve what the cache knows, then ask the engine for the rest."""
        found = await fill_from_cache(self.assistant, self._unique, self.store)
        progress.advance(found)

        def starting(chunk: Planned) -> bool:
            progress.file(self._owner[chunk.key].shown)
            return True

        limits = self.settings.limits
        outcome = await review_missing(
            self.assistant,
            self._unique,
            self.store,
            concurrency=limits.max_concurrent,
            max_chars=limits.max_input_chars,
            wanted=starting,
            on_result=progress.advance,
        )
        self._record(outcome)

    def _record(self, outcome: PassOutcome) -> None:
        if outcome.error is not None:
            # What stopped the pass (a refused key, an unreachable endpoint): the run failed.
            error = outcome.error
            detail = str(error)
            self.report.errors.append(
                error.user_message + (f" ({detail})" if detail != error.user_message else "")
            )
        for count, what in (
            (outcome.bad_output, "the model's answer could not be used, so it was skipped"),
            (outcome.skipped, "too big to send (limits.maxInputChars), so it was skipped"),
        ):
            if count:
                self.report.notes.append(f"{count} chunk{'s' if count != 1 else ''}: {what}")
        if outcome.dropped:
            self.report.notes.append(
                f"{outcome.dropped} issue(s) dropped: the code they quote was not found"
            )

    def finish(self) -> None:
        """Turn what the store holds into the report (also after an interruption)."""
        diagnostics = self.settings.diagnostics
        for doc in self.docs:
            placed, missing = place(
                doc.chunks, self.store, diagnostics.severity_floor, diagnostics.max_issues_per_chunk
            )
            lines = LineIndex(doc.text)
            result = FileResult(doc.shown, complete=not missing)
            for issue in placed:
                line, column = lines.line_column(issue.start)
                end_line, end_column = lines.line_column(issue.end)
                chunk = next((c for c in doc.chunks if c.start <= issue.start < c.end), None)
                result.issues.append(
                    Issue(
                        line,
                        column,
                        end_line,
                        end_column,
                        issue.severity,
                        issue.message,
                        issue.fix,
                        chunk.name if chunk is not None else None,
                    )
                )
            self.report.files.append(result)
        stats = self.assistant.stats()
        local = self.assistant.engine.id == "offline"
        self.report.reviewed = sum(1 for c in self._unique if c.key in self.store)
        self.report.from_cache = int(stats.get("cache_hits", 0))
        self.report.model_calls = 0 if local else int(stats.get("cache_misses", 0))
        if self.report.chunks and not self.report.reviewed and not self.report.errors:
            # Nothing was reviewed: a clean report would say "no issues" about unread code.
            chunks = self.report.chunks
            self.report.errors.append(
                f"none of the {chunks} chunk{'s' if chunks != 1 else ''} got a usable answer "
                "from the model, so nothing was reviewed (see `lspilot doctor`)"
            )
