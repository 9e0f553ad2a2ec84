"""Value types shared by every layer: task names, docstring style, severity, parameters.

A leaf module (it imports nothing of lspilot), so that the syntax layer, the settings and the
provider layer can all use the same types without importing each other.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Task(StrEnum):
    """The four things the assistant can be asked to do."""

    EXPLAIN = "explain"
    DOCUMENT = "document"
    GENERATE = "generate"
    REVIEW = "review"


DocstringStyle = Literal["google", "numpy", "sphinx"]
Severity = Literal["error", "warning", "information", "hint"]


class Parameter(BaseModel):
    """One parameter of a function signature, as written in the source."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    annotation: str | None = None
    default: str | None = None
    kind: Literal["positional", "keyword", "var_positional", "var_keyword"] = "positional"
