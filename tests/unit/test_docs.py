"""The README and docs stay true: generated tables, links, commands and settings they name."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme and "make test" in readme


# ---- the docs stay true -------------------------------------------------------------------

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
COMMAND = re.compile(r"`lspilot ([a-z][a-z-]+)")
MAKE = re.compile(r"`make ([a-z][a-z0-9-]*)")
FILE_ENDINGS = {"py", "md", "toml", "json", "jsonl", "lua", "ts", "js", "el"}  # `usage.py`
SETTING = re.compile(r"`([a-z][A-Za-z]+(?:\.[a-z][A-Za-z]+)*)`")


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_configuration_page_matches_the_model() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == _load_tool("config_doc").page(), (
        "docs/configuration.md is stale: run `python tools/config_doc.py --write`"
    )


def test_the_docs_were_found() -> None:
    names = {p.name for p in DOCS}
    assert {"README.md", "architecture.md", "configuration.md", "neovim.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_command_named_exists(doc: Path) -> None:
    from lspilot.cli import SUBCOMMANDS

    text = doc.read_text(encoding="utf-8")
    unknown = sorted(set(COMMAND.findall(text)) - set(SUBCOMMANDS))
    assert unknown == []
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    assert sorted(set(MAKE.findall(text)) - targets) == []


@pytest.mark.parametrize("doc", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_setting_named_exists(doc: Path) -> None:
    from lspilot.settings.keys import LEAVES

    sections = {key.split(".")[0] for key in LEAVES if "." in key}
    known = set(LEAVES) | sections
    unknown = sorted(
        name
        for name in SETTING.findall(doc.read_text(encoding="utf-8"))
        # A name that starts like a setting (a section, or a dotted top-level key) must be one.
        if name.rsplit(".", 1)[-1] not in FILE_ENDINGS
        and (name.split(".")[0] in sections or (name.split(".")[0] in LEAVES and "." in name))
        and name not in known
    )
    assert unknown == []


def _folded(text: str) -> str:
    return " ".join(text.replace("`", "").replace("*", "").split()).lower()


def test_troubleshooting_explains_every_message() -> None:
    found = _load_tool("messages").messages()
    assert len(found) > 40  # the extractor still sees the code's messages
    page = _folded((ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8"))
    missing = sorted({m.fragment for m in found if _folded(m.fragment) not in page})
    assert missing == [], "add these messages to docs/troubleshooting.md"
