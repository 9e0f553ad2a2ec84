"""The syntax trees of open documents: one per version, re-parsed incrementally.

Features ask `ParsedDocuments.source_of(doc)` for the tree of a document's current text. A
document edited since its last tree (`LspTextDocument` records each change as a byte edit)
is re-parsed from that tree, so a keystroke costs the parser the edited region; such a
re-parse of a text up to `REPARSE_INLINE_LIMIT` runs on the event loop (a millisecond or
two, less than a round trip to a worker thread on a busy machine). A full parse of a text
over `PARSE_INLINE_LIMIT`, or a big re-parse, runs in a worker thread, once per version,
shared by every feature asking meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from pygls.workspace import TextDocument

if TYPE_CHECKING:
    from lspilot.syntax import Recent, Source

# Parsing a document smaller than this on the event loop costs well under a few
# milliseconds; bigger ones go to a thread so typing never waits on the parser.
PARSE_INLINE_LIMIT = 20_000
# An incremental re-parse after an edit costs a fraction of a full parse: on the loop up to
# this size.
REPARSE_INLINE_LIMIT = 64_000
# The memory the syntax trees of open documents may take (the most recently used document's
# is kept whatever its size). One 2,000-line Python file's tree takes 5 MiB: keeping the
# two most recent whatever their size held 10 MiB for documents no one was working on (50
# documents opened and reviewed); a document whose tree was dropped is parsed again, off the
# loop when big, when a feature next asks for it.
SOURCES_BYTES = 8 * 2**20
SOURCES_KEEP = 1

_Entry = tuple[int | None, int, "Source"]  # (version, hash of the text, its Source)


class ParsedDocuments:
    """The recent documents' trees, within a memory budget (see lspilot.syntax.recent)."""

    def __init__(self) -> None:
        self._sources: Recent[str, _Entry] | None = None
        self._parsing: dict[tuple[str, int | None, int], asyncio.Future[Source]] = {}

    async def source_of(self, doc: TextDocument) -> Source | None:
        """The syntax tree of `doc` at its current version; None for unknown languages."""
        from lspilot.syntax import (
            Recent,
            language_of,
            parse,
            parse_plain,
            plain_language,
            tree_bytes,
        )

        if self._sources is None:
            self._sources = Recent(
                SOURCES_BYTES, lambda entry: tree_bytes(entry[2]), keep=SOURCES_KEEP
            )
        language = language_of(doc.uri, doc.language_id)
        parser = parse
        if language is None:  # no grammar: what the text allows (see syntax/text.py)
            language, parser = plain_language(doc.uri, doc.language_id), parse_plain
            if language is None:
                return None
        text = doc.source
        key = hash(text)
        cached = self._sources.get(doc.uri)
        if cached is not None and cached[0] == doc.version and cached[1] == key:
            return cached[2]
        work, inline = self._parse_for(doc, text, language, parser, cached)
        if inline:
            source = work()
        else:
            pending = (doc.uri, doc.version, key)
            future = self._parsing.get(pending)
            if future is None:
                future = asyncio.ensure_future(asyncio.to_thread(work))
                self._parsing[pending] = future
                future.add_done_callback(lambda _: self._parsing.pop(pending, None))
            source = await asyncio.shield(future)
        self._sources.put(doc.uri, (doc.version, key, source))
        parsed = getattr(doc, "parsed", None)
        if parsed is not None:
            parsed(text)  # later edits are recorded from this text
        return source

    @staticmethod
    def _parse_for(
        doc: TextDocument,
        text: str,
        language: str,
        parser: Callable[[str, str], Source],
        cached: _Entry | None,
    ) -> tuple[Callable[[], Source], bool]:
        """How to get `text`'s Source (an incremental re-parse when the edits since the
        cached tree are known) and whether to do it on the loop."""
        from lspilot.syntax import parse, reparse

        edits_since = getattr(doc, "edits_since", None)
        if cached is not None and parser is parse and edits_since is not None:
            old = cached[2]
            edits = edits_since(old.text) if old.language == language else None
            if edits is not None:
                inline = len(text) <= REPARSE_INLINE_LIMIT
                work = functools.partial(reparse, old, text, edits, yielding=not inline)
                return work, inline
        return functools.partial(parser, text, language), len(text) <= PARSE_INLINE_LIMIT

    def forget(self, uri: str) -> None:
        """Drop the tree kept for a closed document."""
        if self._sources is not None:
            self._sources.pop(uri)
