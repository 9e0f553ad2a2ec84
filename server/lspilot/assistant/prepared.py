"""Requests as they are sent (redacted) and their part of the cache key, kept for the next
look-up of the same request.

A hover on the same symbol asks the cache for the same request again and again: its
redaction (a dozen patterns over every string) and the normalized JSON of its input (the
big part of its cache key) depend only on the request and the privacy settings, so they are
computed once. The engine's part of the key (model, parameters, prompt version, endpoint)
is not kept here: it is asked afresh on every look-up.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lspilot.assistant.cache import ResultCache, endpoint_key
from lspilot.assistant.tasks import AnyTaskInput, Task

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine
    from lspilot.settings import CacheSettings

#: Requests with more text than this are redacted and keyed in a worker thread: the
#: redaction patterns and the key's normalizing take milliseconds on tens of kilobytes.
BIG_REQUEST_CHARS = 16_000
#: How many prepared requests are kept, and how many characters of key input in all.
ENTRIES = 256
CHARS = 500_000


@dataclass(slots=True, eq=False)
class Prepared:
    """A request redacted, its normalized input JSON (`ResultCache.input_json`), and the
    last key made of them with the engine's part (`part`) it was made with."""

    request: AnyTaskInput
    input_json: str
    part: tuple[object, ...] = ()
    key: str = ""


def text_chars(request: AnyTaskInput) -> int:
    """Characters of the request's own text fields (what redaction and keying scan)."""
    return sum(len(v) for v in vars(request).values() if isinstance(v, str))


def engine_key(
    engine: Engine,
    request: AnyTaskInput,
    settings: CacheSettings,
    output_tokens: int | None = None,
    kept: Prepared | None = None,
) -> str:
    """The cache key of `request` (already redacted) on `engine`, asked with `output_tokens`
    (None: `maxOutputTokens`); `kept`: what is kept for it. The engine's part (model,
    parameters, prompt version, endpoint) is asked afresh each time, since it may change (a
    new engine, learned quirks); the key is made again only when it did."""
    task = Task(request.task)
    params_of = getattr(engine, "params", None)
    params = params_of(task) if callable(params_of) else {}
    if output_tokens is not None and "max_tokens" in params:
        params = {**params, "max_tokens": output_tokens}  # a short answer is keyed apart
    version = str(getattr(engine, "prompt_version", "0"))
    endpoint = endpoint_key(engine.describe().get("endpoint", ""), settings)
    model = engine.model_for(task)
    part = (engine.id, model, str(task), version, endpoint, params)
    if kept is not None and kept.part == part:
        return kept.key
    input_json = kept.input_json if kept is not None else ResultCache.input_json(request)
    key = ResultCache.key_of(engine.id, model, task, version, input_json, params, endpoint)
    if kept is not None:
        kept.part, kept.key = part, key
    return key


class PreparedRequests:
    """An LRU of `Prepared` by request, bounded by count and characters; `clear` when the
    privacy settings change (`generation` tells a result computed before from one after)."""

    def __init__(self, entries: int = ENTRIES, chars: int = CHARS) -> None:
        self.max_entries = entries
        self.max_chars = chars
        self.generation = 0
        self._items: OrderedDict[AnyTaskInput, Prepared] = OrderedDict()
        self._chars = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, request: AnyTaskInput) -> bool:
        return request in self._items

    def get(self, request: AnyTaskInput) -> Prepared | None:
        """What was kept for `request` (now the most recently used), or None."""
        found = self._items.get(request)
        if found is not None:
            self._items.move_to_end(request)
        return found

    def put(self, request: AnyTaskInput, prepared: Prepared, generation: int) -> None:
        """Keep `prepared`, unless it was computed before the last `clear` (`generation`)."""
        if generation != self.generation or request in self._items:
            return
        self._items[request] = prepared
        self._chars += len(prepared.input_json)
        while self._items and (len(self._items) > self.max_entries or self._chars > self.max_chars):
            _, dropped = self._items.popitem(last=False)
            self._chars -= len(dropped.input_json)

    def get_or_make(
        self, request: AnyTaskInput, make: Callable[[AnyTaskInput], Prepared]
    ) -> Prepared:
        """What is kept for `request`, else `make(request)`, kept."""
        found = self.get(request)
        if found is None:
            found = make(request)
            self.put(request, found, self.generation)
        return found

    async def aget_or_make(
        self, request: AnyTaskInput, make: Callable[[AnyTaskInput], Prepared]
    ) -> Prepared:
        """`get_or_make`, with `make` in a worker thread for a big request."""
        if request in self._items or text_chars(request) <= BIG_REQUEST_CHARS:
            return self.get_or_make(request, make)
        generation = self.generation  # a privacy change meanwhile: the result is not kept
        found = await asyncio.to_thread(make, request)
        self.put(request, found, generation)
        return found

    def clear(self) -> None:
        """Forget everything (the privacy settings changed)."""
        self._items.clear()
        self._chars = 0
        self.generation += 1
