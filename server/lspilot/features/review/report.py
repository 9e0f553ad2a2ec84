"""Placed issues to LSP diagnostics, positions through pygls's codec for the client's encoding.

`lspilot.positions.lsp_range` re-splits the document for every position it converts; a
review can place dozens of issues in a file of thousands of lines, so here the lines are split
once and each offset is found by bisection. The column still goes through the negotiated
codec, and the arithmetic is pygls's own (`TextDocument.server_position_at_offset`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from lspilot.features.review.layout import PlacedIssue

SOURCE = "lspilot"

SEVERITIES: dict[str, types.DiagnosticSeverity] = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


class PositionMap:
    """String offsets of one document text to LSP positions in the client's encoding."""

    def __init__(self, doc: TextDocument) -> None:
        self._codec = doc.position_codec
        self._lines = doc.lines  # the same line splitting pygls uses everywhere
        self._starts = [0, *accumulate(len(line) for line in self._lines)]

    def position(self, offset: int) -> types.Position:
        """The LSP position of string `offset` (past the end: the line after the last)."""
        offset = max(0, offset)
        if offset >= self._starts[-1]:
            return types.Position(line=len(self._lines), character=0)
        line = bisect_right(self._starts, offset) - 1
        server = ServerTextPosition(line, offset - self._starts[line])
        return self._codec.position_to_client_units(self._lines, server)

    def range(self, start: int, end: int) -> types.Range:
        """The LSP range of the string offsets ``[start, end)``."""
        return types.Range(start=self.position(start), end=self.position(end))


def to_diagnostics(
    doc: TextDocument, issues: Sequence[PlacedIssue], version: int | None
) -> list[types.Diagnostic]:
    """Our diagnostics for `issues` in `doc`, with the code-action `data` contract.

    `data` is ``{"fix": <replacement for the range> | None, "version": <doc version>}``: the
    fix action applies it without a model call, and only to the version it was made for.
    """
    if not issues:
        return []
    positions = PositionMap(doc)
    return [
        types.Diagnostic(
            range=positions.range(issue.start, issue.end),
            message=issue.message,
            severity=SEVERITIES[issue.severity],
            source=SOURCE,
            data={"fix": issue.fix, "version": version},
        )
        for issue in issues
    ]
