"""Which files `lspilot check` reviews: walk the paths, honour `.gitignore` and exclusions.

Folders are walked in sorted order (stable output); `.gitignore` files are read at every
level, from the repository root (the nearest folder above with `.git`) down, plus
`.git/info/exclude`, with pathspec's gitignore semantics — a deeper file's verdict wins, as
in git. Files named explicitly are reviewed even when git ignores them (the user asked), but
privacy exclusions (`privacy.exclude`, `.lspilotignore`) always apply: they keep secrets
from the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

#: Folders never walked into: version control, caches, virtual environments, dependencies.
ALWAYS_SKIPPED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "node_modules",
        ".venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)


# Passed in as callables, so this module needs neither the settings nor the syntax layer.
ExcludedFn = Callable[[Path], "str | None"]
LanguageFn = Callable[[str], "str | None"]


@dataclass
class Selection:
    """The files to review (absolute paths), and those left out with the reason."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Ignore:
    base: Path
    spec: pathspec.GitIgnoreSpec


def _read_spec(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds `.git`."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


class GitIgnore:
    """The `.gitignore` rules that apply to files under one folder tree."""

    def __init__(self, start: Path) -> None:
        self._rules: list[_Ignore] = []
        repo = repository_root(start)
        if repo is not None:
            exclude = _read_spec(repo / ".git" / "info" / "exclude")
            if exclude is not None:
                self._rules.append(_Ignore(repo, exclude))
            # The .gitignore files above `start`, outermost first, as git reads them.
            above = [start, *start.parents]
            for folder in reversed(above[: above.index(repo) + 1]):
                self.add_folder(folder)
        else:
            self.add_folder(start)

    def add_folder(self, folder: Path) -> None:
        """Read `folder/.gitignore` if there is one (idempotent)."""
        if any(rule.base == folder for rule in self._rules):
            return
        spec = _read_spec(folder / ".gitignore")
        if spec is not None:
            self._rules.append(_Ignore(folder, spec))

    def ignored(self, path: Path, is_dir: bool = False) -> bool:
        """Whether git would ignore `path`: the deepest rule that has an opinion wins."""
        verdict = False
        for rule in sorted(self._rules, key=lambda r: len(r.base.parts)):
            try:
                rel = path.relative_to(rule.base).as_posix()
            except ValueError:
                continue
            result = rule.spec.check_file(rel + ("/" if is_dir else ""))
            if result.include is not None:
                verdict = bool(result.include)
        return verdict


def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


def walk(folder: Path, gitignore: GitIgnore) -> Iterator[Path]:
    """Every file under `folder` git would not ignore, in sorted order."""
    for current, dirs, files in os.walk(folder):
        here = Path(current)
        gitignore.add_folder(here)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in ALWAYS_SKIPPED
            and not _is_virtualenv(here / d)
            and not gitignore.ignored(here / d, is_dir=True)
        )
        for name in sorted(files):
            path = here / name
            if not gitignore.ignored(path):
                yield path


def select(paths: Iterable[Path], excluded: ExcludedFn, language_of: LanguageFn) -> Selection:
    """The files to review under `paths`, with what was skipped and why."""
    selection = Selection()
    seen: set[Path] = set()

    def consider(path: Path, explicit: bool) -> None:
        if path in seen:
            return
        seen.add(path)
        if language_of(str(path)) is None:
            if explicit:
                selection.skipped.append((path, "not a language lspilot reviews"))
            return
        reason = excluded(path)
        if reason:
            selection.skipped.append((path, reason))
            return
        selection.files.append(path)

    for given in paths:
        path = given.expanduser().absolute()
        if path.is_dir():
            for found in walk(path, GitIgnore(path)):
                consider(found, explicit=False)
        elif path.is_file():
            consider(path, explicit=True)
        else:
            selection.missing.append(given)
    return selection
