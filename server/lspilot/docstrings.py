"""Reading Python docstrings in the google, numpy and sphinx styles.

`detect_style` tells the style, `documented_parameters` which parameters a docstring
documents, `parameter_descriptions` what it says of each, `summary_of` its first paragraph.
Validation of model output (`lspilot.answers`) and the offline engine both read docstrings
through here; writing them is the offline engine's (`lspilot.assistant.engines.docstrings`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lspilot.model import DocstringStyle

STYLES: tuple[DocstringStyle, ...] = ("google", "numpy", "sphinx")

_GOOGLE_HEADER = re.compile(
    r"^(\s*)(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters)"
    r":\s*$"
)
_GOOGLE_ENTRY = re.compile(r"^\s*((?:\\?\*){0,2}\w+)\s*(\([^)]*\))?\s*:")
_NUMPY_HEADER = re.compile(r"^(\s*)(Parameters|Other Parameters|Keyword Arguments|Params)\s*$")
_NUMPY_RULE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ENTRY = re.compile(r"^\s*((?:\\?\*){0,2}\w+(?:\s*,\s*(?:\\?\*){0,2}\w+)*)\s*(?::.*)?$")
_SPHINX_PARAM = re.compile(
    r"^\s*:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?((?:\\?\*){0,2}\w+)\s*:"
)
SPHINX_TYPE = re.compile(r"^\s*:type\s+((?:\\?\*){0,2}\w+)\s*:")
_SPHINX_FIELD = re.compile(r"^\s*:\w+")


@dataclass
class Entry:
    name: str
    start: int  # line index of the entry
    end: int  # one past its last line (continuations included)
    extra: list[tuple[int, int]] = field(default_factory=list)  # sphinx `:type` blocks


@dataclass
class Section:
    style: DocstringStyle
    header: int  # first line of the header (== start for sphinx)
    start: int  # first entry line
    end: int  # one past the last entry line
    indent: str  # entry indentation
    entries: list[Entry] = field(default_factory=list)


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def blank(line: str) -> bool:
    return not line.strip()


def _clean_name(raw: str) -> str:
    return raw.replace("\\", "").lstrip("*")


def _block_end(lines: list[str], index: int, indent: int, stop: int) -> int:
    """One past the last line after `index` indented deeper than `indent` (blank lines
    inside are kept, trailing ones are not)."""
    end = index + 1
    probe = end
    while probe < stop:
        if blank(lines[probe]):
            probe += 1
            continue
        if len(indent_of(lines[probe])) <= indent:
            break
        probe += 1
        end = probe
    return end


def _google(lines: list[str]) -> list[Section]:
    sections = []
    for index, line in enumerate(lines):
        header = _GOOGLE_HEADER.match(line)
        if not header:
            continue
        depth = len(header.group(1)) if index else -1  # the first line has lost its indent
        entries: list[Entry] = []
        probe = index + 1
        entry_indent: str | None = None
        end = index + 1
        while probe < len(lines):
            current = lines[probe]
            if blank(current):
                probe += 1
                continue
            width = len(indent_of(current))
            if width <= depth or (entry_indent is not None and width < len(entry_indent)):
                break
            if entry_indent is None:
                entry_indent = indent_of(current)
            entry = _GOOGLE_ENTRY.match(current)
            if width == len(entry_indent) and entry:
                stop = _block_end(lines, probe, width, len(lines))
                entries.append(Entry(_clean_name(entry.group(1)), probe, stop))
                end = probe = stop
                continue
            probe += 1
            end = probe
        indent = entry_indent if entry_indent is not None else indent_of(line) + "    "
        sections.append(Section("google", index, index + 1, end, indent, entries))
    return sections


def _numpy(lines: list[str]) -> list[Section]:
    sections = []
    for index, line in enumerate(lines[:-1]):
        header = _NUMPY_HEADER.match(line)
        if not header or not _NUMPY_RULE.match(lines[index + 1]):
            continue
        depth = len(indent_of(lines[index + 1]))  # the rule keeps its indent on line 0 too
        entries: list[Entry] = []
        probe = index + 2
        end = probe
        while probe < len(lines):
            current = lines[probe]
            if blank(current):
                probe += 1
                continue
            width = len(indent_of(current))
            next_is_rule = probe + 1 < len(lines) and _NUMPY_RULE.match(lines[probe + 1])
            entry = _NUMPY_ENTRY.match(current)
            if width < depth or next_is_rule or (width == depth and not entry):
                break
            if width == depth and entry:
                stop = _block_end(lines, probe, width, len(lines))
                for raw in entry.group(1).split(","):
                    entries.append(Entry(_clean_name(raw.strip()), probe, stop))
                end = probe = stop
                continue
            probe += 1
            end = probe
        sections.append(Section("numpy", index, index + 2, end, " " * depth, entries))
    return sections


def _sphinx(lines: list[str]) -> list[Section]:
    entries: dict[str, Entry] = {}
    first = last = -1
    indent = ""
    for index, line in enumerate(lines):
        param = _SPHINX_PARAM.match(line)
        typed = SPHINX_TYPE.match(line)
        if not param and not typed:
            continue
        stop = _block_end(lines, index, len(indent_of(line)), len(lines))
        match = param or typed
        assert match is not None
        name = _clean_name(match.group(1))
        if param:
            entries.setdefault(name, Entry(name, index, stop))
            indent = indent_of(line) if index or first < 0 else indent
        elif name in entries:
            entries[name].extra.append((index, stop))
        else:
            entries[name] = Entry(name, -1, -1, [(index, stop)])
        first = index if first < 0 else first
        last = stop
    if first < 0:
        return []
    if not indent and first == 0:
        indent = next((indent_of(x) for x in lines[1:] if x.strip()), "")
    listed = [e for e in entries.values() if e.start >= 0]
    return [Section("sphinx", first, first, last, indent, listed)]


_PARSERS = {"google": _google, "numpy": _numpy, "sphinx": _sphinx}


def parse_sections(lines: list[str], style: DocstringStyle | None) -> list[Section]:
    order = [style] if style else []
    order += [s for s in ("sphinx", "numpy", "google") if s != style]
    for candidate in order:
        sections = _PARSERS[candidate](lines)
        if sections:
            return sections
    return []


def detect_style(docstring: str) -> DocstringStyle | None:
    """The style of a docstring's parameter section, or None when it has none."""
    sections = parse_sections(docstring.splitlines(), None)
    return sections[0].style if sections else None


def documented_parameters(docstring: str, style: DocstringStyle | None = None) -> list[str] | None:
    """The parameter names a docstring documents, in order (stars stripped), or None when it
    has no parameter section at all. The style is detected; `style` is tried first."""
    sections = parse_sections(docstring.splitlines(), style)
    if not sections:
        return None
    return list(dict.fromkeys(entry.name for s in sections for entry in s.entries))


def parameter_descriptions(docstring: str, style: DocstringStyle | None = None) -> dict[str, str]:
    """The description written for each documented parameter, on one line."""
    lines = docstring.splitlines()
    out: dict[str, str] = {}
    for section in parse_sections(lines, style):
        for entry in section.entries:
            first = lines[entry.start]
            if section.style == "numpy":
                text = " ".join(x.strip() for x in lines[entry.start + 1 : entry.end])
            else:
                head = first.split(":", 2)[-1] if section.style == "sphinx" else first
                head = head.split(":", 1)[1] if section.style == "google" else head
                rest = (x.strip() for x in lines[entry.start + 1 : entry.end])
                text = " ".join([head.strip(), *rest])
            if text.strip():
                out[entry.name] = " ".join(text.split())
    return out


def summary_of(docstring: str | None) -> str | None:
    """The first paragraph of a docstring on one line, or None."""
    if not docstring:
        return None
    paragraph = docstring.strip().split("\n\n", 1)[0]
    if _GOOGLE_HEADER.match(paragraph.splitlines()[0]) or paragraph.lstrip().startswith(":"):
        return None
    return " ".join(paragraph.split()) or None


# ---- mending ------------------------------------------------------------------------------
