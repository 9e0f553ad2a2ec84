"""Benchmark 4, tokens per editing session: lspilot vs "the whole file after each debounced change".

A scripted, seeded replay of several hundred edits over three Python files (~300, ~1,500 and
~3,000 lines) with saves goes through the real server against the fake model, which reports
one issue for every seeded bug it is shown. lspilot's requests and prompt tokens (the fake's
estimate, ~4 characters a token, system prompt included) are compared with ai-lsp's policy on
the same replay: one request per debounced change (and per save) carrying the whole file
(file text only: the baseline is not charged for any prompt around it). The run also checks
that every seeded issue is still reported at the end.

Every third function calls a helper of another workspace file (helpers.py, on disk, never
opened), so lspilot's prompts carry the review context (the helper's signature and
docstring) that the baseline does not send.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from typing import Any

from common import (
    OURS,
    FakeModelServer,
    Figure,
    Reply,
    Session,
    fake_model,
    is_review,
    model_env,
    prompt_of,
    python_module,
    scratch,
    session,
    settled,
)

FILES = {"small.py": 15, "medium.py": 75, "large.py": 150}  # functions of ~21 lines
FUNCTION_LINES = 20
SEED_EVERY = 9
EDITS = 400
BURST = (3, 12)  # keystrokes per burst, then a pause the debounce sees as "typing stopped"
IDLE_MS = 150
PAUSE_S = 0.3
SAVE_EVERY = 8  # bursts
_SEED = re.compile(r"seeded_bug_(\w+?) = ")
CALL_EVERY = 3  # functions calling the helper of another file
HELPERS = '''def clamp(value: float, low: float = 0.0, high: float = 1e9) -> float:
    """Clamp value into [low, high]."""
    return max(low, min(high, value))
'''


def _module(functions: int, tag: str) -> str:
    """The benchmark's module: every `CALL_EVERY`-th function returns through `clamp`."""
    text = python_module(functions, FUNCTION_LINES, SEED_EVERY, tag)
    out, number = [], -1
    for line in text.split("\n"):
        if line.startswith("def "):
            number += 1
        if line == "    return total" and number % CALL_EVERY == 0:
            line = "    return clamp(total)"
        out.append(line)
    return "\n".join(out).replace("import math\n", "import math\n\nfrom helpers import clamp\n", 1)


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4  # the fake model server's own estimate


def _review_model(body: dict[str, Any]) -> Reply | str:
    if not is_review(body):
        return "An explanation."
    prompt = prompt_of(body)
    issues = [
        {
            "quote": m.group(0).rstrip(" ="),
            "message": f"Seeded bug {m.group(1)}.",
            "severity": "warning",
        }
        for m in _SEED.finditer(prompt)
    ]
    return json.dumps({"issues": issues})


def _seeded(texts: dict[str, str]) -> set[str]:
    return {m.group(1) for text in texts.values() for m in _SEED.finditer(text)}


def _reported(sess: Session) -> set[str]:
    found = set()
    for items in sess.diagnostics.values():
        for d in items:
            m = re.search(r"Seeded bug (\w+)\.", d.message)
            if m:
                found.add(m.group(1))
    return found


async def _replay(
    sess: Session, root: Any, rng: random.Random, fake: FakeModelServer
) -> tuple[int, int, tuple[int, int], int]:
    """The scripted session: the baseline's (requests, prompt tokens), and ours after opening."""
    texts = {name: _module(n, name[0]) for name, n in FILES.items()}
    uris = {name: sess.open(root / name, text) for name, text in texts.items()}
    await settled(fake)  # the first review of each file, which both policies pay
    opened = _count(fake)
    lines = {name: text.splitlines() for name, text in texts.items()}
    edits = bursts = saves = 0
    base_open = sum(_tokens(t) for t in texts.values())  # ai-lsp reviews each file on open
    baseline_tokens = base_open
    while edits < EDITS:
        name = rng.choice(list(FILES))
        body = [i for i, line in enumerate(lines[name]) if line.startswith("    total +=")]
        line = rng.choice(body)
        count = rng.randint(*BURST)
        for _ in range(count):  # type a comment at the end of the line
            column = len(lines[name][line])
            char = "#" if not lines[name][line].rstrip().endswith(("#", "x")) else "x"
            sess.insert(uris[name], line, column, char)
            lines[name][line] += char
            edits += 1
            await asyncio.sleep(0.01)
        bursts += 1
        await asyncio.sleep(PAUSE_S)  # debounced: one review request for the baseline
        baseline_tokens += _tokens("\n".join(lines[name]) + "\n")
        if bursts % SAVE_EVERY == 0:
            sess.save(uris[name])
            saves += 1
            baseline_tokens += _tokens("\n".join(lines[name]) + "\n")
    sess.files = {name: "\n".join(lines[name]) + "\n" for name in FILES}  # type: ignore[attr-defined]
    return bursts + saves + len(FILES), baseline_tokens, opened, base_open


async def run() -> list[Figure]:
    """Benchmark 4."""
    rng = random.Random(13)
    with fake_model(_review_model) as fake, scratch() as root:
        (root / "helpers.py").write_text(HELPERS)  # indexed before the files are opened
        env = model_env(root.parent, fake, LSPILOT_DIAGNOSTICS__IDLE_MS=str(IDLE_MS))
        async with session(OURS, env, root) as sess:
            base_requests, base_tokens, opened, base_open = await _replay(sess, root, rng, fake)
            seeded = _seeded(sess.files)  # type: ignore[attr-defined]
            await sess.wait_diagnostics(lambda _: _reported(sess) >= seeded, 120)
            missing = seeded - _reported(sess)
        requests, tokens = _count(fake)
    found = len(seeded) - len(missing)
    note = f"{EDITS} edits, 3 files; seeded issues reported: {found}/{len(seeded)}"
    return [
        Figure(
            "tokens", "model requests per session", requests, base_requests, "requests", "", note
        ),
        Figure(
            "tokens",
            "prompt tokens per session",
            tokens,
            base_tokens,
            "tokens",
            "ratio <= 0.1 (>= 10x fewer)",
            note,
        ),
        Figure(
            "tokens",
            "prompt tokens for the edits (after opening)",
            tokens - opened[1],
            base_tokens - base_open,
            "tokens",
            "",
            note,
        ),
        Figure("tokens", "seeded issues missing", len(missing), None, "issues", "0", note),
    ]


def _count(fake: FakeModelServer) -> tuple[int, int]:
    chats = fake.chat_requests()
    return len(chats), sum(_tokens(fake.prompt_text(r)) for r in chats)
