"""The ready-made editor configs in editors/ parse, start `lspilot serve`, and name only
settings the server has (validated against the settings model, unknown keys rejected)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lspilot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EDITORS = ROOT / "editors"
DOCS = ROOT / "docs" / "editors"
COMMAND = ["lspilot", "serve"]


def _valid_settings(block: Any) -> None:
    """The block is a mapping of lspilot settings the model accepts (extra keys forbidden)."""
    assert isinstance(block, dict) and block, block
    Settings.model_validate(block)


def _strip_json_comments(text: str) -> str:
    """Sublime's settings are JSON with // comments (outside strings)."""
    out, in_string, escape, i = [], False, False, 0
    while i < len(text):
        ch = text[i]
        if in_string:
            out.append(ch)
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
            out.append(ch)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# ---- a small Emacs Lisp reader: enough to check balance and read the forms ------------------


class Sym(str):
    """A Lisp symbol (or keyword, starting with ':')."""


_TOKEN = re.compile(
    r"""\s+|;[^\n]*|"(?:[^"\\]|\\.)*"|,@|[()\[\]'`,]|\?\\?.|[^\s()\[\]"';`,]+""", re.S
)


def read_elisp(text: str) -> list[Any]:
    """Read every form; raises ValueError on unbalanced parens or brackets."""
    tokens = [t for t in _TOKEN.findall(text) if t.strip() and not t.startswith(";")]
    assert "".join(_TOKEN.findall(text)) == text, "unreadable characters"
    pos = 0

    def form() -> Any:
        nonlocal pos
        if pos >= len(tokens):
            raise ValueError("unexpected end of input (unbalanced)")
        tok = tokens[pos]
        pos += 1
        if tok in ("(", "["):
            close = ")" if tok == "(" else "]"
            items = []
            while True:
                if pos >= len(tokens):
                    raise ValueError(f"missing {close!r}")
                if tokens[pos] == close:
                    pos += 1
                    return items if tok == "(" else tuple(items)
                items.append(form())
        if tok in (")", "]"):
            raise ValueError(f"unexpected {tok!r}")
        if tok in ("'", "`", ",", ",@"):
            return [Sym("quote"), form()]
        if tok.startswith('"'):
            return json.loads(tok)
        if re.fullmatch(r"-?\d+(\.\d+)?", tok):
            return float(tok) if "." in tok else int(tok)
        return Sym(tok)

    forms = []
    while pos < len(tokens):
        forms.append(form())
    return forms


def plist_to_dict(plist: Any) -> Any:
    """Eglot's JSON mapping: plists → objects, vectors → arrays, t → true, nil → null."""
    if isinstance(plist, list) and plist and isinstance(plist[0], Sym) and plist[0].startswith(":"):
        assert len(plist) % 2 == 0, plist
        return {str(k)[1:]: plist_to_dict(v) for k, v in zip(plist[::2], plist[1::2], strict=True)}
    if isinstance(plist, tuple):
        return [plist_to_dict(v) for v in plist]
    if plist == Sym("t"):
        return True
    if plist in (Sym("nil"), Sym(":json-false")):
        return None if plist == Sym("nil") else False
    return plist


def _find(forms: list[Any], head: str) -> list[list[Any]]:
    found = []
    for f in forms:
        if isinstance(f, list):
            if f and f[0] == Sym(head):
                found.append(f)
            found.extend(_find(f, head))
    return found


def _unquote(x: Any) -> Any:
    while isinstance(x, list) and len(x) == 2 and x[0] == Sym("quote"):
        x = x[1]
    return x


# ---- the configs --------------------------------------------------------------------------


def test_helix_languages_toml() -> None:
    data = tomllib.loads((EDITORS / "helix" / "languages.toml").read_text(encoding="utf-8"))
    server = data["language-server"]["lspilot"]
    assert [server["command"], *server["args"]] == COMMAND
    _valid_settings(server["config"]["lspilot"])
    by_name = {lang["name"]: lang for lang in data["language"]}
    assert "lspilot" in by_name["python"]["language-servers"]


def test_kakoune_kak_lsp_toml() -> None:
    data = tomllib.loads((EDITORS / "kakoune" / "kak-lsp.toml").read_text(encoding="utf-8"))
    server = data["language_server"]["lspilot"]
    assert [server["command"], *server["args"]] == COMMAND
    assert "python" in server["filetypes"]
    assert server["settings_section"] == "lspilot"
    _valid_settings(server["settings"]["lspilot"])


def test_zed_settings_json() -> None:
    data = json.loads((EDITORS / "zed" / "settings.json").read_text(encoding="utf-8"))
    server = data["lsp"]["lspilot"]
    assert [server["binary"]["path"], *server["binary"]["arguments"]] == COMMAND
    _valid_settings(server["settings"]["lspilot"])
    _valid_settings(server["initialization_options"]["lspilot"])
    assert "lspilot" in data["languages"]["Python"]["language_servers"]


def test_sublime_lsp_settings() -> None:
    text = (EDITORS / "sublime" / "LSP-lspilot.sublime-settings").read_text(encoding="utf-8")
    data = json.loads(_strip_json_comments(text))
    client = data["clients"]["lspilot"]
    assert client["enabled"] is True
    assert client["command"] == COMMAND
    assert "source.python" in client["selector"]
    _valid_settings(client["settings"]["lspilot"])
    _valid_settings(client["initializationOptions"]["lspilot"])


def test_emacs_eglot_lspilot_el() -> None:
    forms = read_elisp((EDITORS / "emacs" / "lspilot.el").read_text(encoding="utf-8"))
    assert [Sym("require"), [Sym("quote"), Sym("eglot")]] in forms
    assert [Sym("provide"), [Sym("quote"), Sym("lspilot")]] in forms
    command = next(f for f in _find(forms, "defcustom") if f[1] == Sym("lspilot-command"))
    assert _unquote(command[2]) == COMMAND
    registered = _find(forms, "add-to-list")
    assert any(_unquote(f[1]) == Sym("eglot-server-programs") for f in registered)
    config = next(
        f for f in _find(forms, "setq-default") if f[1] == Sym("eglot-workspace-configuration")
    )
    _valid_settings(plist_to_dict(_unquote(config[2]))["lspilot"])
    status = _find(forms, "jsonrpc-request")
    assert status and plist_to_dict(_unquote(status[0][3])) == {"command": "lspilot.status"}


@pytest.mark.parametrize("bad", ["(a (b)", "(a))", "[a (b])", '(a "b)'])
def test_elisp_reader_rejects_unbalanced(bad: str) -> None:
    with pytest.raises((ValueError, AssertionError)):
        read_elisp(bad)


def test_validation_rejects_unknown_settings() -> None:
    with pytest.raises(ValueError):
        _valid_settings({"modle": "x"})


@pytest.mark.parametrize(
    "editor", ["helix", "emacs", "zed", "sublime", "kakoune", "neovim", "vscode"]
)
def test_every_editor_has_a_guide(editor: str) -> None:
    guide = DOCS / f"{editor}.md"
    assert guide.exists(), guide
    assert "lspilot" in guide.read_text(encoding="utf-8")
