"""Which files `lspilot check` picks: .gitignore semantics, skipped folders, exclusions."""

from __future__ import annotations

from pathlib import Path

from lspilot.cli.check.files import GitIgnore, select
from lspilot.syntax import language_of


def make(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def picked(root: Path, *paths: Path, excluded=lambda p: None) -> list[str]:  # type: ignore[no-untyped-def]
    selection = select(list(paths) or [root], excluded, language_of)
    return sorted(p.relative_to(root).as_posix() for p in selection.files)


def test_nested_gitignore_and_negation(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    make(
        tmp_path,
        {
            ".gitignore": "*.gen.py\nout/\n",
            "a.py": "",
            "a.gen.py": "",
            "out/b.py": "",
            "sub/.gitignore": "!keep.gen.py\nlocal.py\n",
            "sub/keep.gen.py": "",
            "sub/drop.gen.py": "",
            "sub/local.py": "",
            "sub/c.py": "",
            "notes.txt": "",
        },
    )
    assert picked(tmp_path) == ["a.py", "sub/c.py", "sub/keep.gen.py"]
    # Walking a subfolder still honours the .gitignore files above it, up to the repository.
    assert picked(tmp_path, tmp_path / "sub") == ["sub/c.py", "sub/keep.gen.py"]


def test_info_exclude_and_always_skipped_folders(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            ".git/info/exclude": "scratch.py\n",
            "scratch.py": "",
            "main.py": "",
            "node_modules/x.js": "",
            "env/pyvenv.cfg": "",
            "env/lib/site.py": "",
            "__pycache__/m.py": "",
            "web/app.js": "",
        },
    )
    assert picked(tmp_path) == ["main.py", "web/app.js"]


def test_explicit_files_skip_gitignore_but_not_exclusions(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "gen.py\n", "gen.py": "", "secret.py": "", "x.txt": ""})
    selection = select(
        [tmp_path / "gen.py", tmp_path / "secret.py", tmp_path / "x.txt", tmp_path / "nope.py"],
        lambda p: "private" if p.name == "secret.py" else None,
        language_of,
    )
    assert [p.name for p in selection.files] == ["gen.py"]
    assert [(p.name, r) for p, r in selection.skipped] == [
        ("secret.py", "private"),
        ("x.txt", "not a language lspilot reviews"),
    ]
    assert selection.missing == [tmp_path / "nope.py"]


def test_without_a_repository_the_walked_folder_gitignore_applies(tmp_path: Path) -> None:
    make(tmp_path, {".gitignore": "skip/\n", "skip/a.py": "", "b.py": ""})
    assert GitIgnore(tmp_path).ignored(tmp_path / "skip", is_dir=True)
    assert picked(tmp_path) == ["b.py"]
