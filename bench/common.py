"""What every benchmark shares: a stdio session with a server, the fake model, statistics.

A `Session` drives a real server (lspilot or the bare pygls baseline) over stdio with pygls's
client, records the diagnostics it publishes and measures request round trips. The model is
the tests' fake OpenAI-compatible server (tests/fakes/model_server.py) on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:  # the fake model server lives with the tests
    sys.path.insert(0, str(REPO))

from tests.fakes.model_server import FakeModelServer, Reply  # noqa: E402

__all__ = ["FakeModelServer", "Reply"]  # re-exported: the benchmarks import them from here

logging.getLogger("pygls").setLevel(logging.ERROR)  # the bench client ignores what it is not told

OURS = [sys.executable, "-m", "lspilot", "serve"]
BARE = [sys.executable, str(HERE / "bare_server.py")]
MODEL = "bench-model"
_SCRUBBED = ("OPENAI_", "LSPILOT_", "ANTHROPIC_")


@dataclass
class Figure:
    """One measured figure beside its baseline from the same run."""

    bench: str
    metric: str
    ours: float
    base: float | None
    unit: str
    target: str = ""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """ours / baseline, when there is a baseline."""
        if self.base is None or self.base == 0:
            return None
        return self.ours / self.base

    def as_json(self) -> dict[str, Any]:
        """The figure as a JSON object (ratio included)."""
        return {
            "bench": self.bench,
            "metric": self.metric,
            "lspilot": round(self.ours, 3),
            "baseline": None if self.base is None else round(self.base, 3),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "unit": self.unit,
            "target": self.target,
            "note": self.note,
        }


def percentile(values: list[float], p: float) -> float:
    """The `p`-th percentile (0-100) of `values`, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    """The median (NaN when empty)."""
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds * 1000


def isolated_env(tmp: Path, **extra: str) -> dict[str, str]:
    """An environment with no user config, no inherited keys, caches and home under `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    home = tmp / "home"
    (home / ".cache").mkdir(parents=True, exist_ok=True)
    (home / ".config").mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        LSPILOT_CACHE__DIR=str(tmp / "cache"),
        LSPILOT_OLLAMA_URL="http://127.0.0.1:9",
        LSPILOT_LIMITS__REQUESTS_PER_MINUTE="10000",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def model_env(tmp: Path, fake: FakeModelServer, **extra: str) -> dict[str, str]:
    """`isolated_env` pointed at the fake model, with a key made up at run time."""
    return isolated_env(
        tmp,
        LSPILOT_PROVIDER="openai",
        LSPILOT_BASE_URL=fake.url,
        LSPILOT_MODEL=MODEL,
        OPENAI_API_KEY="-".join(["bench", "not", "a", "key"]),
        **extra,
    )


@contextmanager
def fake_model(
    responder: Callable[[dict[str, Any]], Any] | None = None,
) -> Iterator[FakeModelServer]:
    """The fake model server, answering with `responder` when given."""
    fake = FakeModelServer(models=[MODEL])
    if responder is not None:
        fake.responder = responder
    with fake:
        yield fake


_REVIEW = re.compile(r"^Review ", re.MULTILINE)


def is_review(body: dict[str, Any]) -> bool:
    """Whether a chat request asks for a review (rather than an explanation or code)."""
    return any(_REVIEW.search(str(m.get("content", ""))) for m in body.get("messages", []) if m)


def prompt_of(body: dict[str, Any]) -> str:
    """All message contents of a chat request body."""
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []) if m)


@dataclass
class Session:
    """A started client session with one server process."""

    client: LanguageClient
    root: Path
    started_s: float
    diagnostics: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    published: asyncio.Event = field(default_factory=asyncio.Event)
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return int(self.client._server.pid)  # type: ignore[attr-defined]

    def open(self, path: Path, text: str, language: str = "python") -> str:
        """Send didOpen for `path` with `text`; returns the uri."""
        uri = path.as_uri()
        self.versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )
        return uri

    def insert(self, uri: str, line: int, character: int, text: str) -> None:
        """Send an incremental didChange inserting `text` at (line, character)."""
        self.versions[uri] += 1
        at = types.Position(line=line, character=character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=at, end=at), text=text
                    )
                ],
            )
        )

    def save(self, uri: str) -> None:
        """Send didSave."""
        self.client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    async def code_actions(self, uri: str, line: int) -> Any:
        """One code action listing at the start of `line`."""
        at = types.Position(line=line, character=0)
        return await self.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=at, end=at),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )

    async def hover(self, uri: str, line: int, character: int) -> Any:
        """One hover request."""
        return await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )

    async def wait_diagnostics(
        self, done: Callable[[dict[str, list[types.Diagnostic]]], bool], limit_s: float
    ) -> bool:
        """Wait until `done(diagnostics)` holds (False after `limit_s`, a hang guard)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while not done(self.diagnostics):
            left = deadline - loop.time()
            if left <= 0:
                return False
            self.published.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.published.wait(), min(left, 0.5))
        return True


@asynccontextmanager
async def session(
    cmd: list[str], env: dict[str, str], root: Path, init_options: Any = None
) -> AsyncIterator[Session]:
    """Spawn `cmd`, initialize it (timed), yield the session, shut it down."""
    client = LanguageClient("lspilot-bench", "1")
    start = time.perf_counter()
    await client.start_io(*cmd, env=env, cwd=str(root))
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                text_document=types.TextDocumentClientCapabilities(
                    publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
                        version_support=True
                    )
                )
            ),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")],
            initialization_options=init_options,
        )
    )
    started = time.perf_counter() - start
    sess = Session(client, root, started)

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        sess.diagnostics[params.uri] = list(params.diagnostics)
        sess.published.set()

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_message(params: types.ShowMessageParams) -> None:
        print(f"  server says: {params.message}", file=sys.stderr)

    client.initialized(types.InitializedParams())
    try:
        yield sess
    finally:
        try:
            await asyncio.wait_for(client.shutdown_async(None), 30)
            client.exit(None)
        finally:
            await client.stop()


async def timed(call: Awaitable[Any]) -> float:
    """Seconds one awaited call took."""
    start = time.perf_counter()
    await call
    return time.perf_counter() - start


@contextmanager
def scratch() -> Iterator[Path]:
    """A temporary workspace folder."""
    with tempfile.TemporaryDirectory(prefix="lspilot-bench-") as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        yield root


def rss_mib(pid: int) -> float:
    """Resident memory of process `pid` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_bytes(folder: Path) -> int:
    """Bytes in the files under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def python_module(functions: int, lines_each: int = 10, seed_every: int = 0, tag: str = "f") -> str:
    """A Python module of `functions` small functions (~`lines_each` lines each).

    With `seed_every`, every n-th function carries a seeded bug: a line with
    ``seeded_bug_<tag><n>`` the fake model reports as an issue.
    """
    out = ['"""A generated module for the benchmarks."""', "", "import math", ""]
    for i in range(functions):
        out.append("")
        out.append(f"def {tag}_{i}(items, scale={i}):")
        out.append(f'    """Sum the items of group {i}, scaled."""')
        out.append("    total = 0")
        for j in range(max(1, lines_each - 6)):
            out.append(f"    total += math.floor(items[{j} % len(items)] * scale)")
        if seed_every and i % seed_every == 0:
            out.append(f"    seeded_bug_{tag}{i} = total / 0")
        out.append("    return total")
    return "\n".join(out) + "\n"


async def settled(fake: FakeModelServer) -> None:
    """Until the fake has seen no new request for 3 s (every review answered)."""
    seen, quiet = -1, 0
    while quiet < 6:
        await asyncio.sleep(0.5)
        count = len(fake.chat_requests())
        quiet = quiet + 1 if count == seen and count > 0 else 0
        seen = count
