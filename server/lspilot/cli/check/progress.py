"""Progress of `lspilot check` on stderr: a rich bar on a terminal, plain lines otherwise.

stdout carries the report (it may be piped into jq or a SARIF upload), so progress never
goes there. Plain lines are for CI logs: one per file as its review starts.
"""

from __future__ import annotations

from types import TracebackType
from typing import IO, Any

from lspilot.cli.common import is_terminal


class NoProgress:
    """Says nothing (--no-progress)."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        return None

    def advance(self, count: int = 1) -> None:
        """A chunk was reviewed."""

    def file(self, shown: str) -> None:
        """A chunk of `shown` is about to be reviewed."""


class PlainProgress(NoProgress):
    """A header line, then one line per file when its first chunk goes to the engine."""

    def __init__(self, stream: IO[str], total: int, files: int) -> None:
        self.stream = stream
        self.total = total
        self.files = files
        self.done = 0
        self._seen: set[str] = set()

    def __enter__(self) -> PlainProgress:
        self._write(f"lspilot check: {self.files} files, {self.total} chunks to review")
        return self

    def advance(self, count: int = 1) -> None:
        self.done += count

    def file(self, shown: str) -> None:
        if shown not in self._seen:
            self._seen.add(shown)
            self._write(f"lspilot check: [{self.done}/{self.total}] reviewing {shown}")

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


class BarProgress(NoProgress):
    """A rich progress bar, removed when done (the report follows on stdout)."""

    def __init__(self, stream: IO[str], total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]reviewing[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task = self._progress.add_task("", total=total)

    def __enter__(self) -> BarProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def advance(self, count: int = 1) -> None:
        self._progress.advance(self._task, count)

    def file(self, shown: str) -> None:
        from rich.markup import escape

        self._progress.update(self._task, description=escape(shown))


def make_progress(stream: IO[str], *, enabled: bool, total: int, files: int) -> Any:
    """The display that fits `stream`: a bar on a terminal, lines otherwise, or nothing."""
    if not enabled:
        return NoProgress()
    if is_terminal(stream):
        return BarProgress(stream, total)
    return PlainProgress(stream, total, files)
