"""The values the syntax layer hands out: plain frozen dataclasses, string offsets only.

Every offset is a Python string offset (code points) into `Source.text`; tree-sitter's UTF-8
byte offsets never leave the syntax package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lspilot.model import Parameter

DefinitionKind = Literal["function", "method", "class", "variable", "import", "parameter"]
ChunkKind = Literal["function", "class", "method", "class body", "module"]


@dataclass(frozen=True)
class Identifier:
    """A name in the code. `receiver` is the object text of an attribute access (`self`)."""

    name: str
    start: int
    end: int
    receiver: str | None = None


@dataclass(frozen=True)
class Definition:
    """Something a name can be bound to: a function, method, class, variable, import, parameter.

    Only functions, methods and classes fill the structural fields (parameters, docstring,
    body offsets...); variables, imports and parameters carry name, offsets, signature (their
    statement on one line) and text.
    """

    name: str
    kind: DefinitionKind
    start: int  # whole node, decorators included
    end: int
    name_start: int
    name_end: int
    header_end: int  # just after the ':' (Python) or '{' (JavaScript) of the header
    body_start: int  # first body statement
    signature: str  # the header on one line, without the trailing ':'
    text: str
    parameters: tuple[Parameter, ...] = ()
    returns: str | None = None
    raises: tuple[str, ...] = ()
    yields: bool = False
    attributes: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    docstring: str | None = None
    docstring_start: int | None = None  # the whole string statement (or doc comment)
    docstring_end: int | None = None
    is_async: bool = False
    decorators: tuple[str, ...] = ()  # decorator expressions, without the '@'
    indent: str = ""
    body_indent: str = "    "
    container: str | None = None  # the enclosing class, if any

    @property
    def qualified_name(self) -> str:
        """`Class.method` for members, the bare name otherwise."""
        return f"{self.container}.{self.name}" if self.container else self.name


@dataclass(frozen=True)
class CommentBlock:
    """Consecutive comment lines; `text` has the comment markers stripped."""

    start: int  # the first comment marker
    end: int  # end of the last comment line (before its line break)
    text: str
    indent: str


@dataclass(frozen=True)
class Chunk:
    """A unit of review: a top-level definition, a method of a big class, or a run of
    top-level statements ("module")."""

    name: str
    kind: ChunkKind
    start: int
    end: int
    text: str
