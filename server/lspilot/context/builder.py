"""The context of a task: what the code it is about uses, most relevant first, within a budget.

For the code between two offsets of a `Source`, in this order:

0. the imports and module-level names it uses (their statements, one line each);
1. the signatures and docstrings of the functions, classes and methods it calls or refers
   to that are defined in the same file;
2. the same for those defined in other files of the workspace, resolved through its imports
   with the symbol index (or, for languages without resolvable imports, by a name the index
   knows once);
3. the enclosing class: its header, docstring and method signatures.

Items are added until `max_tokens` (estimated at 4 characters a token) is spent; the first
item that does not fit ends the context, so the budget always cuts the least relevant part.
Only signatures and docstrings travel, never other bodies: the context (part of the cache
key) changes when what the code relies on changes, and not when an unrelated line does.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lspilot.context.index import FileEntry, Symbol, SymbolIndex
    from lspilot.syntax import Definition, Source

CHARS_PER_TOKEN = 4
HEADINGS = (
    "Imports and module-level names it uses",
    "Defined in this file",
    "Defined elsewhere in the workspace",
    "The enclosing class",
)
_NAME = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")


@dataclass(frozen=True)
class Item:
    """One piece of context and how relevant it is (lower is more)."""

    rank: int
    text: str

    @property
    def tokens(self) -> int:
        """Estimated tokens of the text."""
        return -(-len(self.text) // CHARS_PER_TOKEN)


def tokens_of(text: str) -> int:
    """Estimated tokens of `text` (the builder's own measure)."""
    return -(-len(text) // CHARS_PER_TOKEN)


def symbol_text(signature: str, docstring: str | None, language: str, indent: str = "") -> str:
    """A definition reduced to its signature and docstring."""
    if language == "python":
        head = f"{indent}{signature}:"
        if docstring:
            doc = docstring.strip().replace('"""', '\\"\\"\\"')
            body = "\n".join(f"{indent}    {line}".rstrip() for line in doc.splitlines())
            return (
                f'{head}\n{indent}    """{body.strip()}"""'
                if "\n" not in doc
                else (f'{head}\n{indent}    """\n{body}\n{indent}    """')
            )
        return f"{head}\n{indent}    ..."
    if docstring:
        doc = "\n".join(f"{indent} * {line}".rstrip() for line in docstring.strip().splitlines())
        return f"{indent}/**\n{doc}\n{indent} */\n{indent}{signature}"
    return f"{indent}{signature}"


#: Syntax nodes whose text is prose, not code (comments, the text of strings).
_PROSE = {"comment", "line_comment", "block_comment", "string_content", "string_fragment"}


def code_text(source: Source, start: int, end: int) -> str:
    """`source.text[start:end]` with comments and string contents blanked (same offsets)."""
    text = source.text
    if getattr(source, "tree", None) is None:
        return text[start:end]  # a language without a grammar: no definitions to find anyway
    first, last = source.offsets.byte(start), source.offsets.byte(end)
    blanks: list[tuple[int, int]] = []
    stack = [source.root]
    while stack:
        node = stack.pop()
        if node.end_byte <= first or node.start_byte >= last:
            continue
        if node.type in _PROSE:
            blanks.append((max(source.start(node), start), min(source.end(node), end)))
            continue
        stack.extend(node.children)
    out, at = [], start
    for s, e in sorted(blanks):
        if s >= at:
            out += [text[at:s], re.sub(r"\S", " ", text[s:e])]
            at = e
    out.append(text[at:end])
    return "".join(out)


def names_used(source: Source, start: int, end: int, *, code_only: bool = False) -> list[str]:
    """Names (and `a.b` attribute paths) used between the offsets: calls first, in order.

    `code_only`: not the words of comments and docstrings (review: a word in prose that
    happens to name a function is no dependency).
    """
    text = code_text(source, start, end) if code_only else source.text[start:end]
    found = list(source.calls_in(start, end))
    found += [m.group(0) for m in _NAME.finditer(text) if not keyword.iskeyword(m.group(0))]
    return list(dict.fromkeys(found))


class ContextBuilder:
    """Builds the context for one piece of code of one file."""

    def __init__(
        self,
        source: Source,
        *,
        index: SymbolIndex | None = None,
        path: str | None = None,
    ) -> None:
        self.source = source
        self.index = index
        self.path = path  # relative to the index root, for relative imports

    def build(
        self,
        start: int,
        end: int,
        max_tokens: int,
        *,
        focus: tuple[int, int] | None = None,
        ranks: tuple[int, ...] = (0, 1, 2, 3),
    ) -> str:
        """The context text for `source.text[start:end]` within `max_tokens`.

        With `focus` (a part of the span, e.g. a comment asking for code), what the focus
        uses comes first within each rank; `ranks` keeps only those kinds of item (review:
        what the code calls, defined outside it).
        """
        if max_tokens <= 0:
            return ""
        items = self.items(start, end, code_only=ranks == (1, 2))
        if focus is not None:
            known = set(items)  # what the span itself defines stays out
            first = [item for item in self.items(*focus) if item in known]
            items = sorted(dict.fromkeys([*first, *items]), key=lambda item: item.rank)
        items = [item for item in items if item.rank in ranks]
        # Review (ranks 1, 2) goes without headings: its items say where they are from, and
        # the tokens are paid per chunk.
        headings = ranks != (1, 2)
        return render(items, max_tokens, self._comment(), headings=headings)

    def items(self, start: int, end: int, *, code_only: bool = False) -> list[Item]:
        """Every candidate item, in order of relevance."""
        source = self.source
        items: list[Item] = []
        seen: set[object] = set()
        at = min(max(start, 0), len(source.text))
        inside = source.enclosing_definition(at)
        for name in names_used(source, start, end, code_only=code_only):
            head, _, attr = name.partition(".")
            if head in ("self", "cls", "this") and attr:
                found = self._member(inside, attr)
                if found is not None and not (start <= found.start < end):
                    key = ("local", found.start)
                    if key not in seen:
                        seen.add(key)
                        items.append(Item(1, self._local_text(found)))
                continue
            definition = source.definition_of(head, at)
            if definition is None:
                if not attr:
                    items += self._elsewhere_by_name(head, seen)
                continue
            if start <= definition.start < end or definition.kind == "parameter":
                continue  # defined by the code itself
            key = ("local", definition.start)
            if definition.kind == "import":
                if key not in seen:
                    seen.add(key)
                    items.append(Item(0, definition.signature))
                items += self._imported(definition, head, attr, seen)
            elif definition.kind == "variable":
                if definition.container is None and not definition.indent and key not in seen:
                    seen.add(key)
                    items.append(Item(0, definition.signature))
            elif key not in seen:
                seen.add(key)
                items.append(Item(1, self._local_text(definition)))
        items += self._enclosing_class(inside, start, end)
        return sorted(items, key=lambda item: item.rank)  # stable: order of use within a rank

    # ---- same file ------------------------------------------------------------------------

    def _local_text(self, d: Definition) -> str:
        text = symbol_text(d.signature, d.docstring, self.source.language)
        return f"{self._comment()} in class {d.container}\n{text}" if d.container else text

    def _member(self, inside: Definition | None, name: str) -> Definition | None:
        cls = inside.container if inside is not None else None
        if cls is None:
            return None
        for d in self.source.definitions():
            if d.container == cls and d.name == name and d.kind == "method":
                return d
        return None

    def _enclosing_class(self, inside: Definition | None, start: int, end: int) -> list[Item]:
        cls_name = inside.container if inside is not None else None
        if inside is not None and inside.kind == "class" and inside.start < start:
            cls_name = inside.name
        if cls_name is None:
            return []
        definitions = self.source.definitions()
        cls = next((d for d in definitions if d.kind == "class" and d.name == cls_name), None)
        if cls is None or (start <= cls.start and cls.end <= end):
            return []
        language = self.source.language
        parts = [symbol_text(cls.signature, cls.docstring, language)]
        if language == "python":
            parts[0] = parts[0].removesuffix("\n    ...")
        for d in definitions:
            if d.container == cls_name and d.kind == "method" and not start <= d.start < end:
                parts.append(f"    {d.signature}: ...")
        return [Item(3, "\n".join(parts))]

    def _comment(self) -> str:
        """The line comment of the language the context is written in (the task's file)."""
        marker = self.source.LINE_COMMENT
        return marker if marker.isprintable() else "#"  # "\0": a language without one

    # ---- other files ----------------------------------------------------------------------

    def _imported(
        self, statement: Definition, head: str, attr: str, seen: set[object]
    ) -> list[Item]:
        if self.index is None or self.source.language != "python":
            return []
        target = _import_target(statement.signature, head)
        if target is None:
            return []
        module, original = target
        module = self._absolute(module)
        if original is None:  # `import pkg.mod as head`: head.attr is in that module
            return self._symbol_item(self.index.module(module), attr, seen) if attr else []
        # `from module import original as head`: a function/class, or a submodule.
        entry = self.index.module(module)
        if entry is not None and entry.symbol(original) is not None:
            return self._symbol_item(entry, original, seen)
        submodule = self.index.module(f"{module}.{original}" if module else original)
        return self._symbol_item(submodule, attr, seen) if attr else []

    def _absolute(self, module: str) -> str:
        if not module.startswith(".") or self.path is None:
            return module
        dots = len(module) - len(module.lstrip("."))
        package = self.path.split("/")[:-1]
        if dots > 1:
            package = package[: len(package) - (dots - 1)]
        rest = module.lstrip(".")
        return ".".join([*package, rest] if rest else package)

    def _symbol_item(self, entry: FileEntry | None, name: str, seen: set[object]) -> list[Item]:
        if entry is None or entry.path == self.path:
            return []
        symbol = entry.symbol(name)
        if symbol is None:
            return []
        return self._remote(entry, symbol, seen)

    def _remote(self, entry: FileEntry, symbol: Symbol, seen: set[object]) -> list[Item]:
        key = ("remote", entry.path, symbol.name)
        if key in seen:
            return []
        seen.add(key)
        text = symbol_text(symbol.signature, symbol.docstring, entry.language)
        if symbol.kind == "class":
            methods = [
                s for s in entry.symbols if s.container == symbol.name and s.name == "__init__"
            ]
            if entry.language == "python":
                text = text.removesuffix("\n    ...")
            text += "".join(f"\n    {m.signature}: ..." for m in methods)
        return [Item(2, f"{self._comment()} from {entry.path}\n{text}")]

    def _elsewhere_by_name(self, name: str, seen: set[object]) -> list[Item]:
        """Languages without resolvable imports: a name defined exactly once elsewhere."""
        if self.index is None or self.source.language == "python":
            return []
        found = [
            (e, s) for e, s in self.index.find(name, self.source.language) if e.path != self.path
        ]
        return self._remote(*found[0], seen) if len(found) == 1 else []


def _import_target(statement: str, bound: str) -> tuple[str, str | None] | None:
    """For the name `bound` of an import statement: (module, imported name or None)."""
    try:
        tree = ast.parse(statement.strip())
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if (alias.asname or alias.name) == bound:
                    return module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname == bound:
                    return alias.name, None
                if alias.asname is None and alias.name.split(".")[0] == bound:
                    return alias.name if "." not in alias.name else bound, None
    return None


def render(items: list[Item], max_tokens: int, comment: str, *, headings: bool = True) -> str:
    """The items under their headings (`comment` lines), stopping at the first that does not
    fit."""
    out: list[str] = []
    spent, rank = 0, -1
    for item in items:
        heading = f"{comment} {HEADINGS[item.rank]}" if item.rank != rank and headings else ""
        cost = item.tokens + tokens_of(heading) + 1
        if spent + cost > max_tokens:
            break
        if heading:
            out.append(("\n" if out else "") + heading)
        rank = item.rank
        out.append(item.text)
        spent += cost
    return "\n".join(out)
