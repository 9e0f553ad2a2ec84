"""Turn untrusted model text into something usable: code, docstrings, verdicts.

`code` cleans code answers, `docs` docstrings and doc comments, `markdown` explanations.
Every function here is pure (no I/O, no LSP, no model): features call them on what an engine
returned, and the validators' sentences go back to the model as `feedback` in a repair round.
Models wrap answers in markdown fences, think aloud in ``<think>`` blocks, open with
"Here is the code:" and close with "This function ...". None of that may reach a buffer.
"""

from lspilot.answers.code import (
    CodeBlock,
    code_blocks,
    drop_echoed_comment,
    indent_unit_of,
    pick_code,
    python_parses,
    reindent,
    strip_noise,
    strip_reasoning,
)
from lspilot.answers.docs import clean_docstring, doc_comment_problem, docstring_params_match
from lspilot.answers.markdown import safe_markdown

__all__ = [
    "CodeBlock",
    "clean_docstring",
    "code_blocks",
    "doc_comment_problem",
    "docstring_params_match",
    "drop_echoed_comment",
    "indent_unit_of",
    "pick_code",
    "python_parses",
    "reindent",
    "safe_markdown",
    "strip_noise",
    "strip_reasoning",
]
