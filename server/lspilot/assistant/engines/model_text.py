"""Turning a model's text into task results: review JSON found inside prose, fences and
thinking, explanations and docstrings cleaned of chatter, cut answers used where they can be.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from lspilot.answers import clean_docstring
from lspilot.assistant.engines.streaming import StreamState
from lspilot.assistant.errors import BadOutputError, IncompleteAnswerError
from lspilot.assistant.tasks import (
    AnyTaskInput,
    DocumentInput,
    DocumentResult,
    ExplainInput,
    ExplainResult,
    GenerateInput,
    GenerateResult,
    ResultMeta,
    ReviewInput,
    ReviewIssue,
    ReviewResult,
    TaskResult,
)

_THINK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)


def _json_candidates(text: str) -> list[Any]:
    """Every JSON value that starts at a `{` or `[` in `text`, in order of appearance."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        found.append(value)
        if isinstance(value, dict) and "issues" in value:
            break
    return found


def parse_review_json(text: str) -> list[ReviewIssue]:
    """Issues from review output: tolerant of prose and fences around the JSON.

    Invalid issues are dropped; raises `BadOutputError` when no JSON object or array is found.
    """
    text = _THINK.sub("", text)
    raw: list[Any] | None = None
    for value in _json_candidates(text):
        if isinstance(value, dict) and isinstance(value.get("issues"), list):
            raw = value["issues"]
            break
        if isinstance(value, list) and raw is None:
            raw = value
        if isinstance(value, dict) and raw is None and {"quote", "message"} <= value.keys():
            raw = [value]
    if raw is None:
        raise BadOutputError("the review answer contained no JSON issues object")
    issues: list[ReviewIssue] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("severity"), str):
            item = {**item, "severity": item["severity"].lower()}
        item = {k: v for k, v in item.items() if k in ReviewIssue.model_fields}
        try:
            issues.append(ReviewIssue.model_validate(item))
        except ValidationError:
            continue
    return issues


def to_result(request: AnyTaskInput, text: str, meta: ResultMeta) -> TaskResult:
    """The task result for the model's `text`; raises `BadOutputError` when it is unusable."""
    if not text.strip():
        raise BadOutputError("the model returned an empty answer")
    if isinstance(request, ExplainInput):
        return ExplainResult(markdown=_THINK.sub("", text).strip() or text.strip(), meta=meta)
    if isinstance(request, DocumentInput):
        # clean_docstring drops chatter; if it judged everything chatter, keep the plain text
        # (minus quotes) and let the feature's validator decide.
        docstring = clean_docstring(text) or _THINK.sub("", text).strip().strip("\"'").strip()
        if not docstring:
            raise BadOutputError("the model returned an empty docstring")
        return DocumentResult(docstring=docstring, meta=meta)
    if isinstance(request, GenerateInput):
        return GenerateResult(code=text, meta=meta)
    return ReviewResult(issues=parse_review_json(text), meta=meta)


def incomplete_result(request: AnyTaskInput, state: StreamState, meta: ResultMeta) -> TaskResult:
    """What of a cut-short answer can be used: an explanation marked as cut, review issues
    whose JSON closed; else `IncompleteAnswerError` (a half docstring or half the code would
    break the buffer)."""
    why = state.why_incomplete()
    text = _THINK.sub("", state.text).strip()
    if isinstance(request, ExplainInput) and text:
        note = f"\n\n*(The answer was cut short: {why}.)*"
        return ExplainResult(markdown=text + note, meta=meta)
    if isinstance(request, ReviewInput) and text:
        try:
            return ReviewResult(issues=parse_review_json(text), meta=meta)
        except BadOutputError:
            pass
    raise IncompleteAnswerError(f"the answer was cut short: {why}")
