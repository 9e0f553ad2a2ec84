"""Model markdown made safe to show: no remote images, no raw HTML, code left as it is."""

from __future__ import annotations

import re

from lspilot.answers.code import FENCE_OPEN

# An image (inline or by reference) would make the editor fetch its URL; HTML is not ours.
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\s*(?:\([^)\n]*\)|\[[^\]\n]*\])")
_HTML = re.compile(r"<(?=[A-Za-z!/?])")
_CODE_SPAN = re.compile(r"(`+)(?:.*?[^`])?\1(?!`)")


def safe_markdown(text: str) -> str:
    """Model markdown that makes the editor fetch nothing: no images, no raw HTML.

    An image becomes its alt text; a ``<`` that would open an HTML tag (``<img>``,
    ``<iframe>``, ``<!-- -->``) is escaped. Fenced blocks and inline code stay as they are,
    so code samples are shown exactly.
    """
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = FENCE_OPEN.match(line.rstrip("\r"))
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            out.append(line)
        elif match:
            fence = match["fence"]
            out.append(line)
        else:
            out.append(_safe_line(line))
    return "\n".join(out)


def _safe_line(line: str) -> str:
    parts, cursor = [], 0
    for span in _CODE_SPAN.finditer(line):
        parts.append(_safe_prose(line[cursor : span.start()]))
        parts.append(span.group(0))
        cursor = span.end()
    parts.append(_safe_prose(line[cursor:]))
    return "".join(parts)


def _safe_prose(text: str) -> str:
    text = _IMAGE.sub(lambda m: m.group(1), text)
    return _HTML.sub(r"\\<", text)
