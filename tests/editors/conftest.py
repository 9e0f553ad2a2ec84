"""Shared pieces of the real-editor tests (``make test-editors``; marked ``editors``).

The editors run against the real lspilot server, which talks to the fake OpenAI-compatible
model server (``tests/fakes/model_server.py``) on 127.0.0.1: no key, no cloud. The fake answers
by task (it reads the system prompt), so hover, *Document this* and review diagnostics get
known text the tests can look for.

Every editor process and every server it starts carries ``LSPILOT_EDITOR_TEST_RUN=<id>`` in its
environment; :func:`kill_marked` ends whatever is left of a run, whatever the editor did.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.model_server import FakeModelServer, message_text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = HERE / "artifacts"
SAMPLE = (HERE / "sample.py.txt").read_text(encoding="utf-8")
MARKER_ENV = "LSPILOT_EDITOR_TEST_RUN"
TEST_MODEL = "test-model"
FAKE_API_KEY = "test-key-not-a-secret"

EXPLANATION = "FAKE-EXPLANATION: greet repeats a greeting with the name, times over."
DOCSTRING = (
    "Shout the text after a label.\n\n"
    "Args:\n    text: What to shout.\n\n"
    "Returns:\n    The label followed by the text in capitals."
)
# Doc comments for the other languages' samples (the first line is DOCSTRING's).
DOC_COMMENTS = {
    "typescript": "Shout the text after a label.\n\n@param text - What to shout.\n"
    "@returns The label followed by the text in capitals.",
    "go": "Shout the text after a label: the label, then the text in capitals.",
}
REVIEW_QUOTE = "loud = text.upper()"
REVIEW_MESSAGE = "FAKE-REVIEW: upper() loses the original casing of the text."


def editor_responder(body: dict[str, Any]) -> str:
    """Answer a chat completion by task, recognised from the system prompt."""
    messages = body.get("messages") or []
    system = " ".join(message_text(m) for m in messages if m.get("role") == "system").lower()
    user = "\n".join(message_text(m) for m in messages if m.get("role") != "system")
    if "review" in system:
        issues = []
        if REVIEW_QUOTE in user:
            issues.append(
                {
                    "quote": REVIEW_QUOTE,
                    "message": REVIEW_MESSAGE,
                    "severity": "warning",
                    "fix": None,
                }
            )
        return json.dumps({"issues": issues})
    if "documentation" in system or "docstring" in system:
        for language, doc in DOC_COMMENTS.items():
            if f"({language})." in user:
                return doc
        return DOCSTRING
    if "explain" in system:
        return EXPLANATION
    return "pass"


@pytest.fixture
def model() -> Iterator[FakeModelServer]:
    """The fake model server, answering every task of the editor tests."""
    with FakeModelServer(models=[TEST_MODEL]) as server:
        server.responder = editor_responder
        yield server


@pytest.fixture
def run_marker() -> Iterator[str]:
    """A unique id in the environment of every process of this test; they die with it."""
    marker = uuid.uuid4().hex
    yield marker
    kill_marked(marker)


@pytest.fixture
def editor_env(
    isolated_env: dict[str, str], model: FakeModelServer, run_marker: str
) -> dict[str, str]:
    """The environment of an editor (and so of the server it starts)."""
    venv_bin = str(Path(sys.executable).parent)
    tools_bin = str(ROOT / ".tools" / "bin")
    return {
        **isolated_env,
        "PATH": os.pathsep.join([venv_bin, tools_bin, isolated_env.get("PATH", os.defpath)]),
        "LSPILOT_PROVIDER": "openai",
        "LSPILOT_BASE_URL": model.url,
        "LSPILOT_MODEL": TEST_MODEL,
        "OPENAI_API_KEY": FAKE_API_KEY,
        MARKER_ENV: run_marker,
    }


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """tests/editors/artifacts/<test name>/ (git-ignored), emptied first."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file():
            old.unlink()
    return folder


def marked_pids(marker: str) -> list[int]:
    """Processes whose environment carries ``LSPILOT_EDITOR_TEST_RUN=marker``."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_marked(marker: str) -> list[int]:
    """SIGKILL every process of the run (editor, servers, helpers); returns their pids."""
    pids = marked_pids(marker)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return pids
