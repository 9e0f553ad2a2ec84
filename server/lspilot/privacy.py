"""Privacy: which files get no model features, and what text may leave the machine.

`Privacy.excluded` answers with a reason sentence for files matching the ``privacy.exclude``
globs or ``<root>/.lspilotignore`` (gitignore syntax); `Privacy.redact` applies the secret
redaction rules of `lspilot.redaction` when the settings ask for it. `endpoint_warning` flags
a plain-http endpoint that is not on this machine.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

import pathspec

if TYPE_CHECKING:
    from lspilot.settings import PrivacySettings

from lspilot.redaction import placeholder, redact

__all__ = ["IGNORE_FILE", "Privacy", "endpoint_warning", "placeholder", "redact"]

#: The gitignore-syntax file in the workspace root listing files kept from the model.
IGNORE_FILE = ".lspilotignore"
# Answers remembered per path (cleared when the ignore file changes); a bound, not a tuning.
_ANSWERS_MAX = 4096


# ---- exclusion --------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a glob: ``**`` spans folders, ``*``/``?`` stay inside one, ``{a,b}``, ``[ab]``.

    Case-insensitive on purpose: ``KEY.PEM`` on a case-insensitive disk is the same file, and
    a false exclusion only costs a feature while a missed one leaks a secret.
    """
    pattern = pattern.strip().replace("\\", "/")
    if pattern.endswith("/"):  # "secrets/" means the folder and all in it
        pattern += "**"
    pattern = pattern.removeprefix("./").lstrip("/")
    out: list[str] = []
    i, n, depth = 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "{":
            out.append("(?:")
            depth += 1
        elif c == "}" and depth:
            out.append(")")
            depth -= 1
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    out.append(")" * depth)
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _candidates(rel: str) -> list[str]:
    """What a glob is tried against: the path, each folder above it, and each name in it.

    So ``secrets`` or ``build/`` exclude everything below such a folder, and ``*.pem``
    matches a file at any depth, as in a .gitignore.
    """
    parts = [p for p in rel.split("/") if p]
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return [*prefixes, *parts]


@dataclass
class _IgnoreFile:
    stamp: tuple[int, int] | None = None
    spec: pathspec.GitIgnoreSpec | None = None


class Privacy:
    """Exclusion and redaction rules for one workspace and one set of privacy settings."""

    def __init__(
        self,
        settings: PrivacySettings,
        root: Path | None,
        *,
        recheck_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`recheck_s`: how long `.lspilotignore` is trusted before it is stat'ed again.

        0 (the default, for one-shot commands) stats it on every call; the server passes a
        second so requests and keystrokes neither touch the disk nor match globs each time:
        answers are remembered per path until the ignore file changes (or `invalidate`).
        """
        self.settings = settings
        self.root = Path(root).resolve() if root is not None else None
        self._globs = [(p, _glob_regex(p)) for p in settings.exclude if p.strip()]
        self._ignore = _IgnoreFile()
        self._recheck_s = recheck_s
        self._clock = clock
        self._checked_at: float | None = None
        self._answers: dict[str, str | None] = {}

    # ---- exclusion ---------------------------------------------------------------------

    def excluded(self, path: str | Path) -> str | None:
        """Why the file at `path` gets no model features, or None when it may use them.

        `path` may be absolute or relative to the workspace root. Globs are matched against
        the path relative to the root (or the whole path for files outside it), every folder
        above the file, and every name in it; ``.lspilotignore`` only applies inside the root.
        """
        self._refresh_ignore()
        key = str(path)
        if key in self._answers:
            return self._answers[key]
        answer = self._excluded(path)
        if len(self._answers) >= _ANSWERS_MAX:
            self._answers.clear()
        self._answers[key] = answer
        return answer

    def invalidate(self) -> None:
        """Look at `.lspilotignore` again on the next call (e.g. the client saw it change)."""
        self._checked_at = None

    def _excluded(self, path: str | Path) -> str | None:
        rel, inside = self._relative(path)
        for pattern, regex in self._globs:
            if any(regex.fullmatch(c) for c in _candidates(rel)):
                return f"{rel} matches the privacy.exclude pattern `{pattern}`."
        if inside:
            ignored = self._ignore_pattern(rel)
            if ignored is not None:
                return f"{rel} is listed in {IGNORE_FILE} (pattern `{ignored}`)."
        return None

    def _relative(self, path: str | Path) -> tuple[str, bool]:
        """`path` as a posix path relative to the root, and whether it is inside the root."""
        text = str(path)
        if text.startswith("file:"):
            text = unquote(urlsplit(text).path)
            if re.match(r"^/[A-Za-z]:", text):  # file:///C:/... on Windows
                text = text[1:]
        p = Path(text)
        if not p.is_absolute():
            return PurePosixPath(p.as_posix()).as_posix().removeprefix("./"), True
        if self.root is not None:
            # Compare without resolving symlinks of the file first, then resolved, so a
            # workspace opened through a symlink still matches.
            for candidate in (p, _resolve(p)):
                try:
                    return candidate.relative_to(self.root).as_posix(), True
                except ValueError:
                    continue
        return p.as_posix().lstrip("/"), False

    def _refresh_ignore(self) -> None:
        """Re-read `.lspilotignore` if it changed, at most once per `recheck_s`."""
        if self.root is None:
            return
        now = self._clock()
        if self._checked_at is not None and now - self._checked_at < self._recheck_s:
            return
        self._checked_at = now
        ignore_path = self.root / IGNORE_FILE
        try:
            st = ignore_path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp != self._ignore.stamp:
            self._ignore = _read_ignore(ignore_path, stamp)
            self._answers.clear()

    def _ignore_pattern(self, rel: str) -> str | None:
        """The `.lspilotignore` line that excludes `rel` (as last read)."""
        spec = self._ignore.spec
        if spec is None:
            return None
        result = spec.check_file(rel)
        if not result.include or result.index is None:
            return None
        # The index counts patterns, not lines (blank lines are dropped), so ask the pattern.
        return str(getattr(spec.patterns[result.index], "pattern", "") or "").strip()

    # ---- redaction ---------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with secrets replaced by placeholders; unchanged when redaction is off."""
        if not self.settings.redact_secrets:
            return text
        return redact(text)


def _resolve(p: Path) -> Path:
    try:
        return p.resolve()
    except OSError:
        return p


def _read_ignore(path: Path, stamp: tuple[int, int] | None) -> _IgnoreFile:
    if stamp is None:
        return _IgnoreFile()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return _IgnoreFile(stamp, pathspec.GitIgnoreSpec.from_lines(lines))
    except (OSError, ValueError):
        # An unreadable or malformed file must not break features; try again when it changes.
        return _IgnoreFile(stamp)


# ---- endpoints --------------------------------------------------------------------------


def _loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_warning(base_url: str | None) -> str | None:
    """A warning sentence when `base_url` is plain http to another machine, else None."""
    if not base_url:
        return None
    try:
        parts = urlsplit(base_url.strip())
        host = parts.hostname or ""
    except ValueError:
        return None
    if parts.scheme.lower() != "http" or not host or _loopback(host):
        return None
    # Name the endpoint without any user:password that may be in the URL.
    shown = f"http://{host}" + (f":{parts.port}" if _port(parts) else "")
    return (
        f"The model endpoint {shown} uses plain http to another machine, so code and prompts"
        " travel unencrypted; use https or an endpoint on this machine."
    )


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:  # a port that is not a number
        return None
