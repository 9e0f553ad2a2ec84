"""Where an answer lands in the document, as `Edit`s on string offsets. Pure functions.

- Generate: below the comment block, at the comment's indentation; the comment stays.
- Document (Python): the docstring is the first statement of the body. A block body gets a
  new line right after the header (decorators, ``async def`` and multi-line signatures need
  nothing special: the syntax tree gives the header's end); a one-line body
  (``def f(): return x``) is split so the docstring and the old body each get a line; an
  existing docstring is replaced in place, keeping its quotes.
- Document (other languages): the language's doc comment above the definition
  (``/** ... */``, Rust and Doxygen ``///`` lines, Go ``//`` lines).
- Fix: the affected lines are replaced, re-indented to where they stood.

Everything keeps the file's conventions: its line breaks (CRLF stays CRLF), its indentation
unit (tabs or N spaces) and its docstring quotes.
"""

from __future__ import annotations

import re

from lspilot.answers import indent_unit_of, reindent
from lspilot.features.code_actions.edits import Edit
from lspilot.syntax.doc_comments import CDocStyle, format_doc_comment
from lspilot.syntax.model import CommentBlock, Definition

# Past this width a one-line docstring is written over three lines.
MAX_LINE = 88


def newline_of(text: str) -> str:
    """The line break the document uses (that of its first line; ``\\n`` when it has none)."""
    at = text.find("\n")
    return "\r\n" if at > 0 and text[at - 1] == "\r" else "\n"


def line_start(text: str, offset: int) -> int:
    """Offset of the start of the line containing `offset`."""
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset of the end of the line containing `offset` (before its ``\\r\\n``/``\\n``)."""
    at = text.find("\n", offset)
    if at == -1:
        return len(text)
    return at - 1 if at > 0 and text[at - 1] == "\r" else at


def after_line(text: str, offset: int) -> int:
    """Offset just past the line break ending the line of `offset` (len(text) at EOF)."""
    at = text.find("\n", offset)
    return len(text) if at == -1 else at + 1


def _with_newlines(text: str, newline: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", newline)


def quote_style_of(text: str) -> str:
    """The triple quote the file's docstrings use most (``\"\"\"`` when there are none)."""
    return "'''" if text.count("'''") > text.count('"""') else '"""'


def _existing_quote(literal: str) -> str | None:
    match = re.match(r"[rRuU]?(\"\"\"|''')", literal)
    return match[1] if match else None


def docstring_literal(content: str, indent: str, quote: str, newline: str = "\n") -> str:
    """`content` as a Python string literal for a body indented by `indent`.

    One line fits on one line; more lines put the closing quotes on their own line. The
    other triple quote is used when `content` contains this one; a raw prefix when it has
    backslashes (so ``\\n`` in a docstring stays two characters).
    """
    content = content.strip()
    other = "'''" if quote == '"""' else '"""'

    def clashes(q: str) -> bool:
        return q in content or content.endswith(q[0])

    prefix = ""
    if clashes(quote) and not clashes(other):
        quote = other
    if clashes(quote):
        # Both quote styles occur: escape them (and no raw prefix, so the escapes work).
        content = content.replace("\\", "\\\\").replace(quote[0], "\\" + quote[0])
    elif "\\" in content:
        if content.endswith("\\"):  # a raw string cannot end in a backslash
            content = content.replace("\\", "\\\\")
        else:
            prefix = "r"
    lines = content.split("\n")
    if len(lines) == 1 and len(indent) + len(prefix) + len(content) + 6 <= MAX_LINE:
        return f"{prefix}{quote}{content}{quote}"
    if len(lines) == 1:
        lines.append("")  # long summary: closing quotes on their own line
    body = [lines[0]] + [indent + line if line.strip() else "" for line in lines[1:]]
    if body[-1] != "":
        body.append("")
    return prefix + quote + newline.join(body) + indent + quote


def python_docstring_edit(text: str, d: Definition, content: str) -> Edit:
    """Insert or replace the docstring of `d` (a function, method or class)."""
    newline = newline_of(text)
    unit = indent_unit_of(text)
    anchor = (d.start, d.end)
    if d.docstring_start is not None and d.docstring_end is not None:
        old = text[d.docstring_start : d.docstring_end]
        quote = _existing_quote(old) or quote_style_of(text)
        own_line = not text[line_start(text, d.docstring_start) : d.docstring_start].strip()
        indent = (
            text[line_start(text, d.docstring_start) : d.docstring_start]
            if own_line
            else d.indent + unit
        )
        literal = docstring_literal(content, indent, quote, newline)
        return Edit(d.docstring_start, d.docstring_end, literal, *anchor)
    quote = quote_style_of(text)
    if "\n" in text[d.header_end : d.body_start]:
        # Block body: a new line right after the header's line (after any trailing comment).
        indent = _line_indent(text, d.body_start)
        literal = docstring_literal(content, indent, quote, newline)
        at = after_line(text, d.header_end)
        return Edit(at, at, indent + literal + newline, *anchor)
    # One-line body: split it. The whitespace between ':' and the body becomes
    # "<newline><indent>docstring<newline><indent>".
    indent = d.indent + unit
    literal = docstring_literal(content, indent, quote, newline)
    split = f"{newline}{indent}{literal}{newline}{indent}"
    return Edit(d.header_end, d.body_start, split, *anchor)


def _line_indent(text: str, offset: int) -> str:
    start = line_start(text, offset)
    line = text[start:offset]
    return line[: len(line) - len(line.lstrip(" \t"))]


def doc_comment_edit(
    text: str,
    d: Definition,
    content: str,
    language: str = "javascript",
    c_style: CDocStyle = "block",
) -> Edit:
    """The language's doc comment above `d` (``/** ... */``, ``///`` or ``//`` lines), or
    replacing its old one."""
    newline = newline_of(text)
    indent = d.indent
    block = format_doc_comment(content, language, indent, newline, c_style)
    if d.docstring_start is not None and d.docstring_end is not None:
        return Edit(d.docstring_start, d.docstring_end, block, d.start, d.end)
    at = line_start(text, d.start)
    return Edit(at, at, indent + block + newline, d.start, d.end)


def generate_edit(text: str, block: CommentBlock, code: str) -> Edit:
    """Insert `code` on the lines below `block`, at the comment's indentation."""
    newline = newline_of(text)
    code = _with_newlines(reindent(code, block.indent, indent_unit_of(text)), newline)
    anchor_start = line_start(text, block.start)
    at = after_line(text, block.end)
    if at == len(text) and not text.endswith("\n"):
        # The comment is the last line, with no line break: add one before the code.
        return Edit(at, at, newline + code + newline, anchor_start, at)
    return Edit(at, at, code + newline, anchor_start, at)


def replace_lines_edit(text: str, start: int, end: int, code: str) -> Edit:
    """Replace the whole lines spanning ``[start, end)`` by `code`, at their indentation."""
    newline = newline_of(text)
    first = line_start(text, start)
    last = line_end(text, max(start, end - 1))
    line = text[first:last]
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    code = _with_newlines(reindent(code, indent, indent_unit_of(text)), newline)
    return Edit(first, last, code, first, last)
