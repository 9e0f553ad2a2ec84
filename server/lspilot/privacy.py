"""Privacy: which files get no model features, and secret redaction before text leaves.

`Privacy.excluded` answers with a reason sentence for files matching the ``privacy.exclude``
globs or ``<root>/.lspilotignore`` (gitignore syntax). `redact` replaces secrets (API keys,
tokens, private keys, passwords in assignments, passwords in connection strings) by
placeholders such as ``«redacted:openai-key»``; it never adds or removes a line break, so
line numbers in the redacted text are those of the original. `endpoint_warning` flags a
plain-http endpoint that is not on this machine.

Nothing here imports the settings module at run time (settings uses `redact` for its own
messages).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

import pathspec

if TYPE_CHECKING:
    from lspilot.settings import PrivacySettings

__all__ = ["IGNORE_FILE", "Privacy", "endpoint_warning", "placeholder", "redact"]

#: The gitignore-syntax file in the workspace root listing files kept from the model.
IGNORE_FILE = ".lspilotignore"


def placeholder(kind: str) -> str:
    """The text that stands in for a redacted secret of `kind`."""
    return f"«redacted:{kind}»"


_MARK = "«redacted:"

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

    def __init__(self, settings: PrivacySettings, root: Path | None) -> None:
        self.settings = settings
        self.root = Path(root).resolve() if root is not None else None
        self._globs = [(p, _glob_regex(p)) for p in settings.exclude if p.strip()]
        self._ignore = _IgnoreFile()

    # ---- exclusion ---------------------------------------------------------------------

    def excluded(self, path: str | Path) -> str | None:
        """Why the file at `path` gets no model features, or None when it may use them.

        `path` may be absolute or relative to the workspace root. Globs are matched against
        the path relative to the root (or the whole path for files outside it), every folder
        above the file, and every name in it; ``.lspilotignore`` only applies inside the root.
        """
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

    def _ignore_pattern(self, rel: str) -> str | None:
        """The `.lspilotignore` line that excludes `rel`, re-reading the file when it changed."""
        if self.root is None:
            return None
        ignore_path = self.root / IGNORE_FILE
        try:
            st = ignore_path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp != self._ignore.stamp:
            self._ignore = _read_ignore(ignore_path, stamp)
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


# ---- redaction --------------------------------------------------------------------------
#
# Speed matters (every request passes through here): each token pattern starts with a literal
# so the regex engine can skip ahead to it, with the word-boundary check after the literal as
# a lookbehind (a leading \b or lookbehind would make the engine try every position).
# Assignments are found from their keyword with str.find, not by trying every position.


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    repl: Callable[[re.Match[str]], str]


def _whole(kind: str) -> Callable[[re.Match[str]], str]:
    """Replace the whole match, or only its ``secret`` group, by the placeholder of `kind`."""

    def repl(m: re.Match[str]) -> str:
        if "secret" in m.re.groupindex and m.group("secret") is not None:
            return _splice(m, m.span("secret"), placeholder(kind))
        return placeholder(kind)

    return repl


def _splice(m: re.Match[str], span: tuple[int, int], replacement: str) -> str:
    """The text of match `m` with `span` (offsets in the whole text) replaced."""
    s0, whole = m.start(), m.group(0)
    return whole[: span[0] - s0] + replacement + whole[span[1] - s0 :]


_BREAKS = re.compile(r"\r\n|\r|\n")


def _pem(m: re.Match[str]) -> str:
    # Keep the markers and every line break as it was (\r\n too), so the lines after the
    # block stay where they are.
    breaks = _BREAKS.findall(m.group("body"))
    if len(breaks) >= 2:
        inner = breaks[0] + placeholder("private-key") + "".join(breaks[1:])
    else:
        inner = placeholder("private-key") + "".join(breaks)
    return m.group("begin") + inner + (m.group("end") or "")


def _connection(m: re.Match[str]) -> str:
    pw = m.group("pw")
    if pw.startswith((_MARK, "$")):  # already redacted, or a ${VARIABLE} reference
        return m.group(0)
    return f"://{m.group('user')}:{placeholder('password')}@"


# What may not touch a token on either side (so a key inside a longer word is not one).
_TAIL = r"(?![A-Za-z0-9_-])"


def _literal_rule(literal: str, rest: str, kind: str) -> _Rule:
    """A token that starts with `literal` (not glued to a word before it), then `rest`."""
    escaped = re.escape(literal)
    return _Rule(re.compile(f"{escaped}(?<![A-Za-z0-9_-]{escaped}){rest}{_TAIL}"), _whole(kind))


_TOKEN_RULES: list[_Rule] = [
    # PEM private keys, also when the END line is missing (a truncated chunk).
    _Rule(
        re.compile(
            r"(?P<begin>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)"
            r"(?P<body>[\s\S]*?)"
            r"(?:(?P<end>-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)|\Z)"
        ),
        _pem,
    ),
    _literal_rule("eyJ", r"[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", "jwt"),
    _literal_rule("sk-ant-", r"[A-Za-z0-9_-]{20,}", "anthropic-key"),
    # A digit is required so kebab-case names that happen to start with "sk-" stay.
    _literal_rule("sk-", r"(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}", "openai-key"),
    *(_literal_rule(f"gh{c}_", r"[A-Za-z0-9]{30,}", "github-token") for c in "pousr"),
    _literal_rule("github_pat_", r"[A-Za-z0-9_]{30,}", "github-token"),
    *(_literal_rule(f"xox{c}-", r"[A-Za-z0-9-]{10,}", "slack-token") for c in "abposr"),
    _Rule(
        re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]{20,}"),
        _whole("slack-webhook"),
    ),
    _literal_rule("AIza", r"[0-9A-Za-z_-]{35}", "google-api-key"),
    *(
        _literal_rule(prefix, r"[A-Z0-9]{16}", "aws-access-key-id")
        for prefix in (
            "AKIA",
            "ASIA",
            "AGPA",
            "AIDA",
            "AROA",
            "AIPA",
            "ANPA",
            "ANVA",
            "ABIA",
            "ACCA",
        )
    ),
    *(
        _literal_rule(prefix, r"[A-Za-z0-9]{16,}", "stripe-key")
        for prefix in ("sk_live_", "sk_test_", "rk_live_", "rk_test_")
    ),
    _literal_rule("hf_", r"[A-Za-z0-9]{30,}", "huggingface-token"),
    # scheme://user:password@host — keep user and host.
    _Rule(
        re.compile(
            r"://(?<=[A-Za-z0-9]://)(?P<user>[^\s:/?#@'\"`]*)"
            r":(?P<pw>[^\s/?#'\"`]+)@(?=[^\s@/?#'\"`])"
        ),
        _connection,
    ),
    # Authorization schemes; a digit is required so prose ("Bearer authentication") stays.
    *(
        _Rule(
            re.compile(
                f"{scheme}(?<![A-Za-z0-9_]{scheme})[ \\t]+"
                r"(?P<secret>(?=[A-Za-z0-9._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,})"
                r"(?![A-Za-z0-9._~+/=-])"
            ),
            _whole("bearer-token"),
        )
        for scheme in ("Bearer", "bearer", "Basic", "Token")
    ),
]

# Names whose value is a secret: judged by the last word of the name, so `password_field`,
# `token_url` or `max_tokens` are not secrets but `db_password`, `apiKey`, `GITHUB_TOKEN` are.
_SECRET_WORDS = {
    "password": "password",
    "passwd": "password",
    "passphrase": "password",
    "pass": "password",
    "secret": "secret",
    "token": "token",
    "credential": "secret",
    "credentials": "secret",
    "apikey": "secret",
    "secretkey": "secret",
    "accesskey": "secret",
    "privatekey": "secret",
    "authorization": "secret",
}
_KEY_QUALIFIERS = {"api", "secret", "access", "private", "auth", "signing", "encryption", "master"}
# Every secret name contains one of these (lowercase); the scan starts from them.
_KEYWORDS = ("pass", "pwd", "secret", "token", "key", "credential", "authorization")
_KEYWORD_RE = re.compile("|".join(_KEYWORDS), re.IGNORECASE)
_NAME_SPLIT = re.compile(r"[._\-$@\s]+|(?<=[a-z0-9])(?=[A-Z])")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-")
_LITERALS = {"none", "null", "nil", "true", "false", "undefined"}
_CODE_CHAIN = re.compile(r"[A-Za-z_$][A-Za-z_$]*(?:\.[A-Za-z_$][A-Za-z_$]*)*")
_TEMPLATE = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_]\w*|\{\{.*\}\}|%\([^)]*\)s|<[^<>]*>")
_ALNUM = re.compile(r"[^\W_]")
_NUMBER = re.compile(r"[-+]?\d[\d_]*(?:\.\d+)?")


@functools.lru_cache(maxsize=4096)  # the same few names come back again and again
def _secret_kind(name: str) -> str | None:
    """The placeholder kind for a value assigned to `name`, or None when not a secret name."""
    words = [w.lower().rstrip("0123456789") for w in _NAME_SPLIT.split(name) if w]
    words = [w for w in words if w]
    if not words:
        return None
    last = words[-1]
    if "aws" in words and ("secret" in words or last == "secretaccesskey"):
        return "aws-secret-key"
    if last == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS:
        return "secret"
    if last == "pwd" and len(words) > 1:  # PWD alone is the shell's working directory
        return "password"
    return _SECRET_WORDS.get(last)


# Matched at the start of a name: the name (optionally quoted, optionally closing a `[...]`),
# an optional type annotation before `=`, a separator, and a value — a one-line quoted
# string or a bare word.
_ASSIGNMENT = re.compile(
    r"(?P<q>[\"']?)(?P<name>[A-Za-z_$][\w.$-]*+)(?P=q)\]?"
    r"(?:[ \t]*:[ \t]*[A-Za-z_][\w.]*(?:\[[^\]\n]*\])?(?:[ \t]*\|[ \t]*[A-Za-z_][\w.]*"
    r"(?:\[[^\]\n]*\])?)*(?=[ \t]*=[^=]))?"
    r"(?P<before>[ \t]*)(?P<sep>:=|=>|===?|!==?|=|:(?!:))(?P<after>[ \t]*)"
    r"(?:[rbfuRBFU]{0,2}(?P<vq>[\"'`])(?P<quoted>(?:[^\"'`\\\r\n]|\\.|(?!(?P=vq))[\"'`])*)(?P=vq)"
    r"|(?P<bare>[^\s'\"`,;#(){}\[\]<>=][^\s'\"`,;#(){}\[\]<>]*+)(?![(\[]))"
)


def _keyword_positions(text: str) -> list[int]:
    """Where a secret keyword occurs in `text`, in order."""
    low = text.lower()
    if len(low) != len(text):  # a few characters grow when lowercased; offsets would drift
        return [m.start() for m in _KEYWORD_RE.finditer(text)]
    found: set[int] = set()
    for word in _KEYWORDS:
        i = low.find(word)
        while i != -1:
            found.add(i)
            i = low.find(word, i + 1)
    return sorted(found)


def _redact_assignments(text: str) -> str:
    pieces: list[str] = []
    done = 0  # text before this offset is settled (copied to `pieces` or left as is)
    copied = 0  # text before this offset is in `pieces`
    for pos in _keyword_positions(text):
        if pos < done:
            continue
        start = pos
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        if start > 0 and text[start - 1] in "\"'":
            start -= 1
        m = _ASSIGNMENT.match(text, start)
        if m is None or m.end("name") <= pos:
            continue
        replacement = _assignment(m)
        if replacement is not None:
            pieces.append(text[copied : m.start()])
            pieces.append(replacement)
            copied = m.end()
        done = m.end()
    if not pieces:
        return text
    pieces.append(text[copied:])
    return "".join(pieces)


def _assignment(m: re.Match[str]) -> str | None:
    """The redacted text of an assignment match, or None when its value is no secret."""
    kind = _secret_kind(m.group("name"))
    if kind is None:
        return None
    if m.group("vq") is not None:
        value, span = m.group("quoted"), m.span("quoted")
    else:
        # A trailing colon ends a statement (`if token == other_token:`), not the value.
        value = m.group("bare").rstrip(":")
        span = (m.start("bare"), m.start("bare") + len(value))
        if value.lower() in _LITERALS or not _ALNUM.search(value):
            return None  # None/true/..., or punctuation such as a stub's `...`
        if _looks_like_code(value) and not _env_style(m):
            return None
    if not value or _MARK in value or _TEMPLATE.fullmatch(value.strip()):
        return None
    return _splice(m, span, placeholder(kind))


def _env_style(m: re.Match[str]) -> bool:
    """`NAME=value` alone on its line (an env file or shell), where any bare value counts."""
    if m.group("sep") != "=" or m.group("before") or m.group("after") or m.group("q"):
        return False
    # Only a short window is searched for the line start: a long minified line must not make
    # this quadratic, and anything longer than `export ` before the name is not env style.
    text, start = m.string, m.start()
    window_start = max(0, start - 16)
    line_start = max(text.rfind("\n", window_start, start), text.rfind("\r", window_start, start))
    if line_start == -1 and window_start > 0:
        return False
    head = text[line_start + 1 : start].strip()
    return head in ("", "export", "set", "-")


def _looks_like_code(value: str) -> bool:
    """A bare value that is a name, an attribute chain or a number: code, not a secret.

    ``password = form.password`` or ``password: str`` stay; ``password: hunter2`` (YAML,
    with a digit) is redacted. A digit-free bare password outside an env file is the
    accepted miss.
    """
    return bool(_CODE_CHAIN.fullmatch(value) or _NUMBER.fullmatch(value))


def redact(text: str) -> str:
    """`text` with every secret found replaced by ``«redacted:kind»``; line breaks kept.

    Kinds: private-key, jwt, anthropic-key, openai-key, github-token, slack-token,
    slack-webhook, google-api-key, aws-access-key-id, aws-secret-key, stripe-key,
    huggingface-token, bearer-token, password (assignments and connection strings), token,
    secret.
    """
    for rule in _TOKEN_RULES:
        text = rule.regex.sub(rule.repl, text)
    return _redact_assignments(text)


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
