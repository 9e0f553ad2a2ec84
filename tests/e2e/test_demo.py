"""`lspilot demo`: the real command, offline and against the fake model server.

It starts the real server, talks LSP to it and prints every section; these tests read that
output as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fakes.model_server import FakeModelServer

LSPILOT = [sys.executable, "-m", "lspilot"]
SECTIONS = [
    "== Engine ==",
    "== Hover (inventory.py) ==",
    "== Code actions ==",
    "== Document this (diff) ==",
    "== Generate code from comment (diff) ==",
    "== Diagnostics ==",
    "== Status ==",
]
GENERATED = (
    "low = [item.name for item in inventory.items.values() if item.quantity < threshold]\n"
    "return sorted(low)\n"
)


def demo(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LSPILOT, "demo", "--timeout", "60"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def between(output: str, start: str, end: str) -> str:
    """The text of one section."""
    return output.split(start, 1)[1].split(end, 1)[0]


def test_offline_demo_tours_every_section(workspace: Path, offline_env: dict[str, str]) -> None:
    result = demo(offline_env, workspace)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    positions = [out.index(title) for title in SECTIONS]
    assert positions == sorted(positions)  # every section, in order
    assert "\033[" not in out  # piped: plain text
    assert "engine: offline" in between(out, SECTIONS[0], SECTIONS[1])
    actions = between(out, SECTIONS[2], SECTIONS[3])
    assert "    Document reserve  [refactor.rewrite.lspilot.document]" in actions
    assert "Document 6 definitions" in actions
    document = between(out, SECTIONS[3], SECTIONS[4])
    assert "-- Document reserve (line 33):" in document
    assert "    +        Args:" in document and "    --- a/inventory.py" in document
    generate = between(out, SECTIONS[4], SECTIONS[5])
    assert "not offered: the offline engine cannot generate code" in generate
    diagnostics = between(out, SECTIONS[5], SECTIONS[6])
    assert (
        "inventory.py:48:5: warning: The docstring of `load_inventory` documents `strict`,"
        " which is not a parameter.  (has a fix)"
    ) in diagnostics
    assert "    Fix: The docstring of `load_inventory` documents `strict`" in diagnostics
    status = out.split(SECTIONS[6], 1)[1]
    assert "    engine    offline (model syntax-tree)" in status
    assert "Traceback" not in result.stderr


def answer(body: dict[str, Any]) -> str:
    """What the fake model says, by task (told apart by the system prompt)."""
    system = str(body["messages"][0]["content"])
    if system.startswith("You review code"):
        prompt = str(body["messages"][-1]["content"])
        if "count = available" in prompt:
            issue = {
                "quote": "count = available",
                "message": "A partial reservation is silent: callers cannot tell.",
                "severity": "warning",
            }
            return json.dumps({"issues": [issue]})
        return json.dumps({"issues": []})
    if system.startswith("You write documentation"):
        return (
            "Reserve stock of one item.\n\nArgs:\n    sku: The item.\n    count: How many.\n"
            "    strict: Whether to raise when too few are left.\n\nReturns:\n"
            "    How many were reserved."
        )
    if system.startswith("You write code"):
        return GENERATED
    return "It explains the code."


def test_demo_with_a_model_shows_generate_and_model_diagnostics(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    model_server.responder = answer
    result = demo(model_env, workspace)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "engine: openai  model: test-model" in out
    generate = between(out, SECTIONS[4], SECTIONS[5])
    assert "-- Generate code from comment (line 59):" in generate
    assert "    +    return sorted(low)" in generate
    document = between(out, SECTIONS[3], SECTIONS[4])
    assert '    +        """Reserve stock of one item.' in document
    diagnostics = between(out, SECTIONS[5], SECTIONS[6])
    assert "warning: A partial reservation is silent: callers cannot tell." in diagnostics
    status = out.split(SECTIONS[6], 1)[1]
    assert "    engine    openai (model test-model)" in status
    assert "test-key-not-a-secret" not in out + result.stderr


def test_help_has_examples() -> None:
    result = subprocess.run([*LSPILOT, "demo", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "examples:" in result.stdout
