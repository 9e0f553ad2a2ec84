"""Running a picked action: the model call, under progress, and the versioned edit.

Used by `codeAction/resolve` (the client applies the returned edit) and by the
`lspilot.runAction` command (the server applies it with `workspace/applyEdit`). The targets
are found again in the current document (by offsets, or by their text's fingerprint when
the document changed since the menu was listed), the task runs with validation and one
repair round, and the edits, computed on the text the model saw, are rebased onto the text
as it is now. Anything doubtful ends in a message and no edit.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from lspilot.answers import python_parses, safe_markdown
from lspilot.assistant.errors import AssistantError, NotSupportedError
from lspilot.assistant.tasks import ExplainResult, Task
from lspilot.features.code_actions.compute import (
    Job,
    document_job,
    explain_request,
    fix_job,
    generate_job,
    generate_spans,
)
from lspilot.features.code_actions.edits import EditPlan, apply_edits, workspace_edit
from lspilot.features.code_actions.listing import DATA_TAG
from lspilot.features.code_actions.offers import fingerprint
from lspilot.features.code_actions.progress import cancellable
from lspilot.features.workspace import task_context
from lspilot.syntax import language_of

if TYPE_CHECKING:
    from lspilot.session import LspilotServer
    from lspilot.syntax import Source

log = logging.getLogger("lspilot.code_actions")

CHANGED = (
    "lspilot: the document changed while {what} was being prepared, and the code it was "
    "for is no longer the same; nothing was changed. Run the action again."
)


CLOSED = "lspilot: “{title}”: the document is not open any more; nothing was changed."


@dataclass(frozen=True)
class Request:
    """A decoded action `data` payload."""

    action: str
    title: str
    uri: str
    version: int | None
    targets: tuple[tuple[int, int, str, str], ...]
    message: str = ""

    @classmethod
    def decode(cls, data: Any) -> Request | None:
        """The payload, or None when `data` is not (a valid) one of ours."""
        if not isinstance(data, dict) or data.get("tag") != DATA_TAG:
            return None
        try:
            targets = tuple((int(s), int(e), str(f), str(n)) for s, e, f, n in data["targets"])
            return cls(
                action=str(data["action"]),
                title=str(data.get("title", data["action"])),
                uri=str(data["uri"]),
                version=data.get("version"),
                targets=targets,
                message=str(data.get("message") or ""),
            )
        except (KeyError, TypeError, ValueError):
            return None


def tell(ls: LspilotServer, message: str, kind: types.MessageType) -> None:
    """A `window/showMessage` for an action the user asked for (always shown, logged)."""
    log.info("%s", message)
    ls.window_show_message(types.ShowMessageParams(type=kind, message=message))


def locate(source: Source | None, text: str, request: Request) -> list[tuple[int, int]] | None:
    """The targets' offsets in `text`: unchanged in place, or a definition found by its text."""
    found = []
    for start, end, fp, _name in request.targets:
        if fingerprint(text[start:end]) == fp:
            found.append((start, end))
            continue
        if source is None:
            return None
        moved = [(d.start, d.end) for d in source.definitions() if fingerprint(d.text) == fp]
        if len(moved) != 1:
            return None
        found.append(moved[0])
    return found


def _jobs(
    ls: LspilotServer,
    source: Source | None,
    text: str,
    request: Request,
    spans: list[tuple[int, int]],
) -> list[Job] | str:
    style = ls.settings.code_actions.docstring_style
    if request.action == "fix":
        language = source.language if source is not None else "text"
        return [fix_job(text, language, *spans[0], request.message)]
    if source is None:
        return "lspilot does not know this file's language."
    if request.action == "generate":
        job = generate_job(source, spans[0][0])
        return job if isinstance(job, str) else [job]
    jobs = []
    for start, end in spans:
        d = next((x for x in source.definitions() if (x.start, x.end) == (start, end)), None)
        if d is None:
            return "The definition to document is no longer there."
        jobs.append(document_job(source, d, style, ls.settings.code_actions.c_doc_style))
    return jobs


async def compute_edit(ls: LspilotServer, request: Request) -> types.WorkspaceEdit | None:
    """Run an editing action; the edit for the document as it is now, or None (user told)."""
    if ls.excluded(request.uri):
        return None
    doc = ls.document(request.uri)
    if doc is None:
        tell(ls, CLOSED.format(title=request.title), types.MessageType.Warning)
        return None
    text, version = doc.source, doc.version
    source = await ls.source_of(doc)
    spans = locate(source, text, request)
    if spans is None:
        tell(ls, CHANGED.format(what=f"“{request.title}”"), types.MessageType.Warning)
        return None
    jobs = _jobs(ls, source, text, request, spans)
    if isinstance(jobs, str):
        tell(ls, f"lspilot: {jobs}", types.MessageType.Warning)
        return None
    if source is not None and request.action == "document":
        for job, (start, end) in zip(jobs, spans, strict=True):
            context = await task_context(ls, doc, source, start, end, "document")
            job.request = job.request.model_copy(update={"context": context})
    if source is not None and request.action == "generate":
        focus, (start, end) = generate_spans(source, spans[0][0])
        context = await task_context(ls, doc, source, start, end, "generate", focus=focus)
        jobs[0].request = jobs[0].request.model_copy(update={"context": context})
    assistant = await ls.get_assistant()
    if any(j.request.task == Task.GENERATE for j in jobs) and not assistant.engine.supports(
        Task.GENERATE
    ):
        tell(ls, f"lspilot: {NotSupportedError.user_message}", types.MessageType.Warning)
        return None
    work = asyncio.ensure_future(
        asyncio.gather(*(assistant.run_validated(j.request, j.validate) for j in jobs))
    )
    try:
        done, _ = await cancellable(ls, request.title, work)
    except AssistantError as err:
        tell(ls, f"lspilot: {request.title}: {err.user_message}", types.MessageType.Warning)
        return None
    finally:
        ls.notify_status()
    if not done:
        return None
    edits = [e for j in jobs for e in j.edits]
    return _rebased(ls, request, EditPlan(request.uri, version, text, tuple(edits)))


def _rebased(ls: LspilotServer, request: Request, plan: EditPlan) -> types.WorkspaceEdit | None:
    """The plan's edits on the current document, or None (and the user told) if unsafe."""
    doc = ls.document(request.uri)
    if doc is None:
        tell(ls, CLOSED.format(title=request.title), types.MessageType.Warning)
        return None
    current = doc.source
    edits = plan.rebase(current)
    is_python = language_of(request.uri, doc.language_id) == "python"
    # Rebased onto a changed file: it must still parse if it parsed.
    if (
        edits is not None
        and current != plan.text
        and is_python
        and python_parses(current) is None
        and python_parses(apply_edits(current, edits))
    ):
        edits = None
    if edits is None:
        tell(ls, CHANGED.format(what=f"“{request.title}”"), types.MessageType.Warning)
        return None
    supports = ls.client_supports("workspace.workspace_edit.document_changes")
    return workspace_edit(doc, edits, document_changes=supports)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60] or "selection"


async def explain(ls: LspilotServer, request: Request) -> None:
    """Explain the target: a markdown document shown beside the code, or a message."""
    if ls.excluded(request.uri):
        return
    doc = ls.document(request.uri)
    if doc is None:
        tell(ls, CLOSED.format(title=request.title), types.MessageType.Warning)
        return
    source = await ls.source_of(doc)
    spans = locate(source, doc.source, request)
    if spans is None:
        tell(ls, CHANGED.format(what="the explanation"), types.MessageType.Warning)
        return
    start, end = spans[0]
    language = source.language if source is not None else (doc.language_id or "text")
    explain_input = explain_request(source, doc.source, start, end, language)
    if source is not None:
        extra = await task_context(ls, doc, source, start, end)
        if extra:
            context = f"{extra}\n\n{explain_input.context}".strip()
            explain_input = explain_input.model_copy(update={"context": context})
    assistant = await ls.get_assistant()
    work = asyncio.ensure_future(assistant.run(explain_input))
    try:
        done, result = await cancellable(ls, request.title, work)
    except AssistantError as err:
        tell(ls, f"lspilot: {request.title}: {err.user_message}", types.MessageType.Warning)
        return
    finally:
        ls.notify_status()
    if not done or not isinstance(result, ExplainResult):
        return
    name = request.targets[0][3] or "selection"
    line = doc.source.count("\n", 0, start) + 1
    body = safe_markdown(result.markdown.strip())  # no remote images, no raw HTML
    markdown = f"# {name}\n\n_{doc.uri}, line {line}_\n\n{body}\n"
    if ls.client_supports("window.show_document.support"):
        folder = ls.cache_dir / "explanations"
        path = folder / f"{_slug(name)}-{fingerprint(markdown)[:8]}.md"

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(markdown, encoding="utf-8")

        await asyncio.to_thread(write)
        shown = await ls.ask_client(
            ls.window_show_document_async(
                types.ShowDocumentParams(uri=path.as_uri(), external=False, take_focus=True)
            ),
            "window/showDocument",
            None,
        )
        if shown is not None and shown.success:
            return
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=markdown))
