"""A review issue's `fix` gets the checks every other edit gets before anyone may apply it.

The model's replacement text is cleaned (fences, indentation to the code it replaces, secrets
put back where redaction left placeholders) and must keep the reviewed code valid: Python that
parsed must still parse, and no language gains tree-sitter errors. A fix that fails any check
is dropped: the issue is still shown, with no one-click edit.
"""

from __future__ import annotations

from lspilot.answers import pick_code, python_parses, reindent
from lspilot.redaction import restore_secrets
from lspilot.syntax import LANGUAGES, parse

_FENCES = ("```", "~~~")


def checked_fix(text: str, start: int, end: int, fix: str, language: str) -> str | None:
    """The cleaned replacement for ``text[start:end]``, or None when it is not safe to offer."""
    code = fix.replace("\r\n", "\n").replace("\r", "\n")
    if any(fence in code for fence in _FENCES):
        code = pick_code(code, language)
    restored = restore_secrets(code, [text])
    if restored is None:
        return None  # a placeholder would land in the file instead of the user's secret
    code = restored
    line_begin = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    lead = text[line_begin:start]
    if "\n" in code.strip("\n") and not lead.strip():
        # Several lines replacing code that starts a line: they take that line's indentation
        # (the first line continues after the indentation already in the file).
        code = reindent(code, lead)[len(lead) :]
        if text[start:end].endswith("\n"):
            code += "\n"
    if code == text[start:end]:
        return None
    after = text[:start] + code + text[end:]
    if language == "python" and python_parses(text) is None:
        return code if python_parses(after) is None else None
    if (
        language in LANGUAGES
        and parse(after, language).error_count() > parse(text, language).error_count()
    ):
        return None
    return code
