"""Secret redaction: API keys, tokens, private keys and passwords become placeholders.

`redact` replaces secrets (API keys, tokens, private keys, passwords in assignments,
passwords in connection strings) by placeholders such as ``«redacted:openai-key»``; it never
adds or removes a line break, so line numbers in the redacted text are those of the
original. A leaf module: the settings use it for their own messages, the privacy rules for
what leaves the machine.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel


def placeholder(kind: str) -> str:
    """The text that stands in for a redacted secret of `kind`."""
    return f"«redacted:{kind}»"


#: Every placeholder starts with this.
PLACEHOLDER_MARK = "«redacted:"


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
    if pw.startswith((PLACEHOLDER_MARK, "$")):  # already redacted, or a ${VARIABLE} reference
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
    if not value or PLACEHOLDER_MARK in value or _TEMPLATE.fullmatch(value.strip()):
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


_PLACEHOLDER = re.compile(re.escape(PLACEHOLDER_MARK) + r"[^»\n]*»")


def secrets_behind(text: str) -> dict[str, set[str]]:
    """Each placeholder `redact(text)` produces → the original values it stands for.

    Found by aligning `text` with its redacted form (everything but the placeholders is
    unchanged). A placeholder already written in `text` itself is no secret and is left out;
    when the alignment is ambiguous (two placeholders side by side) nothing is returned, so
    nothing is put back.
    """
    redacted = redact(text)
    if redacted == text:
        return {}
    parts = _PLACEHOLDER.split(redacted)
    marks = _PLACEHOLDER.findall(redacted)
    if not text.startswith(parts[0]):
        return {}
    found: dict[str, set[str]] = {}
    pos = len(parts[0])
    for i, mark in enumerate(marks):
        after = parts[i + 1]
        if text.startswith(mark + after, pos):
            pos += len(mark) + len(after)  # written in the text, not produced by redaction
            continue
        if i == len(marks) - 1:
            end = len(text) - len(after) if text.endswith(after) else -1
        elif after:
            end = text.find(after, pos + 1)
        else:
            return {}
        if end <= pos:
            return {}
        found.setdefault(mark, set()).add(text[pos:end])
        pos = end + len(after)
    return found if pos == len(text) else {}


def restore_secrets(answer: str, originals: list[str]) -> str | None:
    """`answer` with each placeholder put back to the value it replaced in `originals`.

    `originals` are the texts the request was made of, before redaction: a placeholder is
    mapped back only if redacting exactly those texts produced it and it stands for one
    value. A placeholder the originals contain literally stays. None when a placeholder cannot
    be put back: the answer must then not reach the user's file.
    """
    if PLACEHOLDER_MARK not in answer:
        return answer
    behind: dict[str, set[str]] = {}
    for original in originals:
        for mark, values in secrets_behind(original).items():
            behind.setdefault(mark, set()).update(values)
    failed = False

    def put_back(match: re.Match[str]) -> str:
        nonlocal failed
        mark = match.group(0)
        values = behind.get(mark, set())
        if len(values) == 1:
            return next(iter(values))
        if not values and any(mark in original for original in originals):
            return mark
        failed = True
        return mark

    restored = _PLACEHOLDER.sub(put_back, answer)
    return None if failed else restored


# ---- whole task inputs ----------------------------------------------------------------


def strings_in(value: object) -> list[str]:
    """Every string inside dumped data (dicts, lists, tuples): the texts redaction looks at."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    return []


M = TypeVar("M", bound=BaseModel)


def redact_model(model: M, redact: Callable[[str], str]) -> M:
    """A copy of `model` with `redact` applied to every string, nested models included."""

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, BaseModel):
            return value.model_copy(
                update={name: walk(getattr(value, name)) for name in type(value).model_fields}
            )
        if isinstance(value, tuple):
            return tuple(walk(v) for v in value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    update = {
        name: walk(getattr(model, name))
        for name in type(model).model_fields
        # Enum-like fields are ours, not the user's text: leave them exactly as they are.
        if name not in ("task", "language", "style", "kind")
    }
    return model.model_copy(update=update)
