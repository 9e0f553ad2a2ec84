"""`textDocument/codeAction`: the menu, built from the syntax tree in milliseconds.

No model is called here. Each model action carries `data` (what resolve needs: uri,
version, targets with fingerprints); clients that cannot resolve (or do not round-trip
`data`) get a `lspilot.runAction` command with the same payload instead. Our own review
diagnostics that carry a fix become a ready edit at once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.workspace import TextDocument

from lspilot.features.code_actions.edits import Edit, workspace_edit
from lspilot.features.code_actions.offers import (
    KIND_FIX,
    Offer,
    fix_title,
    kind_allowed,
    list_offers,
)
from lspilot.positions import offset_at

# What computes edits (syntax, answers, the task models) is imported at the first request,
# not before `initialize` is answered (see lspilot.server.WARM_UP).
if TYPE_CHECKING:
    from lspilot.session import LspilotServer

RUN_ACTION = "lspilot.runAction"
#: Marks `data` as ours (other servers' actions never reach our resolve, but be strict).
DATA_TAG = "lspilot.codeAction"
OWN_SOURCE = "lspilot"
# Texts longer than this get their menu computed in a worker thread. Below it a menu at the
# cursor takes well under a millisecond: a round trip to a thread costs more on a busy machine.
BIG_TEXT = 64_000


def uses_resolve(ls: LspilotServer) -> bool:
    """Whether the client resolves `edit` lazily and sends `data` back."""
    text_document = ls.client_capabilities.text_document
    caps = text_document.code_action if text_document else None
    if caps is None or not caps.data_support or caps.resolve_support is None:
        return False
    return "edit" in caps.resolve_support.properties


def supports_literals(ls: LspilotServer) -> bool:
    """Whether the client takes `CodeAction` literals (every current client does)."""
    text_document = ls.client_capabilities.text_document
    caps = text_document.code_action if text_document else None
    return caps is not None and caps.code_action_literal_support is not None


def encode(offer: Offer, doc: TextDocument) -> dict[str, Any]:
    """The JSON `data` of an offer."""
    data: dict[str, Any] = {
        "tag": DATA_TAG,
        "action": offer.action,
        "title": offer.title,
        "uri": doc.uri,
        "version": doc.version,
        "targets": [[t.start, t.end, t.fingerprint, t.name] for t in offer.targets],
    }
    if offer.diagnostic is not None:
        data["message"] = offer.diagnostic.message
        data["source"] = offer.diagnostic.source
    return data


def _to_action(ls: LspilotServer, offer: Offer, doc: TextDocument) -> types.CodeAction:
    data = encode(offer, doc)
    action = types.CodeAction(
        title=offer.title,
        kind=offer.kind,
        diagnostics=[offer.diagnostic] if offer.diagnostic is not None else None,
    )
    # Explain never edits, so it always runs as a command; the others resolve their edit.
    if offer.action != "explain" and uses_resolve(ls):
        action.data = data
    else:
        action.command = types.Command(title=offer.title, command=RUN_ACTION, arguments=[data])
    return action


def _own_fix(
    ls: LspilotServer, doc: TextDocument, diagnostic: types.Diagnostic
) -> types.CodeAction | None:
    """Our review diagnostic's own fix as a ready edit; None when it has none or is stale."""
    from lspilot.features.code_actions.placement import newline_of

    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    fix = data.get("fix")
    if not isinstance(fix, str) or data.get("version") != doc.version:
        return None
    start, end = offset_at(doc, diagnostic.range.start), offset_at(doc, diagnostic.range.end)
    fix = fix.replace("\r\n", "\n").replace("\n", newline_of(doc.source))
    edit = Edit(start, end, fix, start, end)
    supports = ls.client_supports("workspace.workspace_edit.document_changes")
    return types.CodeAction(
        title=fix_title(diagnostic),
        kind=KIND_FIX,
        diagnostics=[diagnostic],
        is_preferred=True,
        edit=workspace_edit(doc, [edit], document_changes=supports),
    )


def _on_requested_lines(diagnostic: types.Range, requested: types.Range) -> bool:
    """Whether a diagnostic touches the lines of the request (a cursor asks for its line)."""
    return (
        diagnostic.start.line <= requested.end.line and diagnostic.end.line >= requested.start.line
    )


async def code_actions(
    ls: LspilotServer, params: types.CodeActionParams
) -> list[types.CodeAction | types.Command] | None:
    """Answer one `textDocument/codeAction` request."""
    from lspilot.features.code_actions.compute import fix_region
    from lspilot.model import Task

    if not ls.settings.code_actions.enabled or ls.excluded(params.text_document.uri):
        return None
    doc = ls.document(params.text_document.uri)
    if doc is None:  # never opened: no menu (reading it from disk is not ours to do)
        return None
    only = list(params.context.only) if params.context.only else None
    text = doc.source
    start, end = offset_at(doc, params.range.start), offset_at(doc, params.range.end)
    source = await ls.source_of(doc)
    # Waiting for the engine choice at start-up is not a model call; after that it is instant.
    assistant = await ls.get_assistant()
    can_generate = assistant.engine.supports(Task.GENERATE)

    actions: list[types.CodeAction] = []
    model_fixes: list[tuple[types.Diagnostic, int, int]] = []
    for diagnostic in params.context.diagnostics:
        if not _on_requested_lines(diagnostic.range, params.range):
            continue  # some clients (eglot) send every diagnostic of the file
        d_start = offset_at(doc, diagnostic.range.start)
        d_end = offset_at(doc, diagnostic.range.end)
        if diagnostic.source == OWN_SOURCE:
            own = _own_fix(ls, doc, diagnostic)
            if own is not None:
                actions.append(own)
                continue
            if isinstance(diagnostic.data, dict) and diagnostic.data.get("version") not in (
                None,
                doc.version,
            ):
                continue  # stale: the next review republishes it where it now stands
        model_fixes.append((diagnostic, *fix_region(source, text, d_start, d_end)))

    if len(text) > BIG_TEXT:
        # Finding the definitions of a file of megabytes takes seconds: not on the event loop.
        offers = await asyncio.to_thread(
            list_offers, source, text, start, end, model_fixes, can_generate=can_generate
        )
    else:
        offers = list_offers(source, text, start, end, model_fixes, can_generate=can_generate)
    actions.extend(_to_action(ls, offer, doc) for offer in offers)
    actions = [a for a in actions if kind_allowed(a.kind or "", only)]
    if not supports_literals(ls):
        return [a.command for a in actions if a.command is not None]
    return list(actions)
