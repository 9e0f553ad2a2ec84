"""One review pass over a document's chunks, through the assistant; no LSP in here.

The pass turns the syntax layer's chunks into review inputs (the chunk's code, name and a
little context), serves every chunk it can from memory or the assistant's cache, and asks the
model only for the chunks left, a few at a time. Each answer is anchored inside its own chunk
and stored by the chunk's content, so a chunk reviewed once is never sent again while it is
unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lspilot.assistant.errors import (
    AssistantError,
    BadOutputError,
    IncompleteAnswerError,
    PreemptedError,
)
from lspilot.assistant.tasks import ReviewInput, ReviewResult
from lspilot.review.anchoring import anchor_issues
from lspilot.review.layout import ChunkAt, PlacedIssue, ReviewStore, place

if TYPE_CHECKING:
    from lspilot.assistant import Assistant
    from lspilot.context import WorkspaceContext
    from lspilot.syntax import Source
    from lspilot.syntax.model import Chunk

log = logging.getLogger("lspilot.diagnostics")

Planned = ChunkAt[ReviewInput]


def context_for(text: str, chunk: Chunk) -> str:
    """What the model needs besides the chunk: for a piece of a class, the class header.

    Deliberately small: the context is part of the cache key, and anything taken from
    elsewhere in the file would make an edit there re-review this chunk.
    """
    line_start = text.rfind("\n", 0, chunk.start) + 1
    line_end = text.find("\n", chunk.start)
    first = text[line_start : line_end if line_end >= 0 else len(text)]
    indent = len(first) - len(first.lstrip())
    if indent == 0:
        return ""  # a top-level chunk stands on its own
    end = line_start - 1
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        stripped = line.lstrip()
        if stripped and len(line) - len(stripped) < indent and not stripped.startswith("@"):
            return stripped
        end = start - 1
    return ""


def plan(
    source: Source,
    language: str,
    workspace: WorkspaceContext | None = None,
    path: str | None = None,
) -> list[Planned]:
    """The document's chunks as review inputs, at their offsets in `source.text`.

    Blank chunks are left out: there is nothing to review in them. With `workspace`, each
    chunk's context also holds the signatures and docstrings of what it calls that is
    defined outside it (`WorkspaceContext.review_contexts`): part of its cache key, so a
    helper's new signature re-reviews exactly the chunks that use it.
    """
    chunks = [chunk for chunk in source.chunks() if chunk.text.strip()]
    used = (
        workspace.review_contexts(source, path, [(c.start, c.end, c.text) for c in chunks])
        if workspace is not None
        else ["" for _ in chunks]
    )
    planned: list[Planned] = []
    for chunk, extra in zip(chunks, used, strict=True):
        header = context_for(source.text, chunk)
        request = ReviewInput(
            code=chunk.text,
            name=chunk.name or None,
            language=language,
            context=f"{header}\n{extra}" if header and extra else header or extra,
        )
        planned.append(ChunkAt(request, chunk.start, chunk.end))
    return planned


async def fill_from_cache(
    assistant: Assistant,
    chunks: Sequence[Planned],
    store: ReviewStore,
    missed: set[ReviewInput] | None = None,
) -> int:
    """Store the cached reviews of chunks not yet in `store`; never calls a model.

    With `missed`, chunks already looked up in vain are not looked up again (an edit
    re-plans every chunk; only new content can be in the cache), and new misses are added
    to it; it keeps only the keys of `chunks`. Returns how many were found.
    """
    found = 0
    for chunk in chunks:
        if chunk.key in store or (missed is not None and chunk.key in missed):
            continue
        result = await assistant.cached(chunk.key)
        if isinstance(result, ReviewResult):
            store.put(chunk.key, anchor_issues(chunk.key.code, result.issues, chunk.key.language))
            found += 1
        elif missed is not None:
            missed.add(chunk.key)
    if missed is not None:
        missed.intersection_update(c.key for c in chunks)
    return found


@dataclass
class PassOutcome:
    """What a review pass did, for the log and the status."""

    reviewed: int = 0  # chunks answered (by the model or a cache)
    model_calls: int = 0  # answers that were not cached
    prompt_tokens: int = 0
    dropped: int = 0  # issues whose quote was not found
    bad_output: int = 0  # chunks whose answer could not be used
    skipped: int = 0  # chunks too big to send
    error: AssistantError | None = None  # what stopped the pass, if anything


async def review_missing(
    assistant: Assistant,
    chunks: Sequence[Planned],
    store: ReviewStore,
    *,
    concurrency: int,
    max_chars: int,
    wanted: Callable[[ReviewInput], bool],
    on_result: Callable[[], None],
) -> PassOutcome:
    """Review the chunks not in `store`, `concurrency` at a time.

    Before each model call the chunk is checked with `wanted` (is it still in the document?),
    so a pass overtaken by edits spends nothing on code that is gone, while the chunks that
    are still there finish. A chunk whose request made way for an interactive one goes to the
    back of the queue. An unusable answer skips its chunk with a log line; any other
    assistant error stops the pass and is returned, not raised, for the caller to report once.
    """
    outcome = PassOutcome()
    queue = deque(chunks)

    async def worker() -> None:
        while queue and outcome.error is None:
            chunk = queue.popleft()
            request = chunk.key
            if request in store or not wanted(request):
                continue
            if len(request.code) > max_chars:
                outcome.skipped += 1
                log.info(
                    "review: %s is too big to send (%d chars)", request.name, len(request.code)
                )
                continue
            try:
                result = await assistant.run(request)
            except PreemptedError:
                # It made way for a hover: reviewed later, after the chunks still waiting.
                log.info("review of %s made way for an interactive request", request.name)
                queue.append(chunk)
                continue
            except (BadOutputError, IncompleteAnswerError) as err:
                # A cut-short answer (length, a local server ending the stream) is an
                # unusable answer for this chunk, not a reason to stop the pass.
                outcome.bad_output += 1
                log.warning("review of %s: unusable answer dropped: %s", request.name, err)
                continue
            except AssistantError as err:
                outcome.error = err
                return
            if not isinstance(result, ReviewResult):  # an engine bug; never crash on it
                log.warning("review of %s: unexpected %s", request.name, type(result).__name__)
                continue
            anchored = anchor_issues(request.code, result.issues, request.language)
            store.put(request, anchored)
            outcome.reviewed += 1
            outcome.dropped += anchored.dropped
            if not result.meta.cached and result.meta.engine != "offline":
                outcome.model_calls += 1
                outcome.prompt_tokens += result.meta.usage.prompt_tokens
            if anchored.dropped:
                log.info(
                    "review of %s: %d issue(s) dropped, quote not found",
                    request.name,
                    anchored.dropped,
                )
            on_result()

    workers = max(1, min(concurrency, len(chunks)))
    await asyncio.gather(*(worker() for _ in range(workers)))
    return outcome


async def review_source(
    assistant: Assistant, source: Source, *, concurrency: int = 4, max_chars: int = 24_000
) -> tuple[list[PlacedIssue], PassOutcome]:
    """Review a whole text outside any editor (`lspilot demo`, `lspilot check`).

    Returns every anchored issue at document offsets (no severity floor or limit applied)
    and what the pass did.
    """
    chunks = plan(source, source.language)
    store = ReviewStore()
    await fill_from_cache(assistant, chunks, store)
    outcome = await review_missing(
        assistant,
        chunks,
        store,
        concurrency=concurrency,
        max_chars=max_chars,
        wanted=lambda request: True,
        on_result=lambda: None,
    )
    placed, _ = place(chunks, store, "hint", 1_000)
    return placed, outcome
