"""Fault cases against the real server over stdio: what the user sees, time to answer, RSS.

    .venv/bin/python bench/faults.py

Each case starts a fresh server (`python -m lspilot serve`) with an isolated environment, the
fake model server where a model is needed, and prints one table row. The times are for the
record (this machine is shared and noisy); the suite asserts the behaviour, not the times.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.raw_lsp import RawClient, open_text, raw_session  # noqa: E402
from tests.e2e.test_big_files import big_source  # noqa: E402
from tests.fakes.model_server import FakeModelServer, Reply, message_text  # noqa: E402

SAMPLE = "def add(a, b):\n    return a + b\n"
CAPS = {
    "workspace": {"applyEdit": True},
    "window": {"showDocument": {"support": True}},
    "textDocument": {
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": []}}}
    },
}

AT_10 = {"line": 10, "character": 4}
Case = Callable[[RawClient, Path, FakeModelServer], Awaitable[str]]


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hover_params(uri: str, line: int, character: int) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}


def summary(answer: dict[str, Any]) -> str:
    if "error" in answer:
        return f"error {answer['error']['code']}"
    return "result" if answer.get("result") is not None else "empty result"


def is_review(body: dict[str, Any]) -> bool:
    return any("You review code" in message_text(m) for m in body.get("messages", []))


def hover_seen(answer: dict[str, Any]) -> str:
    """What the user reads in a hover: the model's text, the placeholder, or nothing."""
    if "error" in answer:
        return f"error {answer['error']['code']}"
    result = answer.get("result")
    if result is None:
        return "no hover"
    text = str(result.get("contents", {}).get("value", ""))
    if "generating an explanation" in text:
        return "placeholder (model still answering)"
    size = len(text.encode())
    shown = f"{size} B" if size < 1024 else f"{size // 1024} kB"
    cut = ", marked cut short" if "cut short" in text else ""
    return f"the model's explanation ({shown}{cut})"


def popups(client: RawClient) -> str:
    count = len(client.sent("window/showMessage"))
    return f"{count} popup(s)"


async def malformed(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    uri = (ws / "a.py").as_uri()
    open_text(client, uri, SAMPLE)
    client.send(b'{"jsonrpc": "2.0", "id": 99, ')
    client.send(b"[1, 2]")
    bad = client.request("", raw={"jsonrpc": "2.0", "method": 42})
    reply = await client.reply(bad)
    after = await client.call("textDocument/hover", hover_params(uri, 0, 5))
    return f"method 42: {summary(reply)}; next hover: {hover_seen(after)}; {popups(client)}"


async def invalid_params(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    uri = (ws / "a.py").as_uri()
    open_text(client, uri, SAMPLE)
    reply = await client.call("textDocument/hover", hover_params(uri, -1, 0))
    return f"{summary(reply)}; {popups(client)}"


async def never_opened(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    reply = await client.call("textDocument/hover", hover_params("untitled:Untitled-1", 0, 0))
    return f"{summary(reply)}; {popups(client)}"


async def command_with_slow_model(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    release = threading.Event()
    fake.responder = lambda body: (release.wait(30), "Add.\n\nArgs:\n    a: A.\n    b: B.\n")[1]
    client.answer = lambda r: {"applied": True} if r["method"] == "workspace/applyEdit" else None
    uri = (ws / "a.py").as_uri()
    open_text(client, uri, SAMPLE)
    at = {"line": 1, "character": 11}
    menu = await client.call(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": {"start": at, "end": at},
            "context": {"diagnostics": []},
        },
    )
    action = next(a for a in menu["result"] if a["title"] == "Document add")
    start = time.perf_counter()
    await client.call("workspace/executeCommand", action["command"])
    answered = time.perf_counter() - start
    release.set()
    await client.wait_for(lambda: client.sent("workspace/applyEdit"), "applyEdit")
    return f"command answered in {answered:.2f}s, edit by applyEdit after the model"


async def churn_then_hover(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    def answer(body: dict[str, Any]) -> Reply | str:
        return Reply(stall=True) if is_review(body) else "`add` adds."

    fake.responder = answer
    for i in range(200):
        uri = (ws / f"c{i}.py").as_uri()
        open_text(client, uri, f"def f{i}(x):\n    return x + {i}\n")
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    uri = (ws / "a.py").as_uri()
    open_text(client, uri, SAMPLE)
    # The open document's review holds the one slot of a local server, stalled, when the
    # hover comes: the hover pre-empts it.
    stalled = await fake.await_requests(1, timeout=60)
    start = time.perf_counter()
    reply = await client.call("textDocument/hover", hover_params(uri, 0, 5))
    took = time.perf_counter() - start
    await fake.await_requests(3, timeout=60)  # the pre-empted review, sent again
    reviews = sum(is_review(r.body or {}) for r in fake.chat_requests())
    return (
        f"hover {'behind a stalled review' if stalled else '(no review ran)'}: "
        f"{hover_seen(reply)} in {took:.2f}s; review requests {reviews}; {popups(client)}"
    )


async def big_file(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    uri = (ws / "big.py").as_uri()
    text = big_source()
    open_text(client, uri, text)
    times = []
    for method, params in (
        ("textDocument/hover", hover_params(uri, 4 * 7000, 5)),
        (
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {
                    "start": {"line": 10, "character": 4},
                    "end": {"line": 10, "character": 4},
                },
                "context": {"diagnostics": []},
            },
        ),
    ):
        start = time.perf_counter()
        await client.reply(client.request(method, params), timeout=300)
        times.append(f"{method.split('/')[1]} {time.perf_counter() - start:.1f}s")
    return "5 MB: " + ", ".join(times)


async def huge_answer(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    fake.responder = lambda body: Reply(content="word " * 2_000_000)
    uri = (ws / "a.py").as_uri()
    open_text(client, uri, SAMPLE)
    reply = await client.call("textDocument/hover", hover_params(uri, 0, 5))
    return f"hover: {hover_seen(reply)}; model requests {len(fake.chat_requests())}"


async def shutdown_during_review(client: RawClient, ws: Path, fake: FakeModelServer) -> str:
    fake.responder = lambda body: Reply(stall=True)
    open_text(client, (ws / "a.py").as_uri(), SAMPLE)
    await fake.await_requests(1, timeout=30)
    start = time.perf_counter()
    code = await client.exit()
    return f"exit code {code} in {time.perf_counter() - start:.2f}s; {popups(client)}"


CASES: list[tuple[str, Case, dict[str, Any]]] = [
    ("malformed JSON-RPC", malformed, {}),
    ("hover, position -1", invalid_params, {}),
    ("hover, never-opened untitled:", never_opened, {}),
    ("runAction, slow model", command_with_slow_model, {"diagnostics": {"enabled": False}}),
    ("200 open/close, reviews stalled", churn_then_hover, {"hover": {"timeoutMs": 60000}}),
    ("5 MB file", big_file, {}),
    # A hover timeout long enough for the whole 10 MB to arrive and be cut, so the row shows
    # the cut answer rather than the placeholder of the default 4 s.
    (
        "10 MB model answer",
        huge_answer,
        {"diagnostics": {"enabled": False}, "hover": {"timeoutMs": 120000}},
    ),
    ("shutdown during reviews", shutdown_during_review, {}),
]


async def run_case(name: str, case: Case, options: dict[str, Any]) -> tuple[str, str, str, str]:
    with tempfile.TemporaryDirectory() as tmp, FakeModelServer() as fake:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": tmp,
            "XDG_CONFIG_HOME": tmp,
            "LSPILOT_CACHE__DIR": str(Path(tmp) / "cache"),
            "LSPILOT_PROVIDER": "openai",
            "LSPILOT_BASE_URL": fake.url,
            "LSPILOT_MODEL": "test-model",
            "OPENAI_API_KEY": "bench-" + "key",
        }
        async with raw_session(env, ws, capabilities=CAPS, init_options=options) as client:
            start = time.perf_counter()
            try:
                seen = await case(client, ws, fake)
            except Exception as exc:
                seen = f"FAILED: {exc!r}"[:120]
            took = time.perf_counter() - start
            pid = client.process.pid
            rss = f"{rss_mb(pid):.0f} MB" if client.process.returncode is None else "exited"
            if client.process.returncode is None:
                await client.exit()
    return name, seen, f"{took:.2f}s", rss


async def main() -> None:
    rows = [await run_case(*case) for case in CASES]
    header = ("case", "what the user sees", "time", "RSS after")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    asyncio.run(main())
