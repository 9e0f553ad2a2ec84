"""Counting tokens with the model's own tokenizer, for servers that send no usage.

llama.cpp ignores `stream_options`, so its streams carry no usage; but its servers tokenize,
beside their `/v1` (`capabilities.TOKENIZE_ROUTES`): llama.cpp's own server answers
`POST /tokenize {"content": ...}` with `{"tokens": [...]}`, llama-cpp-python's answers
`POST /extras/tokenize/count {"input": ...}` with `{"count": n}`. Which one an endpoint has is
found once (with a fixed probe text: no code goes to a route before it proved to be a
tokenizer) and remembered for the engine's life; an endpoint with neither gets the estimate.

OpenAI's models are counted here, in a worker thread, with their encodings (o200k_base,
cl100k_base) when the optional `toktok-rs` package is installed (`lspilot[tokenizers]`): it
compiles the encodings in. tiktoken is not used: it downloads its BPE files from the
internet at first use, and lspilot never fetches anything at run time.

Counting runs after the answer was delivered, with a short timeout; whatever fails, the
estimate stands. llama-cpp-python cuts a running stream when any other request arrives, so a
tokenize request there waits until none of this engine's streams runs, and new streams wait
the few milliseconds it takes (`StreamGate`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from lspilot.assistant.engines.capabilities import (
    TOKENIZE_ROUTES,
    Capabilities,
    TokenizeRoute,
    server_root,
)
from lspilot.assistant.tasks import Usage

log = logging.getLogger(__name__)

#: Longest wait for one tokenize request.
TOKENIZE_TIMEOUT_S = 2.0
#: Longest wait for this engine's streams to end before a tokenize request that would cut them.
IDLE_WAIT_S = 30.0
#: Tokens a chat template adds per message (role markers, turn separators): llama.cpp's
#: templates add 3-6, OpenAI's 3; the server counts the templated prompt, we count the text.
PER_MESSAGE_TOKENS = 4
#: Tokens that open the reply (``<start_of_turn>model``, ``<|start|>assistant<|message|>``).
REPLY_TOKENS = 3
#: What the route probe tokenizes (never the user's code).
PROBE_TEXT = "lspilot token count probe"
#: Transport failures (timeouts, refused connections) in a row before the routes are given up.
MAX_FAILURES = 3

#: Model name prefixes and the encoding of OpenAI's tokenizer they use.
_ENCODINGS = (
    (("gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4"), "o200k_base"),
    (("gpt-oss",), "o200k_harmony"),
    (("gpt-4", "gpt-3.5", "text-embedding-3", "text-embedding-ada"), "cl100k_base"),
)


def encoding_for(model: str) -> str | None:
    """The OpenAI encoding `model` is tokenized with, or None when it is not OpenAI's.

    A provider prefix (OpenRouter's ``openai/gpt-4o``) is ignored.
    """
    name = model.lower().rsplit("/", 1)[-1]
    for prefixes, encoding in _ENCODINGS:
        if name.startswith(prefixes):
            return encoding
    return None


@functools.cache
def local_tokenizer_available() -> bool:
    """Whether OpenAI's encodings are installed (the `toktok-rs` package); looked up once."""
    import importlib.util

    return importlib.util.find_spec("toktok") is not None


def count_local(encoding: str, texts: Sequence[str]) -> list[int]:
    """Tokens of each text in an OpenAI encoding (blocking: the first call builds it, ~2 s)."""
    import toktok  # optional (lspilot[tokenizers]); callers check `local_tokenizer_available`

    return [int(n) for n in toktok.batch_count(list(texts), encoding, threads=1)]


class StreamGate:
    """Keeps a tokenize request that would cut a stream from overlapping any of ours.

    Single-threaded (the event loop): streams count themselves in and out; a tokenize
    request waits until none runs, and streams that start meanwhile wait until it is done.
    """

    def __init__(self) -> None:
        self.streams = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._free = asyncio.Event()
        self._free.set()

    @contextlib.asynccontextmanager
    async def stream(self) -> AsyncIterator[None]:
        """Around one streamed completion."""
        while not self._free.is_set():
            await self._free.wait()
        self.streams += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.streams -= 1
            if self.streams == 0:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def exclusive(self, wait_s: float) -> AsyncIterator[None]:
        """Around one tokenize request; raises TimeoutError when streams run past `wait_s`."""
        async with asyncio.timeout(wait_s):
            while self.streams or not self._free.is_set():
                await (self._idle.wait() if self.streams else self._free.wait())
        self._free.clear()
        try:
            yield
        finally:
            self._free.set()


class TokenCounter:
    """One endpoint's way of counting tokens: OpenAI's encodings, the server's route, or none."""

    def __init__(self, base_url: str, api_key: str | None) -> None:
        self.root = server_root(base_url)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.gate = StreamGate()
        #: The route found (None: not yet, or none); `probed` says whether it was looked for.
        self.route: TokenizeRoute | None = None
        self.probed = False
        #: Tokens the route adds to any text (llama-cpp-python's BOS): an empty text's count.
        self.added = 0
        self._failures = 0
        self._probe_lock: asyncio.Lock | None = None
        self._client: Any = None

    def source(self, model: str) -> str:
        """What counts `model`'s tokens: an encoding, the server's route, "" (not known yet)
        or "none" (the estimate stands)."""
        encoding = encoding_for(model)
        if encoding and local_tokenizer_available():
            return f"{encoding} (toktok-rs)"
        if self.route is not None:
            return self.route.name
        return "none" if self.probed else ""

    async def count(self, model: str, texts: Sequence[str]) -> list[int] | None:
        """Tokens of each text with `model`'s tokenizer, or None when it cannot be had."""
        encoding = encoding_for(model)
        if encoding and local_tokenizer_available():
            try:
                return await asyncio.to_thread(count_local, encoding, texts)
            except Exception as error:  # a broken optional package must not break metering
                log.debug("counting with %s failed: %s", encoding, error)
                return None
        route = await self._route(model)
        if route is None:
            return None
        counts = []
        for text in texts:
            counted, _ = await self._post(route, model, text)
            if counted is None:
                return None
            counts.append(max(0, counted - self.added))
        return counts

    def counter(
        self, model: str, caps: Capabilities, messages: Sequence[dict[str, Any]], answer: str
    ) -> Callable[[], Awaitable[Usage | None]]:
        """Counts a request's messages and its answer with `model`'s tokenizer, when run."""
        prompt = "\n".join(str(m["content"]) for m in messages)
        overhead = PER_MESSAGE_TOKENS * len(messages) + REPLY_TOKENS

        async def count() -> Usage | None:
            counted = await self.count(model, [prompt, answer])
            if counted is None:
                return None
            prompt_tokens = counted[0] + overhead + self.added  # the prompt has its BOS once
            caps.calibrate(len(prompt), prompt_tokens)  # the estimate learns from it too
            caps.tokens_counted = "tokenizer"
            return Usage(prompt_tokens=prompt_tokens, completion_tokens=counted[1], tokenizer=True)

        return count

    async def _route(self, model: str) -> TokenizeRoute | None:
        """The server's tokenize route, probed once (concurrent callers wait for that probe).

        Every route answering something else than a count: none, for good. A timeout or a
        refused connection: none this time, asked again next time (`MAX_FAILURES` in a row:
        for good).
        """
        if self.probed:
            return self.route
        if self._probe_lock is None:
            self._probe_lock = asyncio.Lock()
        async with self._probe_lock:
            if self.probed:
                return self.route
            for route in TOKENIZE_ROUTES:
                counted, absent = await self._post(route, model, PROBE_TEXT)
                if counted is not None:
                    empty, _ = await self._post(route, model, "")
                    self.added = empty or 0
                    self.route, self.probed = route, True
                    log.info("counting tokens with the server's tokenizer (%s)", route.name)
                    return route
                if not absent:
                    self.probed = self._failures >= MAX_FAILURES
                    return None
            self.probed = True
            log.info("%s has no tokenize route; tokens are estimated", self.root)
            return None

    async def _post(self, route: TokenizeRoute, model: str, text: str) -> tuple[int | None, bool]:
        """One tokenize request: (tokens, False), or (None, whether the route is not there)."""
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=TOKENIZE_TIMEOUT_S, headers=self._headers)
        url = f"{self.root}/{route.path}"
        body = {route.field: text, "model": model}
        try:
            if route.interrupts:
                async with self.gate.exclusive(IDLE_WAIT_S):
                    response = await self._client.post(url, json=body)
            else:
                response = await self._client.post(url, json=body)
        except TimeoutError:
            return None, False  # our streams ran on (the gate): the server is not to blame
        except (httpx.HTTPError, OSError) as error:
            self._failures += 1
            log.debug("tokenize request to %s failed: %s", url, type(error).__name__)
            return None, False
        self._failures = 0
        counted = _count_of(route, response) if response.status_code == 200 else None
        return counted, counted is None

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


def _count_of(route: TokenizeRoute, response: Any) -> int | None:
    """The number of tokens a tokenize answer holds, or None when it is not one."""
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get(route.answer) if isinstance(data, dict) else None
    if route.answer == "count":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return len(value) if isinstance(value, list) else None
