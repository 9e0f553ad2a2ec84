"""UTF-8 byte offsets (tree-sitter) <-> Python string offsets, and text helpers.

The map stores only the non-ASCII characters (their char offset, byte offset and the extra
bytes before them), so building it is one regex scan in C and each lookup is a bisect. An
ASCII text needs no map at all.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter

from lspilot.positions import LINE_BREAK

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LEADING_WS = re.compile(r"[ \t]*")


def encode(text: str) -> bytes:
    """UTF-8 bytes of `text`; lone surrogates (possible in editor buffers) pass through."""
    return text.encode("utf-8", "surrogatepass")


class OffsetMap:
    """Converts between UTF-8 byte offsets and string offsets of one text."""

    __slots__ = ("_bytes", "_chars", "_extra", "ascii")

    def __init__(self, text: str) -> None:
        self.ascii = text.isascii()
        self._chars: list[int] = []  # char offset of each non-ASCII character
        self._bytes: list[int] = []  # its byte offset
        self._extra: list[int] = [0]  # extra bytes of the first k non-ASCII characters
        if self.ascii:
            return
        extra = 0
        for match in _NON_ASCII.finditer(text):
            index = match.start()
            code = ord(match.group())
            self._chars.append(index)
            self._bytes.append(index + extra)
            extra += 1 if code < 0x800 else 2 if code < 0x10000 else 3
            self._extra.append(extra)

    def char(self, byte: int) -> int:
        """String offset of a byte offset (which tree-sitter puts on character boundaries)."""
        if self.ascii:
            return byte
        return byte - self._extra[bisect_left(self._bytes, byte)]

    def byte(self, char: int) -> int:
        """Byte offset of a string offset."""
        if self.ascii:
            return char
        return char + self._extra[bisect_left(self._chars, char)]


def line_start(text: str, offset: int) -> int:
    """Offset of the first character of the line containing `offset`."""
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset of the end of the line containing `offset` (before any '\\r\\n' or '\\n')."""
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return end - 1 if end > 0 and text[end - 1] == "\r" else end


def leading_whitespace(text: str, offset: int) -> str:
    """The indentation of the line containing `offset`."""
    match = _LEADING_WS.match(text, line_start(text, offset))
    return match.group() if match else ""


def newline_of(text: str) -> str:
    """The line break the text uses ('\\r\\n' when its first line break is one)."""
    index = text.find("\n")
    return "\r\n" if index > 0 and text[index - 1] == "\r" else "\n"


def indent_unit(text: str) -> str:
    """One level of indentation in this text: a tab, or the most common step in spaces.

    Counts the increases of indentation between consecutive non-blank lines, so that aligned
    continuation lines (rare, odd widths) are outvoted. Default: four spaces.
    """
    steps: Counter[int] = Counter()
    tabs = spaces = 0
    previous = 0
    for line in LINE_BREAK.split(text):
        stripped = line.lstrip(" \t")
        if not stripped:
            continue
        indent = line[: len(line) - len(stripped)]
        if indent.startswith("\t"):
            tabs += 1
        elif indent:
            spaces += 1
            if len(indent) > previous:
                steps[len(indent) - previous] += 1
        previous = len(indent) if not indent.startswith("\t") else previous
    if tabs > spaces:
        return "\t"
    for width, _count in steps.most_common():
        if 1 < width <= 8:
            return " " * width
    return "    "
