"""Print the settings table (markdown) from the settings model, for README and docs.

Usage: python tools/settings_table.py  (tests/unit/test_docs.py checks the README has it)
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from lspilot.settings import Settings


def rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str]]:
    """(dotted camelCase key, default as JSON, description) for every leaf setting."""
    out: list[tuple[str, str, str]] = []
    defaults = model()
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        key = prefix + (info.alias or name)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.extend(rows(annotation, key + "."))
            continue
        value: Any = getattr(defaults, name)
        out.append((key, json.dumps(value), info.description or ""))
    return out


def table() -> str:
    """The markdown table."""
    lines = ["| setting | default | what it does |", "|---|---|---|"]
    for key, default, description in rows(Settings):
        lines.append(f"| `{key}` | `{default}` | {description} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(table() + "\n")
