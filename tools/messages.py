"""List every user-facing message in the server's code (tests/unit/test_docs.py uses it).

A user-facing message is a sentence the user can see: an `AssistantError`'s `user_message`,
what goes to `window/showMessage` (`ShowMessageParams(message=...)`, `tell(...)`), a settings
problem (`.problem(key, source, message)`), a doctor finding (`section.add(level, text, fix)`),
and the command line's `error:` lines. Each is reduced to its *stable fragment*: the longest
run of literal text between placeholders, so that `f"lspilot: {feature} failed unexpectedly
({name}); see the log."` must be explained in docs/troubleshooting.md by a line containing
"failed unexpectedly".

Usage: python tools/messages.py   (prints file:line and the fragment of each message)
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "server" / "lspilot"
MIN_FRAGMENT = 12
# Calls whose string arguments the user reads, and which argument positions count.
CALLS = {"tell": (1,), "ShowMessageParams": (), "problem": (2,), "add": (1, 2)}


@dataclass(frozen=True)
class Message:
    path: str
    line: int
    fragment: str


def _pieces(node: ast.AST) -> list[str]:
    """The literal text runs of a string expression (f-strings, concatenation, `+`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out: list[str] = []
        for value in node.values:
            out.extend(_pieces(value) if isinstance(value, ast.Constant) else ["\0"])
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [*_pieces(node.left), "\0", *_pieces(node.right)]
    if isinstance(node, ast.IfExp):
        return [*_pieces(node.body), "\0", *_pieces(node.orelse)]
    return ["\0"]


def fragment(node: ast.AST) -> str | None:
    """The longest literal run of a message (whitespace folded), if long enough to matter."""
    text = "".join(_pieces(node))
    runs = [" ".join(run.split()) for run in re.split(r"\0|\{[^}]*\}", text)]
    runs = [run.strip(" .;:,`") for run in runs]
    best = max(runs, key=len, default="")
    return best if len(best) >= MIN_FRAGMENT else None


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _constants(tree: ast.Module) -> dict[str, ast.AST]:
    """Module-level string constants (`CHANGED = "..."`), to resolve `tell(ls, CHANGED...)`."""
    found: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and isinstance(
                node.value, ast.Constant | ast.JoinedStr
            ):
                found[target.id] = node.value
    return found


def _resolve(node: ast.AST, constants: dict[str, ast.AST]) -> ast.AST:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return _resolve(node.func.value, constants)
    if isinstance(node, ast.Name):
        return constants.get(node.id, node)
    return node


def _messages(path: Path) -> Iterator[tuple[int, ast.AST]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _constants(tree)
    for line, node in _raw_messages(tree, "doctor" in path.parts):
        yield line, _resolve(node, constants)


def _raw_messages(tree: ast.Module, in_doctor: bool) -> Iterator[tuple[int, ast.AST]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "add" and not in_doctor:
                continue
            if name in CALLS:
                positions = CALLS[name]
                for index, arg in enumerate(node.args):
                    if not positions or index in positions:
                        yield node.lineno, arg
                for keyword in node.keywords:
                    if keyword.arg in {"message", "user_message", "fix"}:
                        yield node.lineno, keyword.value
            elif name == "write" and node.args and "error:" in "".join(_pieces(node.args[0])):
                yield node.lineno, node.args[0]
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if "user_message" in targets or "message" in targets:
                yield node.lineno, node.value


def messages() -> list[Message]:
    """Every user-facing message of the package, with where it is."""
    found: list[Message] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, node in _messages(path):
            text = fragment(node)
            if text:
                found.append(Message(str(path.relative_to(ROOT)), line, text))
    return found


if __name__ == "__main__":
    for message in messages():
        sys.stdout.write(f"{message.path}:{message.line}: {message.fragment}\n")
