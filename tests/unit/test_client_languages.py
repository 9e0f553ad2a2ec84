"""The editor clients and ready configs start lspilot for every language it has a grammar for."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from lspilot.syntax import LANGUAGES, language_of

ROOT = Path(__file__).resolve().parents[2]
# The editors' language ids (VS Code's, which Neovim's filetypes match) for our languages.
EDITOR_IDS = [
    "python", "javascript", "javascriptreact", "typescript", "typescriptreact",
    "go", "rust", "java", "c", "cpp",
]  # fmt: skip


def test_every_editor_id_is_a_syntax_language_and_every_language_has_an_id() -> None:
    found = {language_of("file:///x", language_id) for language_id in EDITOR_IDS}
    assert found == set(LANGUAGES)


@pytest.mark.parametrize(
    ("suffix", "language"),
    [(".ts", "typescript"), (".tsx", "tsx"), (".go", "go"), (".rs", "rust"),
     (".java", "java"), (".c", "c"), (".h", "c"), (".cpp", "cpp"), (".hpp", "cpp"),
     (".jsx", "javascript")],
)  # fmt: skip
def test_file_suffixes(suffix: str, language: str) -> None:
    assert language_of(f"file:///src/a{suffix}") == language


def test_vscode_activates_and_selects_every_language() -> None:
    package = json.loads((ROOT / "clients/vscode/package.json").read_text(encoding="utf-8"))
    assert [f"onLanguage:{i}" for i in EDITOR_IDS] == package["activationEvents"]
    source = (ROOT / "clients/vscode/src/extension.ts").read_text(encoding="utf-8")
    block = re.search(r"export const LANGUAGES = \[(.*?)\];", source, re.S)
    assert block is not None
    assert re.findall(r"'([\w]+)'", block.group(1)) == EDITOR_IDS


def test_neovim_plugin_filetypes() -> None:
    source = (ROOT / "clients/neovim/lua/lspilot/init.lua").read_text(encoding="utf-8")
    block = re.search(r"filetypes = \{(.*?)\}", source, re.S)
    assert block is not None
    assert re.findall(r"'([\w]+)'", block.group(1)) == EDITOR_IDS


def test_ready_configs_name_the_new_languages() -> None:
    helix = tomllib.loads((ROOT / "editors/helix/languages.toml").read_text(encoding="utf-8"))
    assert {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp"} <= {
        lang["name"] for lang in helix["language"] if "lspilot" in lang["language-servers"]
    }
    kak = tomllib.loads((ROOT / "editors/kakoune/kak-lsp.toml").read_text(encoding="utf-8"))
    assert {"go", "rust", "java", "c", "cpp"} <= set(kak["language_server"]["lspilot"]["filetypes"])
    zed = json.loads((ROOT / "editors/zed/settings.json").read_text(encoding="utf-8"))
    assert {"Go", "Rust", "Java", "C", "C++", "TSX"} <= set(zed["languages"])
    emacs = (ROOT / "editors/emacs/lspilot.el").read_text(encoding="utf-8")
    assert all(mode in emacs for mode in ("go-ts-mode", "rust-ts-mode", "java-ts-mode", "c++-mode"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "filetypes = { 'python', 'javascript', 'typescript', 'go', 'rust'" in readme
