"""The workspace symbol index: what each file of the workspace defines, by module and name.

Built with the syntax layer (any language whose `Source` offers definitions), kept on disk
between sessions (one JSON file per workspace under the cache folder, each file keyed by its
path, mtime, size and content hash), and updated file by file as documents change, are
saved, are changed on disk or are renamed. Files that the privacy rules exclude (globs,
``.lspilotignore``) are never read and never stored.

Every method that reads or parses files blocks: call them from a worker thread. Lookups
(`lookup`, `find`, `stats`) only read memory and are cheap enough for the event loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("lspilot.context")

INDEX_FORMAT = 1
# Folders that hold tools, dependencies or build output, not the user's code.
SKIP_DIRS = frozenset(
    {
        "node_modules",
        "__pycache__",
        "site-packages",
        "venv",
        "build",
        "dist",
        "target",
    }
)
MAX_FILE_BYTES = 1_000_000

Excluded = Callable[[str], "str | None"]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Symbol:
    """One definition of a file: its signature and docstring, nothing of its body."""

    name: str
    kind: str  # function, class, method
    signature: str
    docstring: str | None = None
    container: str | None = None  # the class of a method


@dataclass
class FileEntry:
    """What one file defines, and what it looked like when it was read."""

    path: str  # relative to the root, posix
    module: str  # dotted module name ("pkg.helpers"); the path for non-Python files
    language: str
    mtime_ns: int = 0
    size: int = 0
    sha: str = ""
    symbols: list[Symbol] = field(default_factory=list)

    def symbol(self, name: str, container: str | None = None) -> Symbol | None:
        """The top-level symbol `name` (or the method `name` of class `container`)."""
        for symbol in self.symbols:
            if symbol.name == name and symbol.container == container:
                return symbol
        return None


def module_name(rel: str) -> str:
    """The dotted module of a Python file at `rel` ("pkg/__init__.py" → "pkg")."""
    parts = rel.split("/")
    last = parts[-1].rsplit(".", 1)[0]
    parts = parts[:-1] if last == "__init__" else [*parts[:-1], last]
    return ".".join(parts)


def symbols_of(text: str, language: str) -> list[Symbol]:
    """The top-level functions and classes of `text`, and the methods of its classes."""
    from lspilot.syntax import parse

    out: list[Symbol] = []
    for d in parse(text, language).definitions():
        if d.kind not in ("function", "class", "method"):
            continue
        if d.indent and d.kind != "method":
            continue  # nested helpers are private to their function
        out.append(Symbol(d.name, d.kind, d.signature, d.docstring, d.container))
    return out


class SymbolIndex:
    """The index of one workspace folder."""

    def __init__(
        self,
        root: Path,
        store: Path | None,
        excluded: Excluded,
        *,
        max_files: int = 5000,
    ) -> None:
        self.root = root
        self.store = store
        self.excluded = excluded
        self.max_files = max_files
        self._files: dict[str, FileEntry] = {}
        self._modules: dict[str, str] = {}  # module -> rel path
        self._lock = threading.Lock()
        self.ready = False
        self.counts = {"files": 0, "reused": 0, "parsed": 0, "skipped": 0}
        #: Bumped whenever what some file defines (signatures, docstrings) changes, so that
        #: contexts computed before can be told apart from current ones.
        self.generation = 0

    # ---- paths --------------------------------------------------------------------------

    def relative(self, path: Path | str) -> str | None:
        """`path` relative to the root (posix), or None when it lies outside."""
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except (ValueError, OSError):
            return None

    @staticmethod
    def language(rel: str) -> str | None:
        """The syntax language of a file name, if lspilot can parse it."""
        from lspilot.syntax import LANGUAGES, language_of

        language = language_of(rel)
        return language if language in LANGUAGES else None

    def candidates(self) -> list[str]:
        """Relative paths of the files to index (skipping tool, dependency and hidden dirs)."""
        found: list[str] = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                rel = Path(folder, name).relative_to(self.root).as_posix()
                if self.language(rel) is not None:
                    found.append(rel)
                    if len(found) >= self.max_files:
                        return found
        return found

    # ---- building -----------------------------------------------------------------------

    def build(self, progress: Progress | None = None) -> dict[str, int]:
        """Index the workspace, reusing what the stored index still knows (blocking)."""
        stored = self._load()
        counts = {"files": 0, "reused": 0, "parsed": 0, "skipped": 0}
        files = self.candidates()
        entries: dict[str, FileEntry] = {}
        for number, rel in enumerate(files, 1):
            entry, how = self._read(rel, stored.get(rel))
            counts[how] += 1
            if entry is not None:
                entries[rel] = entry
            if progress is not None:
                progress(number, len(files))
        counts["files"] = len(entries)
        with self._lock:
            # Documents updated from the editor while we scanned are newer than the disk.
            entries.update({rel: e for rel, e in self._files.items() if e.mtime_ns < 0})
            self._files = entries
            self._reindex_modules()
            self.generation += 1
            self.ready = True
            self.counts = counts
        self.save()
        return counts

    def _read(self, rel: str, known: FileEntry | None) -> tuple[FileEntry | None, str]:
        if self.excluded(rel):
            return None, "skipped"
        path = self.root / rel
        try:
            stat = path.stat()
            if stat.st_size > MAX_FILE_BYTES:
                return None, "skipped"
            if known and (known.mtime_ns, known.size) == (stat.st_mtime_ns, stat.st_size):
                return known, "reused"
            data = path.read_bytes()
        except OSError:
            return None, "skipped"
        sha = hashlib.sha256(data).hexdigest()
        if known and known.sha == sha:
            known.mtime_ns, known.size = stat.st_mtime_ns, stat.st_size
            return known, "reused"
        entry = self._entry(rel, data.decode("utf-8", errors="replace"))
        if entry is None:
            return None, "skipped"
        entry.mtime_ns, entry.size, entry.sha = stat.st_mtime_ns, stat.st_size, sha
        return entry, "parsed"

    def _entry(self, rel: str, text: str) -> FileEntry | None:
        language = self.language(rel)
        if language is None:
            return None
        try:
            symbols = symbols_of(text, language)
        except Exception:  # one file the parser trips on must not stop the index
            log.debug("could not index %s", rel, exc_info=True)
            return None
        module = module_name(rel) if language == "python" else rel
        return FileEntry(rel, module, language, symbols=symbols)

    def _reindex_modules(self) -> None:
        modules: dict[str, str] = {}
        for rel, entry in self._files.items():
            modules[entry.module] = rel
            if entry.module.startswith("src."):
                modules.setdefault(entry.module.removeprefix("src."), rel)
        self._modules = modules

    # ---- updates ------------------------------------------------------------------------

    def update_text(self, path: Path | str, text: str) -> bool:
        """Index the editor's text of `path` (newer than the disk); False when not indexed."""
        rel = self.relative(path)
        if rel is None or self.language(rel) is None:
            return False
        if len(text) > MAX_FILE_BYTES:  # as on disk: parsing megabytes for an index entry
            return False
        if self.excluded(rel):
            self.remove(path)
            return False
        entry = self._entry(rel, text)
        if entry is None:
            return False
        entry.mtime_ns = -1  # from the editor: the next scan must not replace it with the disk
        self._put(rel, entry)
        return True

    def update_path(self, path: Path | str) -> bool:
        """Read `path` from disk again (created or changed); False when it is not indexed."""
        rel = self.relative(path)
        if rel is None or self.language(rel) is None:
            return False
        entry, _ = self._read(rel, None)
        if entry is None:
            self.remove(path)
            return False
        self._put(rel, entry)
        return True

    def remove(self, path: Path | str) -> None:
        """Forget `path` (deleted, renamed away, or excluded)."""
        rel = self.relative(path)
        with self._lock:
            if rel is not None and self._files.pop(rel, None) is not None:
                self._reindex_modules()
                self.generation += 1

    def rename(self, old: Path | str, new: Path | str) -> None:
        """`old` is now `new`."""
        self.remove(old)
        self.update_path(new)

    def refilter(self) -> int:
        """Drop entries the (changed) privacy rules now exclude; how many were dropped."""
        with self._lock:
            gone = [rel for rel in self._files if self.excluded(rel)]
            for rel in gone:
                del self._files[rel]
            if gone:
                self._reindex_modules()
                self.generation += 1
        return len(gone)

    def _put(self, rel: str, entry: FileEntry) -> None:
        with self._lock:
            old = self._files.get(rel)
            self._files[rel] = entry
            if old is None or old.symbols != entry.symbols or old.module != entry.module:
                self._reindex_modules()
                self.generation += 1

    # ---- lookups ------------------------------------------------------------------------

    def module(self, name: str) -> FileEntry | None:
        """The file of Python module `name`, if it is in the workspace."""
        rel = self._modules.get(name)
        return self._files.get(rel) if rel else None

    def entry(self, path: Path | str) -> FileEntry | None:
        """The entry of the file at `path`."""
        rel = self.relative(path)
        return self._files.get(rel) if rel else None

    def find(self, name: str, language: str) -> list[tuple[FileEntry, Symbol]]:
        """Top-level symbols called `name` in files of `language`."""
        with self._lock:
            entries = list(self._files.values())
        return [
            (entry, symbol)
            for entry in entries
            if entry.language == language
            for symbol in entry.symbols
            if symbol.name == name and symbol.container is None
        ]

    def stats(self) -> dict[str, Any]:
        """Counts for the status."""
        return {**self.counts, "files": len(self._files), "ready": self.ready}

    # ---- persistence --------------------------------------------------------------------

    def _store_file(self) -> Path | None:
        if self.store is None:
            return None
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:16]
        return self.store / f"{digest}.json"

    def _load(self) -> dict[str, FileEntry]:
        path = self._store_file()
        if path is None or not path.is_file():
            return {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != INDEX_FORMAT:
                return {}
            return {
                rel: FileEntry(
                    **{**item, "symbols": [Symbol(**s) for s in item.get("symbols", [])]}
                )
                for rel, item in raw.get("files", {}).items()
            }
        except (OSError, ValueError, TypeError):
            log.info("the stored symbol index %s is unreadable; rebuilding it", path)
            return {}

    def save(self) -> None:
        """Write the index next to the cache (atomically; failures are logged, not raised)."""
        path = self._store_file()
        if path is None:
            return
        with self._lock:
            files = {rel: asdict(e) for rel, e in self._files.items() if e.mtime_ns >= 0}
        payload = {"format": INDEX_FORMAT, "root": str(self.root), "files": files}
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as error:
            log.warning("could not store the symbol index at %s: %s", path, error)
