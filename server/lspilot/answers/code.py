"""Model output to code: reasoning and fences stripped, the right block picked, re-indented."""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

# Reasoning blocks some models (DeepSeek-R1, Qwen QwQ, o-series proxies) put before the answer.
_REASONING_TAGS = ("think", "thinking", "reasoning", "reflection", "scratchpad", "analysis")
_REASONING_BLOCK = re.compile(
    r"<(?P<tag>" + "|".join(_REASONING_TAGS) + r")\b[^>]*>.*?</(?P=tag)\s*>",
    re.IGNORECASE | re.DOTALL,
)
# A closing tag without its opening one: everything before it was reasoning (some servers
# strip the opening tag from the stream).
_DANGLING_CLOSE = re.compile(r"^.*</(?:" + "|".join(_REASONING_TAGS) + r")\s*>", re.I | re.S)
# An opening tag never closed (answer truncated mid-thought): nothing after it is an answer.
_DANGLING_OPEN = re.compile(r"<(?:" + "|".join(_REASONING_TAGS) + r")\b[^>]*>.*\Z", re.I | re.S)

# ``` or ~~~ fences of three or more, with an optional info string (language tag).
FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")

# Lines that are the model talking rather than code.
_PROSE_START = re.compile(
    r"^\s*(?:here(?:'s| is| are)|sure\b|certainly\b|of course\b|below\b|the following\b|"
    r"okay\b|ok\b|alright\b|great\b|absolutely\b|i(?:'ve| have| will|'ll| added| wrote)\b|"
    r"this (?:code|function|method|class|implementation|version|snippet|will|should)\b|"
    r"the (?:code|function|method|class|above|updated|corrected|fixed)\b|"
    r"note\b|explanation\b|output\b|let me\b|hope this|feel free\b|in this\b)",
    re.IGNORECASE,
)
# A sentence ending in a colon ("Below is the fixed version:") with no code punctuation.
_PROSE_COLON = re.compile(r"^\s*[A-Z][A-Za-z',\- ]{2,}(?: [A-Za-z',\-]+){2,}\s*:\s*$")

_LANGUAGE_ALIASES: dict[str, frozenset[str]] = {
    "python": frozenset({"python", "py", "python3", "py3", "pycon", "ipython"}),
    "javascript": frozenset({"javascript", "js", "jsx", "node", "mjs", "cjs"}),
    "typescript": frozenset({"typescript", "ts", "tsx"}),
    "rust": frozenset({"rust", "rs"}),
    "go": frozenset({"go", "golang"}),
    "c": frozenset({"c", "h"}),
    "cpp": frozenset({"cpp", "c++", "cc", "cxx", "hpp"}),
    "java": frozenset({"java"}),
    "shell": frozenset({"sh", "bash", "shell", "zsh", "console"}),
    "markdown": frozenset({"markdown", "md"}),
}
# Tags that never mean "code in some other language": a block tagged so can be the answer.
_NEUTRAL_TAGS = frozenset({"", "text", "plaintext", "txt", "code", "plain"})


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block of a model answer: its info-string language and its content."""

    language: str
    code: str


def strip_reasoning(text: str) -> str:
    """Remove ``<think>``/``<reasoning>``-style blocks, closed or dangling."""
    text = _REASONING_BLOCK.sub("", text)
    text = _DANGLING_CLOSE.sub("", text)
    return _DANGLING_OPEN.sub("", text)


def code_blocks(text: str) -> list[CodeBlock]:
    """The fenced blocks of `text`, in order; an unclosed last fence runs to the end."""
    blocks: list[CodeBlock] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        match = FENCE_OPEN.match(lines[i].rstrip("\r"))
        if not match:
            i += 1
            continue
        fence, indent = match["fence"], match["indent"]
        language = match["info"].strip().split(" ")[0].strip("{}.").lower()
        body: list[str] = []
        i += 1
        while i < len(lines):
            line = lines[i].rstrip("\r")
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            # Fences indented in a list item indent their content too.
            body.append(line[len(indent) :] if line.startswith(indent) else line)
            i += 1
        blocks.append(CodeBlock(language, "\n".join(body)))
        i += 1
    return blocks


def _is_prose(line: str) -> bool:
    stripped = line.strip()
    if not stripped:
        return False
    return bool(_PROSE_START.match(stripped) or _PROSE_COLON.match(stripped))


def trim_prose(text: str) -> str:
    """Drop leading and trailing prose paragraphs around unfenced code."""
    lines = text.split("\n")
    # Leading: prose lines (and the blank lines after them) before the first code line.
    start = 0
    while start < len(lines) and (not lines[start].strip() or _is_prose(lines[start])):
        start += 1
    # Trailing: a blank-separated paragraph that starts like prose, e.g. "This function ...".
    end = len(lines)
    while end > start and not lines[end - 1].strip():
        end -= 1
    cut = end
    for i in range(end - 1, start, -1):
        if not lines[i - 1].strip() and _is_prose(lines[i]) and not lines[i][:1].isspace():
            cut = i
            break
    while cut > start and not lines[cut - 1].strip():
        cut -= 1
    return "\n".join(lines[start:cut])


def strip_noise(text: str) -> str:
    """The answer without reasoning blocks, fences and chatter around it.

    When the answer has fenced blocks their contents are the answer (joined, in order);
    otherwise leading "Here is ...:" lines and a trailing "This code ..." paragraph go.
    Line endings become ``\\n``; the caller converts to the document's.
    """
    text = strip_reasoning(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = code_blocks(text)
    if blocks:
        return "\n\n".join(b.code.strip("\n") for b in blocks if b.code.strip())
    return trim_prose(text).strip("\n")


def _aliases(language: str) -> frozenset[str]:
    language = language.lower()
    return _LANGUAGE_ALIASES.get(language, frozenset({language}))


def pick_code(text: str, language: str) -> str:
    """The code of an answer in `language`.

    The fenced block tagged with that language (the largest if several), else the largest
    untagged/neutral block, else the largest block of any language (the validators reject it
    if it is really another language), else the de-noised text itself.
    """
    text = strip_reasoning(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = [b for b in code_blocks(text) if b.code.strip()]
    if not blocks:
        return trim_prose(text).strip("\n")
    wanted = _aliases(language)
    for pool in (
        [b for b in blocks if b.language in wanted],
        [b for b in blocks if b.language in _NEUTRAL_TAGS],
        blocks,
    ):
        if pool:
            return max(pool, key=lambda b: len(b.code.strip())).code.strip("\n")
    return ""  # unreachable: `blocks` is non-empty


def indent_unit_of(text: str) -> str:
    """The indentation step a text uses: a tab, or the most common run of spaces (default 4)."""
    widths: dict[int, int] = {}
    previous = 0
    tabs = spaces = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        lead = line[: len(line) - len(line.lstrip(" \t"))]
        if lead.startswith("\t"):
            tabs += 1
            continue
        if lead:
            spaces += 1
        width = len(lead)
        if width > previous:
            widths[width - previous] = widths.get(width - previous, 0) + 1
        previous = width
    if tabs > spaces:
        return "\t"
    if not widths:
        return "    "
    step = max(widths, key=lambda w: (widths[w], -w))
    return " " * step if 1 < step <= 8 else "    "


def _leading(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _convert_unit(lines: list[str], source_unit: str, target_unit: str) -> list[str]:
    """Re-express each line's leading indentation from `source_unit` steps in `target_unit`."""
    out = []
    for line in lines:
        lead = _leading(line)
        if not lead:
            out.append(line)
            continue
        width = len(lead.expandtabs(len(source_unit) if source_unit != "\t" else 4))
        step = len(source_unit) if source_unit != "\t" else 4
        levels, rest = divmod(width, step)
        out.append(target_unit * levels + " " * rest + line[len(lead) :])
    return out


def reindent(code: str, indent: str, unit: str | None = None) -> str:
    """`code` dedented, then indented by `indent` (blank lines stay empty).

    Models often indent a whole answer by the depth they saw, or leave the first line flush
    while the rest stays indented; both are undone. With `unit` (the file's indentation
    step: a tab or N spaces) nested levels are rewritten in that unit, so a tab-indented file
    does not receive space-indented code or the reverse.
    """
    lines = [line.rstrip() for line in code.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return ""
    # First line flush, the rest uniformly deeper, and the first line opens no block: the
    # model dropped the first line's indentation only (a copy from a partial selection).
    rest = [line for line in lines[1:] if line]
    if rest and not _leading(lines[0]) and not lines[0].endswith((":", "{", "(", "[", ",", "\\")):
        common = min(len(_leading(line)) for line in rest)
        if common:
            lines = [lines[0]] + [line[common:] if line else line for line in lines[1:]]
    lines = textwrap.dedent("\n".join(lines)).split("\n")
    if unit is not None:
        source_unit = indent_unit_of("\n".join(lines))
        if source_unit != unit:
            lines = _convert_unit(lines, source_unit, unit)
    return "\n".join(indent + line if line else "" for line in lines)


def drop_echoed_comment(code: str, comment: str) -> str:
    """`code` without leading lines that repeat the request's comment block.

    Models like to restate the comment they were given; inserted below the comment that
    would duplicate it.
    """
    wanted = [w.strip().lstrip("#/ *").strip() for w in comment.splitlines() if w.strip()]
    if not wanted:
        return code
    lines = code.split("\n")
    i = 0
    for w in wanted:
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i < len(lines) and lines[i].strip().lstrip("#/ *").strip() == w:
            i += 1
        else:
            return code  # not an echo of the whole block: keep everything
    return "\n".join(lines[i:]).strip("\n")


def python_parses(text: str) -> str | None:
    """None when `text` is valid Python, else a sentence naming the error and its line."""
    try:
        ast.parse(text)
    except SyntaxError as err:
        where = f" on line {err.lineno}" if err.lineno else ""
        line = (err.text or "").strip()
        shown = f": `{line}`" if line and len(line) < 120 else ""
        return f"The code is not valid Python: {err.msg}{where}{shown}."
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, absurd nesting
        return f"The code is not valid Python: {err}."
    return None
