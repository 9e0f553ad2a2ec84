"""Prompt templates of the OpenAI-compatible engine, one per task.

`PROMPT_VERSION` is part of the cache key: bump it whenever a template changes what the model
is asked, so that answers to the old prompt are not served for the new one.
"""

from __future__ import annotations

from typing import Any

from lspilot.assistant.tasks import (
    AnyTaskInput,
    DocumentInput,
    ExplainInput,
    GenerateInput,
    Parameter,
    ReviewInput,
)

PROMPT_VERSION = "3"

Message = dict[str, str]

_EXPLAIN_SYSTEM = (
    "You are a senior engineer explaining code to a colleague inside their editor. "
    "Answer in concise GitHub-flavoured markdown: one short summary sentence, then what the "
    "code does and why, its inputs, outputs and side effects, and anything surprising. "
    "No preamble, no restating the code, at most about 200 words."
)

_DOCUMENT_SYSTEM = (
    "You write documentation comments for code. Reply with the docstring text ONLY: no "
    "surrounding quotes, no comment markers (no /** */, ///, # or //), no code fence, no "
    "explanation before or after. Describe what the definition does, not how."
)

_GENERATE_SYSTEM = (
    "You write code that implements what a comment asks for, to be inserted directly below "
    "that comment. Reply with ONLY the code, in a single fenced code block in the given "
    "language, with no explanation before or after. Do not repeat the comment or the code "
    "around it; use names already defined in the surrounding code where they fit."
)

# Sent with every chunk: kept short (a review's prompt is mostly this and the chunk).
_REVIEW_SYSTEM = (
    "You review code for real problems (bugs, wrong logic, unhandled errors, security, leaks, "
    "misleading names), not style. Reply with JSON only: "
    '{"issues": [{"quote": exact code, one line at most, "message": one sentence, '
    '"severity": "error"|"warning"|"information"|"hint", "fix": replacement for quote or null}]}.'
)

_STYLE_GUIDE = {
    "google": (
        "Google style: a one-line summary, a blank line, then `Args:`, `Returns:`, "
        "`Yields:`, `Raises:` and `Attributes:` sections as needed, entries indented by 4."
    ),
    "numpy": (
        "NumPy style: a one-line summary, a blank line, then `Parameters`, `Returns`, "
        "`Yields`, `Raises` and `Attributes` sections, each underlined with dashes."
    ),
    "sphinx": (
        "Sphinx (reST) style: a one-line summary, a blank line, then `:param name:`, "
        "`:type name:`, `:returns:`, `:rtype:` and `:raises Error:` fields as needed."
    ),
}

_DOC_CONVENTION = {
    "javascript": "JSDoc tags (@param {type} name, @returns)",
    "typescript": "TSDoc tags (@param name - description, @returns; no types: TypeScript has them)",
    "tsx": "TSDoc tags (@param name - description, @returns; no types: TypeScript has them)",
    "c": "Doxygen tags (@param name, @return)",
    "cpp": "Doxygen tags (@param name, @return, @throws)",
    "java": "Javadoc tags (@param, @return, @throws)",
    "rust": "rustdoc markdown (# Arguments, # Errors, # Panics sections as they apply)",
    "go": "a Go doc comment: plain sentences, the first starting with the declared name",
}

#: JSON schema for review answers, sent as `response_format` where the endpoint takes it.
REVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "quote": {"type": "string"},
                    "message": {"type": "string"},
                    "severity": {
                        "type": "string",
                        "enum": ["error", "warning", "information", "hint"],
                    },
                    "fix": {"type": ["string", "null"]},
                },
                "required": ["quote", "message", "severity", "fix"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["issues"],
    "additionalProperties": False,
}


def review_response_format() -> dict[str, Any]:
    """The `response_format` argument that asks for review JSON matching `REVIEW_SCHEMA`."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "review", "strict": True, "schema": REVIEW_SCHEMA},
    }


def clip(text: str, limit: int, *, keep: str = "head") -> str:
    """Cut `text` to at most `limit` characters, keeping its head or its tail.

    Context is clipped (never the code asked about first) so that a request stays within
    `limits.max_input_chars`; a marker line says that something was left out.
    """
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    if keep == "tail":
        return "… (earlier code omitted)\n" + text[len(text) - limit :]
    return text[:limit] + "\n… (rest omitted)"


def _fence(code: str, language: str) -> str:
    return f"```{language}\n{code.rstrip()}\n```"


def _param_line(p: Parameter) -> str:
    prefix = {"var_positional": "*", "var_keyword": "**"}.get(p.kind, "")
    text = prefix + p.name
    if p.annotation:
        text += f": {p.annotation}"
    if p.default is not None:
        text += f" = {p.default}"
    return "- " + text


def _messages(system: str, parts: list[str]) -> list[Message]:
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]


def _explain(request: ExplainInput, budget: int) -> list[Message]:
    code = clip(request.code, budget)
    context = clip(request.context, budget - len(code))
    what = f"the {request.kind} `{request.name}`" if request.name and request.kind else "this code"
    parts = [f"Explain {what} ({request.language})."]
    if context:
        parts.append("Context from the same project:\n" + _fence(context, request.language))
    parts.append("The code:\n" + _fence(code, request.language))
    return _messages(_EXPLAIN_SYSTEM, parts)


def _document(request: DocumentInput, budget: int) -> list[Message]:
    system = _DOCUMENT_SYSTEM
    if request.language == "python":
        system += " " + _STYLE_GUIDE[request.style]
    elif request.language in _DOC_CONVENTION:
        system += f" Use {_DOC_CONVENTION[request.language]}, without the comment markers."
    parts = [f"Write the docstring of the {request.kind} `{request.name}` ({request.language})."]
    params = [p for p in request.parameters if p.name not in ("self", "cls")]
    if params:
        names = ", ".join(f"`{p.name}`" for p in params)
        parts.append(
            "Document exactly these parameters, no others and none left out "
            f"({names}):\n" + "\n".join(_param_line(p) for p in params)
        )
    elif request.kind != "class":
        parts.append("It takes no parameters: do not document any.")
    if request.returns:
        parts.append(f"It returns: {request.returns}")
    if request.yields:
        parts.append("It is a generator: document what it yields.")
    if request.raises:
        parts.append("It raises: " + ", ".join(request.raises))
    if request.attributes:
        parts.append("Class attributes: " + ", ".join(request.attributes))
    if request.existing_docstring:
        parts.append(
            "The current docstring, to update (keep what is still true):\n"
            + request.existing_docstring
        )
    code = clip(request.code, budget)
    context = clip(request.context, budget - len(code))
    if context:
        parts.append("Context from the same project:\n" + _fence(context, request.language))
    parts.append("The definition:\n" + _fence(code, request.language))
    return _messages(system, parts)


def _generate(request: GenerateInput, budget: int) -> list[Message]:
    comment = clip(request.comment, budget // 4)
    rest = max(budget - len(comment), 0)
    # The code right above the comment matters most, so keep the tail of `before`.
    before = clip(request.before, rest * 2 // 3, keep="tail")
    after = clip(request.after, rest - len(before))
    parts = [f"Language: {request.language}.", "The comment asks for:\n" + comment]
    if request.indent:
        parts.append(f"It will be inserted at an indentation of {len(request.indent)} columns.")
    if before:
        parts.append("Code above the comment:\n" + _fence(before, request.language))
    if after:
        parts.append("Code below the insertion point:\n" + _fence(after, request.language))
    context = clip(request.context, max(budget - len(comment) - len(before) - len(after), 0))
    if context:
        parts.append("Context from the same project:\n" + _fence(context, request.language))
    parts.append(f"Reply with one ```{request.language} block containing only the new code.")
    return _messages(_GENERATE_SYSTEM, parts)


def _review(request: ReviewInput, budget: int) -> list[Message]:
    code = clip(request.code, budget)
    context = clip(request.context, budget - len(code))
    what = f"`{request.name}`" if request.name else "this code"
    parts = []
    if context:
        parts.append("Context (not to review):\n" + _fence(context, request.language))
    parts.append(f"Review {what}:\n" + _fence(code, request.language))  # the fence names it
    return _messages(_REVIEW_SYSTEM, parts)


def build_messages(request: AnyTaskInput, max_input_chars: int) -> list[Message]:
    """The chat messages for `request`, with its repair feedback appended when present."""
    if isinstance(request, ExplainInput):
        messages = _explain(request, max_input_chars)
    elif isinstance(request, DocumentInput):
        messages = _document(request, max_input_chars)
    elif isinstance(request, GenerateInput):
        messages = _generate(request, max_input_chars)
    else:
        messages = _review(request, max_input_chars)
    if request.feedback:
        messages[-1]["content"] += (
            f"\n\nYour previous answer was rejected: {request.feedback}\nAnswer again, fixing that."
        )
    return messages
