"""lspilot's VS Code extension activates for TypeScript and Go files in a real VS Code.

One code-server (``code_server`` from test_vscode.py) with the built .vsix; two folders, one
with a TypeScript file, one with a Go file (the samples of test_neovim_languages.py: emoji and
CJK before the code the features touch) and nothing else lspilot knows. Each folder is a VS
Code window of its own, so an extension host of its own: the extension can only start there
because of the language of the file opened (its ``activationEvents``), and VS Code's extension
host log must say ``onLanguage:typescript`` / ``onLanguage:go``. In each window, on the UI:
the language mode VS Code picked, the status bar item of a running server, the review
diagnostic in the Problems panel at the quoted code, the hover explanation, the lightbulb menu
listing lspilot's *Document* and *Explain* actions, and *Document shout* writing the TSDoc / Go
doc comment into the buffer (saved, and read back here exactly). Screenshots:
tests/editors/artifacts/<test>/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.fakes.model_server import FakeModelServer

from .conftest import EXPLANATION, REVIEW_MESSAGE, REVIEW_QUOTE
from .test_neovim import _line_of
from .test_neovim_languages import SAMPLES
from .test_vscode import _utf16_column, code_server

pytestmark = pytest.mark.editors

# VS Code's language id -> (the status bar's language mode, an extra file a project has).
LANGUAGES = {
    "typescript": ("TypeScript", ("package.json", '{ "name": "greetings", "private": true }\n')),
    "go": ("Go", ("go.mod", "module example.com/greetings\n\ngo 1.22\n")),
}
ACTIVATION = re.compile(
    r"_doActivateExtension lspilot\.lspilot, startup: \w+, activationEvent: '([^']+)'"
)


def test_vscode_extension_in_typescript_and_go(
    tmp_path: Path,
    editor_env: dict[str, str],
    model: FakeModelServer,
    run_marker: str,
    artifacts: Path,
) -> None:
    sources: dict[str, Path] = {}
    windows = []
    for language, (mode, (extra, extra_text)) in LANGUAGES.items():
        name, function, text, _doc = SAMPLES[language]
        folder = tmp_path / f"project-{language}"
        folder.mkdir()
        (folder / extra).write_text(extra_text, encoding="utf-8")
        sources[language] = folder / name
        sources[language].write_text(text, encoding="utf-8")
        lines = text.splitlines()
        greet = "greet(" if language == "typescript" else "Greet("
        hover_line = _line_of(text, f'"🚀 " + {greet}')
        action_line = _line_of(text, f" {function}(text")
        windows.append(
            {
                "id": language,
                "folder": str(folder),
                "file_name": name,
                "language_mode": mode,
                "status_text": "lspilot: openai",
                "review_message": REVIEW_MESSAGE,
                "hover": {
                    "line": hover_line + 1,
                    "column": _utf16_column(lines[hover_line], greet) + 2,
                    "expect": EXPLANATION,
                },
                "action": {
                    "line": action_line + 1,
                    "column": 3,
                    "title": f"Document {function}",
                    "also": [f"Explain {function}"],
                    "expect": "Shout the text after a label",
                },
            }
        )

    with code_server(editor_env, run_marker, artifacts) as vscode:
        for window in windows:
            window["url"] = vscode.url(Path(window["folder"]))
        result = vscode.drive(windows, tmp_path / "result.json")
        host_logs = [p.read_text(encoding="utf-8", errors="replace") for p in vscode.logs("*.log")]

    # One activation per window, each by the language of the file opened there.
    events = sorted(e for log in host_logs for e in ACTIVATION.findall(log))
    assert events == ["onLanguage:go", "onLanguage:typescript"], events

    for language, (mode, _extra) in LANGUAGES.items():
        _name, function, text, doc = SAMPLES[language]
        seen = result["windows"][language]
        assert seen["language_mode"] == mode
        assert "lspilot: openai" in seen["status_text"]
        assert REVIEW_MESSAGE in seen["problem"]
        # At the quoted code: Monaco's line and UTF-16 column, as the Problems panel shows them.
        review_line = _line_of(text, REVIEW_QUOTE)
        column = _utf16_column(text.splitlines()[review_line], REVIEW_QUOTE)
        assert f"[Ln {review_line + 1}, Col {column}]" in seen["problem"], seen["problem"]
        assert EXPLANATION in seen["hover"]
        assert f"Document {function}" in seen["menu"], seen["menu"]
        assert f"Explain {function}" in seen["menu"], seen["menu"]
        # The doc comment right above the function (saved by VS Code); nothing else changed.
        header = text.splitlines()[_line_of(text, f" {function}(text")]
        expected = text.replace(header + "\n", doc + header + "\n", 1)
        assert sources[language].read_text(encoding="utf-8") == expected
    assert model.chat_requests
