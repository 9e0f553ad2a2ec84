"""Placed issues to LSP diagnostics, positions in the client's encoding (`lspilot.positions`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.workspace import TextDocument

from lspilot.positions import lsp_range

if TYPE_CHECKING:
    from lspilot.review.layout import PlacedIssue

SOURCE = "lspilot"

SEVERITIES: dict[str, types.DiagnosticSeverity] = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


def to_diagnostics(
    doc: TextDocument, issues: Sequence[PlacedIssue], version: int | None
) -> list[types.Diagnostic]:
    """Our diagnostics for `issues` in `doc`, with the code-action `data` contract.

    `data` is ``{"fix": <replacement for the range> | None, "version": <doc version>}``: the
    fix action applies it without a model call, and only to the version it was made for.
    """
    if not issues:
        return []
    return [
        types.Diagnostic(
            range=lsp_range(doc, issue.start, issue.end),
            message=issue.message,
            severity=SEVERITIES[issue.severity],
            source=SOURCE,
            data={"fix": issue.fix, "version": version},
        )
        for issue in issues
    ]
