"""lspilot's Neovim plugin attaches to TypeScript and Go buffers in a real headless Neovim.

The same driver as test_neovim.py (``nvim_driver.lua``): the plugin on the runtimepath and
nothing but ``vim.lsp.enable('lspilot')``; Neovim's own filetype detection names the buffer
``typescript`` or ``go``, so the plugin's filetypes list is what is tested. Then hover, a
review diagnostic at the right byte column (after emoji and CJK), and *Document shout* putting
the language's doc comment above the function.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fakes.model_server import FakeModelServer

from .conftest import DOC_COMMENTS, EXPLANATION, REVIEW_MESSAGE, REVIEW_QUOTE, ROOT
from .test_neovim import WAIT_MS, _byte_col, _line_of, run_nvim

pytestmark = pytest.mark.editors

SAMPLES = {
    "typescript": (
        "greetings.ts",
        "shout",
        """// Greetings — 你好, héllo 🚀.
export function greet(name: string, times: number): string {
  return `Hello ${name}! `.repeat(times);
}

export function shout(text: string): string {
  let loud: string;
  loud = text.upper(); // 📣 大声
  return "📣 " + loud;
}

export const banner = "🚀 " + greet("世界", 2);
""",
        "/**\n * Shout the text after a label.\n *\n * @param text - What to shout.\n"
        " * @returns The label followed by the text in capitals.\n */\n",
    ),
    "go": (
        "greetings.go",
        "Shout",
        """package greetings

import "strings"

// Greet greets someone — 你好, héllo 🚀.
func Greet(name string, times int) string {
\treturn strings.Repeat("Hello "+name+"! ", times)
}

func Shout(text string) string {
\tvar loud string
\tloud = text.upper() // 📣 大声
\treturn "📣 " + loud
}

var banner = "🚀 " + Greet("世界", 2)
""",
        f"// {DOC_COMMENTS['go']}\n",
    ),
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_neovim_plugin_in_typescript_and_go(
    language: str,
    tmp_path: Path,
    editor_env: dict[str, str],
    model: FakeModelServer,
    run_marker: str,
    artifacts: Path,
) -> None:
    name, function, text, doc = SAMPLES[language]
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / ".git").mkdir()
    source = workspace / name
    source.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    greet = "greet(" if language == "typescript" else "Greet("
    hover_line = _line_of(text, f'"🚀 " + {greet}')
    action_line = _line_of(text, f" {function}(text")
    review_line = _line_of(text, REVIEW_QUOTE)
    spec = {
        "plugin": str(ROOT / "clients" / "neovim"),
        "file": str(source),
        "result": str(tmp_path / "result.json"),
        "timeout_ms": WAIT_MS,
        "hover": {
            "line": hover_line,
            "col": _byte_col(lines[hover_line], greet) + 2,
            "expect": EXPLANATION,
        },
        "action": {
            "line": action_line,
            "col": 2,
            "title": f"Document {function}",
            "expect": doc.splitlines()[0].lstrip("/* "),
        },
    }

    result = run_nvim(spec, editor_env, workspace, run_marker)
    (artifacts / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    failed = [s for s in result["steps"] if not s["ok"]]
    assert not failed, json.dumps(
        {k: result.get(k) for k in ("steps", "messages", "action_titles", "nvim_output")},
        indent=2,
        ensure_ascii=False,
    )

    assert result["cmd"][0] == "lspilot"
    assert EXPLANATION in result["hover"]
    ours = [d for d in result["diagnostics"] if REVIEW_MESSAGE in d["message"]]
    assert ours, result["diagnostics"]
    column = _byte_col(lines[review_line], REVIEW_QUOTE)
    assert (ours[0]["lnum"], ours[0]["col"]) == (review_line, column)
    assert ours[0]["end_col"] == column + len(REVIEW_QUOTE.encode())

    # The doc comment lands right above the function; nothing else changed.
    header = lines[action_line]
    assert result["text"] == text.replace(header + "\n", doc + header + "\n", 1)
