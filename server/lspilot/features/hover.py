"""Hover: what the symbol under the cursor is, at once, and an explanation of it.

The signature and existing docstring come from the syntax tree and are shown immediately.
The explanation comes from the assistant: a cache hit is instant; a miss waits up to
``hover.timeoutMs`` and then answers that the explanation is being generated, letting the
request finish into the cache in the background so the next hover has it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from lspilot.assistant.errors import AssistantError
from lspilot.features.workspace import task_context
from lspilot.positions import LineIndex, lsp_range, offset_at

# The answers and task models are imported at the first hover, not before `initialize` is
# answered (see lspilot.server.WARM_UP).
if TYPE_CHECKING:
    from lspilot.assistant.tasks import ExplainInput, ExplainResult
    from lspilot.session import LspilotServer
    from lspilot.syntax import Definition, Source

log = logging.getLogger("lspilot.hover")

PENDING = "_lspilot is generating an explanation; hover again in a moment._"
# Lines of code shown around a symbol that has no definition in this file.
USAGE_CONTEXT_LINES = 3
# Texts longer than this have their definitions looked up in a worker thread (below it a
# lookup takes a millisecond or two, less than a round trip to a thread under load).
BIG_TEXT = 64_000
# Explanations cut short kept per server (see `HoverState`).
CUT_SHORT_KEPT = 16


class HoverState:
    """What the hover of one server keeps between requests.

    Explanations cut short (at `maxOutputTokens`, say) that finished after the hover had
    answered `PENDING`: the cache never keeps them, so without these the next hover would
    start the same slow generation again instead of showing what came. Each is shown once
    (the hover after that asks the model again, as for any answer cut short); the
    `CUT_SHORT_KEPT` newest are kept.
    """

    def __init__(self) -> None:
        self._cut_short: dict[ExplainInput, ExplainResult] = {}

    def keep_cut_short(self, request: ExplainInput, result: ExplainResult) -> None:
        """Keep `result`, cut short, for the next hover on `request`."""
        self._cut_short[request] = result
        while len(self._cut_short) > CUT_SHORT_KEPT:
            del self._cut_short[next(iter(self._cut_short))]

    def take_cut_short(self, request: ExplainInput) -> ExplainResult | None:
        """The result kept for `request`, if any; gone from here once shown."""
        return self._cut_short.pop(request, None)


def register(ls: LspilotServer) -> None:
    """Register the hover handler."""
    state = HoverState()

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: LspilotServer, params: types.HoverParams) -> types.Hover | None:
        return await hover(ls, params, state)


async def hover(
    ls: LspilotServer, params: types.HoverParams, state: HoverState
) -> types.Hover | None:
    """Answer one hover request."""
    from lspilot.answers import safe_markdown

    if not ls.settings.hover.enabled:
        return None
    doc = ls.document(params.text_document.uri)
    if doc is None:  # never opened (a missing file, an untitled: buffer): nothing to say
        return None
    source = await ls.source_of(doc)
    if source is None:
        return None
    offset = offset_at(doc, params.position)
    ident = source.identifier_at(offset)
    if ident is None:  # keywords, literals, comments, whitespace: nothing to explain
        return None
    found = await _definition_of(ls, source, ident.name, offset)
    if isinstance(found, str):
        return types.Hover(
            contents=_content(ls, f"`{ident.name}`\n\n{found}"),
            range=lsp_range(doc, ident.start, ident.end),
        )
    definition = found
    header = _header(ident.name, definition, source.language)
    excluded = ls.excluded(doc.uri)
    if excluded:
        body = f"_{excluded}_"
    else:
        request = _explain_request(ls, source, ident.name, definition, ident.start)
        if definition is not None and definition.kind not in ("parameter",):
            # What the definition uses (imports, helpers' signatures), from the workspace. A
            # sync of the open documents under way is waited for: without it the context
            # could miss an unsaved edit of a helper (test_context's closed-buffer test).
            extra = await task_context(ls, doc, source, definition.start, definition.end)
            if extra:
                request = request.model_copy(update={"context": extra})
        body, offline = await _explanation(ls, state, request)
        body = safe_markdown(body)  # a prompt-injected answer must not make the editor fetch
        if offline and definition is not None:
            header = ""  # the offline explanation is built from the same signature and docstring
    markdown = "\n\n".join(part for part in (header, body) if part)
    return types.Hover(
        contents=_content(ls, markdown), range=lsp_range(doc, ident.start, ident.end)
    )


async def _definition_of(
    ls: LspilotServer, source: Source, name: str, offset: int
) -> Definition | str | None:
    """The definition of `name`; for a big file found in a worker thread.

    Indexing the definitions of a file of many megabytes takes seconds: the hover does not
    wait longer than `hover.timeoutMs` for it (it then returns `PENDING`; the index is
    finished in the background and the next hover has it).
    """
    if len(source.text) <= BIG_TEXT:
        return source.definition_of(name, offset)
    lookup = asyncio.ensure_future(asyncio.to_thread(source.definition_of, name, offset))
    try:
        return await asyncio.wait_for(
            asyncio.shield(lookup), timeout=ls.settings.hover.timeout_ms / 1000
        )
    except TimeoutError:
        lookup.add_done_callback(lambda f: f.cancelled() or f.exception())
        return PENDING


def _header(name: str, definition: Definition | None, language: str) -> str:
    """Signature and first paragraph of the docstring: known without any model."""
    if definition is None:
        return f"`{name}`"
    parts = [f"```{language}\n{definition.signature}\n```"]
    if definition.docstring:
        parts.append(definition.docstring.strip().split("\n\n")[0])
    return "\n\n".join(parts)


def _explain_request(
    ls: LspilotServer, source: Source, name: str, definition: Definition | None, at: int
) -> ExplainInput:
    from lspilot.assistant.tasks import ExplainInput

    budget = ls.settings.limits.max_input_chars
    kind: str
    if definition is not None and definition.kind not in ("parameter",):
        code, kind = source.documented_text(definition), definition.kind
        context = ""
        if definition.container:
            context = f"Defined in class {definition.container}."
    else:
        # No definition here: explain from what the code around the use shows.
        index = LineIndex(source.text)
        line = index.line_of(at)
        lo = max(0, line - USAGE_CONTEXT_LINES)
        hi = min(index.line_count - 1, line + USAGE_CONTEXT_LINES)
        code, kind = "\n".join(index.line_text(i) for i in range(lo, hi + 1)), "usage"
        enclosing = source.enclosing_definition(at)
        context = enclosing.signature if enclosing else ""
    return ExplainInput(
        language=source.language,
        code=code[:budget],
        name=name,
        kind=kind,
        context=context[: budget // 4],
    )


async def _explanation(
    ls: LspilotServer, state: HoverState, request: ExplainInput
) -> tuple[str, bool]:
    """The explanation's markdown, and whether it came from the offline engine."""
    from lspilot.assistant.engines.capabilities import hover_output_tokens
    from lspilot.assistant.tasks import ExplainResult

    assistant = await ls.get_assistant()
    offline = assistant.engine.id == "offline"
    # Shorter than other answers on a local model (`hover.maxOutputTokens`).
    limit = hover_output_tokens(ls.settings, assistant.engine)
    cached = await assistant.cached(request, output_tokens=limit) or state.take_cut_short(request)
    if isinstance(cached, ExplainResult):
        return cached.markdown, offline
    task = ls.spawn(_run_in_background(ls, state, request, limit), name="hover")
    try:
        result = await asyncio.wait_for(
            asyncio.shield(task), timeout=ls.settings.hover.timeout_ms / 1000
        )
    except TimeoutError:
        return PENDING, False  # the task goes on and fills the cache
    except asyncio.CancelledError:
        task.cancel()  # $/cancelRequest: abort the model request too
        raise
    state.take_cut_short(request)  # shown now: the next hover asks again
    if isinstance(result, AssistantError):
        return f"_{result.user_message}_", False
    return (result.markdown if isinstance(result, ExplainResult) else ""), offline


async def _run_in_background(
    ls: LspilotServer, state: HoverState, request: ExplainInput, limit: int | None
) -> ExplainResult | AssistantError:
    """Run the request; failures are reported once and returned, not raised."""
    from lspilot.assistant.tasks import ExplainResult

    assistant = await ls.get_assistant()
    try:
        result = await assistant.run(request, output_tokens=limit)
    except AssistantError as err:
        ls.report_error(err, "hover")
        return err
    finally:
        ls.notify_status()
    assert isinstance(result, ExplainResult)
    if not result.meta.complete:  # never cached: kept so that the next hover shows it
        state.keep_cut_short(request, result)
    return result


def _content(ls: LspilotServer, markdown: str) -> types.MarkupContent:
    formats = ls.client_capabilities.text_document
    hover_caps = formats.hover if formats else None
    offered = hover_caps.content_format if hover_caps and hover_caps.content_format else None
    if offered is None or types.MarkupKind.Markdown in offered:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown)
    plain = "\n".join(line for line in markdown.splitlines() if not line.startswith("```"))
    return types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain.replace("`", ""))
