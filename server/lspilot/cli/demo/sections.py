"""The parts of `lspilot demo` after the hovers: code actions, their diffs, diagnostics, status.

Everything goes through LSP as an editor would send it (`textDocument/codeAction`,
`codeAction/resolve`, `textDocument/diagnostic`, `workspace/executeCommand`), so the demo
shows what a user gets, not what the modules would return if called directly. Each section
says plainly when something is not offered and why (the offline engine cannot generate).
"""

from __future__ import annotations

import asyncio
import difflib
import re
from collections.abc import Callable
from typing import Any

from lsprotocol import types

from lspilot.cli.demo.session import EXAMPLE, Printer, locate, status
from lspilot.positions import LineIndex

# Where the example's actions are shown: (label, symbol, the text that locates it).
DOCUMENT_TARGET = ("reserve", "def reserve(")
COMMENT = re.compile(r"^[ \t]*#(?!!)", re.MULTILINE)


# ---- positions and edits ----------------------------------------------------------------


def offset_of(text: str, position: types.Position) -> int:
    """The string offset of an LSP position (UTF-16 columns, as the demo client negotiates)."""
    return LineIndex(text).offset(position)


def position_at(text: str, offset: int) -> types.Position:
    """The LSP position (UTF-16 columns) of a string offset."""
    return LineIndex(text).position(offset)


def edits_for(edit: types.WorkspaceEdit, uri: str) -> list[types.TextEdit]:
    """The text edits of `edit` that apply to `uri` (documentChanges or changes)."""
    found: list[types.TextEdit] = []
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri:
            found.extend(e for e in change.edits if isinstance(e, types.TextEdit))
    found.extend((edit.changes or {}).get(uri, []))
    return found


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with `edits` applied (LSP semantics: all ranges refer to the original text)."""
    spans = sorted(
        ((offset_of(text, e.range.start), offset_of(text, e.range.end), e.new_text) for e in edits),
        key=lambda span: (span[0], span[1]),
        reverse=True,
    )
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def print_diff(out: Printer, before: str, after: str) -> None:
    """A unified diff, green and red on a terminal, plain when piped."""
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{EXAMPLE}",
        tofile=f"b/{EXAMPLE}",
        n=2,
    )
    lines = [line.rstrip("\n") for line in diff]
    if not lines:
        out.line("    (no change)")
        return
    for line in lines:
        colour = "32" if line.startswith("+") else "31" if line.startswith("-") else ""
        if out.tty and colour and not line.startswith(("+++", "---")):
            line = f"\033[{colour}m{line}\033[0m"
        out.line(f"    {line}")


# ---- LSP requests -----------------------------------------------------------------------


async def list_actions(
    client: Any,
    uri: str,
    where: types.Range,
    wait_s: float,
    diagnostics: list[types.Diagnostic] | None = None,
) -> list[types.CodeAction]:
    """`textDocument/codeAction` at `where` (commands are shown as actions with no kind)."""
    result = await asyncio.wait_for(
        client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=where,
                context=types.CodeActionContext(diagnostics=diagnostics or []),
            )
        ),
        wait_s,
    )
    actions: list[types.CodeAction] = []
    for item in result or []:
        if isinstance(item, types.Command):
            actions.append(types.CodeAction(title=item.title, command=item))
        else:
            actions.append(item)
    return actions


async def resolved_edit(
    client: Any, action: types.CodeAction, wait_s: float
) -> types.WorkspaceEdit | None:
    """The action's edit, resolving it first (that is when the model runs)."""
    if action.edit is None and action.data is not None:
        action = await asyncio.wait_for(client.code_action_resolve_async(action), wait_s)
    return action.edit


def _cursor(text: str, symbol: str, around: str) -> types.Range | None:
    position = locate(text, symbol, around)
    return None if position is None else types.Range(start=position, end=position)


def _comment(text: str) -> types.Range | None:
    match = COMMENT.search(text)
    if match is None:
        return None
    position = position_at(text, match.end())
    return types.Range(start=position, end=position)


def _whole(text: str) -> types.Range:
    return types.Range(start=types.Position(line=0, character=0), end=position_at(text, len(text)))


# ---- the sections -----------------------------------------------------------------------


async def code_actions(client: Any, uri: str, text: str, out: Printer, wait_s: float) -> None:
    """The actions offered at a definition, on a comment and for the whole file (no model)."""
    spots = [
        (f"the cursor in `{DOCUMENT_TARGET[0]}`", _cursor(text, *DOCUMENT_TARGET)),
        ("the cursor on a comment", _comment(text)),
        ("the whole file selected", _whole(text)),
    ]
    out.line("Listed instantly, without a model call; the model runs when one is picked.")
    for label, where in spots:
        if where is None:
            continue
        actions = await list_actions(client, uri, where, wait_s)
        out.line(f"-- {label} (line {where.start.line + 1}):")
        for action in actions:
            out.line(f"    {action.title}" + (f"  [{action.kind}]" if action.kind else ""))
        if not actions:
            out.line("    (no actions)")


async def _show_action(
    client: Any,
    uri: str,
    text: str,
    out: Printer,
    wait_s: float,
    where: types.Range | None,
    prefixes: tuple[str, ...],
) -> bool:
    """Resolve the first action whose title starts with one of `prefixes`; print its diff."""
    if where is None:
        out.line("    (nothing to point at in this file)")
        return True
    actions = await list_actions(client, uri, where, wait_s)
    action = next((a for a in actions if a.title.startswith(prefixes)), None)
    if action is None:
        return False
    out.line(f"-- {action.title} (line {where.start.line + 1}):")
    edit = await resolved_edit(client, action, wait_s)
    if edit is None:
        out.line("    (no edit: the server explained why in a message, shown at the end)")
        return True
    print_diff(out, text, apply_edits(text, edits_for(edit, uri)))
    return True


async def document_diff(client: Any, uri: str, text: str, out: Printer, wait_s: float) -> None:
    """*Document this* on a method without a docstring, as a diff."""
    where = _cursor(text, *DOCUMENT_TARGET)
    if not await _show_action(
        client, uri, text, out, wait_s, where, ("Document ", "Update docstring")
    ):
        out.line("    (no Document action offered here)")


async def generate_diff(client: Any, uri: str, text: str, out: Printer, wait_s: float) -> None:
    """*Generate code from comment* on the example's comment, when the engine can."""
    if not await _show_action(
        client, uri, text, out, wait_s, _comment(text), ("Generate code from comment",)
    ):
        info = await status(client)
        out.line(
            f"    not offered: the {info.get('engine')} engine cannot generate code; configure"
            " a model (OPENAI_API_KEY, baseUrl or Ollama; see `lspilot doctor`)"
        )


async def diagnostics(client: Any, uri: str, text: str, out: Printer, wait_s: float) -> None:
    """The review diagnostics (a pull that waits for the review), then the fixes offered."""
    report = await asyncio.wait_for(
        client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        ),
        wait_s,
    )
    items: list[types.Diagnostic] = list(getattr(report, "items", None) or [])
    if not items:
        out.line("    (no issues found)")
        return
    names = {s: s.name.lower() for s in types.DiagnosticSeverity}
    for item in items:
        start = item.range.start
        severity = names.get(item.severity, "issue") if item.severity else "issue"
        has_fix = isinstance(item.data, dict) and item.data.get("fix")
        out.line(
            f"    {EXAMPLE}:{start.line + 1}:{start.character + 1}: {severity}: {item.message}"
            + ("  (has a fix)" if has_fix else "")
        )
    first = items[0]
    fixes = [
        a
        for a in await list_actions(client, uri, first.range, wait_s, diagnostics=[first])
        if a.title.startswith("Fix")
    ]
    if fixes:
        out.line(f"-- code actions for the first one (line {first.range.start.line + 1}):")
        for action in fixes:
            out.line(f"    {action.title}")


async def status_section(client: Any, uri: str, text: str, out: Printer, wait_s: float) -> None:
    """What the status bar of an editor would show, after everything above."""
    info = await status(client)
    cache = info.get("cache") or {}
    rows = [
        ("engine", f"{info.get('engine')} (model {info.get('model')})"),
        ("why", info.get("engineReason") or "-"),
        ("endpoint", info.get("endpoint") or "-"),
        ("requests", f"{info.get('requests', 0)}, errors {info.get('errors', 0)}"),
        ("tokens", f"{info.get('tokensIn', 0)} in, {info.get('tokensOut', 0)} out"),
        (
            "cache",
            f"{info.get('cacheHits', 0)} hits, {info.get('cacheMisses', 0)} misses;"
            f" {cache.get('entries', 0)} entries in {cache.get('directory', '-')}",
        ),
        ("breaker", info.get("breaker", "-")),
    ]
    if info.get("lastError"):
        rows.append(("last error", info["lastError"]))
    for problem in info.get("settingsProblems") or []:
        rows.append(("settings", problem))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out.line(f"    {label:<{width}}  {value}")


# The parts of the tour after the hovers, in order: (title, coroutine function).
Section = Callable[[Any, str, str, Printer, float], Any]
SECTIONS: list[tuple[str, Section]] = [
    ("Code actions", code_actions),
    ("Document this (diff)", document_diff),
    ("Generate code from comment (diff)", generate_diff),
    ("Diagnostics", diagnostics),
    ("Status", status_section),
]
