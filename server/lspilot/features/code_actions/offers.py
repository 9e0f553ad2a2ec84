"""What the code-action menu offers at a range: decided from the syntax tree, no model call.

An `Offer` says which action, on which target (offsets into the text the listing saw) and
with which fingerprint of the target's text, so the action can find its target again if the
document changed before the user picked it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lsprotocol import types

if TYPE_CHECKING:
    from lspilot.syntax import Definition, Source

ActionName = Literal["generate", "document", "document_many", "explain", "fix"]

# Kinds under `refactor` show in VS Code's lightbulb and its Refactor… menu and in Neovim's
# vim.lsp.buf.code_action(); fixes are `quickfix` so they sit beside their diagnostic.
KIND_GENERATE = "refactor.rewrite.lspilot.generate"
KIND_DOCUMENT = "refactor.rewrite.lspilot.document"
KIND_EXPLAIN = "refactor.lspilot.explain"
KIND_FIX = "quickfix.lspilot"
KINDS = (KIND_GENERATE, KIND_DOCUMENT, KIND_EXPLAIN, KIND_FIX)
ACTION_KINDS: dict[ActionName, str] = {
    "generate": KIND_GENERATE,
    "document": KIND_DOCUMENT,
    "document_many": KIND_DOCUMENT,
    "explain": KIND_EXPLAIN,
    "fix": KIND_FIX,
}

DOCUMENTABLE = ("function", "method", "class")
TITLE_MESSAGE_CHARS = 80


@dataclass(frozen=True)
class Target:
    """One thing an action works on: offsets and a fingerprint of its text."""

    start: int
    end: int
    fingerprint: str
    name: str = ""


@dataclass(frozen=True)
class Offer:
    """One action to list."""

    action: ActionName
    title: str
    targets: tuple[Target, ...]
    diagnostic: types.Diagnostic | None = None

    @property
    def kind(self) -> str:
        """The LSP code action kind."""
        return ACTION_KINDS[self.action]


def fingerprint(text: str) -> str:
    """A short hash of a target's text, to recognise it again in a changed document."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def target_of(text: str, start: int, end: int, name: str = "") -> Target:
    """The `Target` for ``text[start:end]``."""
    return Target(start, end, fingerprint(text[start:end]), name)


def kind_allowed(kind: str, only: list[str] | None) -> bool:
    """Whether `kind` is requested by `context.only` (None or empty: everything is)."""
    if not only:
        return True
    return any(kind == want or kind.startswith(want + ".") for want in only)


def documentable(source: Source, offset: int) -> Definition | None:
    """The innermost function, method or class around `offset`."""
    d = source.enclosing_definition(offset)
    while d is not None and d.kind not in DOCUMENTABLE:
        d = source.enclosing_definition(d.start - 1) if d.start > 0 else None
    return d


def _definition_target(text: str, d: Definition) -> Target:
    return target_of(text, d.start, d.end, d.qualified_name)


def fix_title(diagnostic: types.Diagnostic) -> str:
    """``Fix: <message> (line N)``: the line tells apart fixes listed for several diagnostics."""
    message = " ".join(diagnostic.message.split())
    if len(message) > TITLE_MESSAGE_CHARS:
        message = message[: TITLE_MESSAGE_CHARS - 1] + "…"
    return f"Fix: {message} (line {diagnostic.range.start.line + 1})"


def list_offers(
    source: Source | None,
    text: str,
    start: int,
    end: int,
    fixes: list[tuple[types.Diagnostic, int, int]],
    *,
    can_generate: bool,
) -> list[Offer]:
    """Every model action that applies to ``[start, end)`` (instant fixes are the caller's).

    `fixes` are the diagnostics to offer a model fix for, each with the offsets of the code
    the fix would rewrite.
    """
    offers: list[Offer] = []
    selected = text[start:end].strip() != ""
    enclosing = documentable(source, start) if source is not None else None
    if source is not None and can_generate:
        block = source.comment_block_at(start)
        # A doc comment (JSDoc above a function) documents code; it does not ask for any.
        if block is not None and not source.is_doc_comment(block.start):
            offers.append(
                Offer(
                    "generate",
                    "Generate code from comment",
                    (target_of(text, block.start, block.end),),
                )
            )
    if source is not None:
        inside = (
            [d for d in source.definitions_in(start, end) if d.kind in DOCUMENTABLE]
            if selected
            else []
        )
        undocumented = [d for d in inside if d.docstring is None]
        if len(undocumented) >= 2:
            offers.append(
                Offer(
                    "document_many",
                    f"Document {len(undocumented)} definitions",
                    tuple(_definition_target(text, d) for d in undocumented),
                )
            )
        # A selection around definitions means those; otherwise the one around the cursor.
        single = (inside[0] if len(inside) == 1 else None) if inside else enclosing
        if single is not None:
            verb = "Update docstring of" if single.docstring is not None else "Document"
            offers.append(
                Offer("document", f"{verb} {single.name}", (_definition_target(text, single),))
            )
    if selected:
        offers.append(Offer("explain", "Explain selection", (target_of(text, start, end),)))
    elif enclosing is not None:
        offers.append(
            Offer("explain", f"Explain {enclosing.name}", (_definition_target(text, enclosing),))
        )
    if can_generate:
        for diagnostic, region_start, region_end in fixes:
            target = target_of(text, region_start, region_end)
            offers.append(Offer("fix", fix_title(diagnostic), (target,), diagnostic))
    return offers
