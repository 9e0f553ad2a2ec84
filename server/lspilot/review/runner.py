"""One review pass over a document's chunks, through the assistant; no LSP in here.

The pass plans the syntax layer's chunks as review inputs (the chunk's code, name and a
little context) but keeps of each only its span and a digest of that input: the input itself
is made again from the document text when the chunk is looked up in the cache or sent, so
open documents are not held twice. It serves every chunk it can from memory or the
assistant's cache, and asks the model only for the chunks left, a few at a time. Each answer
is anchored inside its own chunk and stored by the chunk's content (the digest), so a chunk
reviewed once is never sent again while it is unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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


def context_for(text: str, chunk: Chunk | Planned) -> str:
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


def _joined(header: str, extra: str) -> str:
    return f"{header}\n{extra}" if header and extra else header or extra


def review_digest(request: ReviewInput) -> bytes:
    """What a chunk's review is stored under: a digest of every field of its review input.

    Two inputs have the same digest exactly when they are equal (up to a 128-bit hash
    collision), so the store tells the same chunks apart as when it was keyed by the inputs
    themselves, without keeping a copy of every chunk's code and context.
    """
    digest = hashlib.blake2b(digest_size=16)
    for value in (request.task, request.language, request.feedback, request.name):
        _feed(digest, value)
    _feed(digest, request.context)
    _feed(digest, request.code)
    return digest.digest()


def _feed(digest: Any, value: str | None) -> None:
    # Length-prefixed, and None apart from "": no two different inputs feed the same bytes.
    if value is None:
        digest.update(b"N")
        return
    data = value.encode("utf-8", "surrogatepass")
    digest.update(b"S" + len(data).to_bytes(8, "little"))
    digest.update(data)


@dataclass(frozen=True, slots=True)
class Planned(ChunkAt[bytes]):
    """A chunk to review, keyed by the digest of its review input (`review_digest`).

    It holds no copy of the chunk's code or of its built context: the code is a slice of
    `text`, the whole document text it was planned from (one string shared with the
    document), and the review input is made again only when the chunk is looked up in the
    cache or sent. `extra` (the workspace part of the context) is the workspace memo's own
    string, not a copy. Fifty open files of 2,000 lines held ~5 MB of chunk copies before.
    """

    text: str = field(repr=False, compare=False)
    language: str
    name: str | None
    extra: str = field(repr=False, compare=False)

    @property
    def size(self) -> int:
        """Characters of the chunk's code (what `limits.maxInputChars` counts)."""
        return self.end - self.start

    def request(self) -> ReviewInput:
        """The chunk's review input, as it is looked up and sent (same key as planned)."""
        return ReviewInput(
            code=self.text[self.start : self.end],
            name=self.name,
            language=self.language,
            context=_joined(context_for(self.text, self), self.extra),
        )


def plan(
    source: Source,
    language: str,
    workspace: WorkspaceContext | None = None,
    path: str | None = None,
) -> list[Planned]:
    """The document's chunks, at their offsets in `source.text`, keyed by their review input.

    Blank chunks are left out: there is nothing to review in them. With `workspace`, each
    chunk's context also holds the signatures and docstrings of what it calls that is
    defined outside it (`WorkspaceContext.review_contexts`): part of its cache key, so a
    helper's new signature re-reviews exactly the chunks that use it.
    """
    text = source.text
    chunks = [chunk for chunk in source.chunks() if chunk.text.strip()]
    used = (
        workspace.review_contexts(source, path, [(c.start, c.end, c.text) for c in chunks])
        if workspace is not None
        else ["" for _ in chunks]
    )
    planned: list[Planned] = []
    for chunk, extra in zip(chunks, used, strict=True):
        name = chunk.name or None
        # The input is made once here for its digest, then dropped with the chunk's text.
        request = ReviewInput(
            code=chunk.text,
            name=name,
            language=language,
            context=_joined(context_for(text, chunk), extra),
        )
        planned.append(
            Planned(review_digest(request), chunk.start, chunk.end, text, language, name, extra)
        )
    return planned


async def fill_from_cache(
    assistant: Assistant,
    chunks: Sequence[Planned],
    store: ReviewStore,
    missed: set[bytes] | None = None,
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
        request = chunk.request()
        result = await assistant.cached(request)
        if isinstance(result, ReviewResult):
            store.put(chunk.key, anchor_issues(request.code, result.issues, request.language))
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
    wanted: Callable[[Planned], bool],
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
            if chunk.key in store or not wanted(chunk):
                continue
            if chunk.size > max_chars:
                outcome.skipped += 1
                log.info("review: %s is too big to send (%d chars)", chunk.name, chunk.size)
                continue
            request = chunk.request()  # made now, dropped once its answer is stored
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
            store.put(chunk.key, anchored)
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
        wanted=lambda chunk: True,
        on_result=lambda: None,
    )
    placed, _ = place(chunks, store, "hint", 1_000)
    return placed, outcome
