"""The settings part of `lspilot doctor`: every value, who set it, and what was wrong."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from lspilot.cli.doctor.report import FAIL, KEY_VARIABLES, OK, WARN, Section
from lspilot.settings import (
    SOURCE_DEFAULT,
    SOURCE_ENVIRONMENT,
    SOURCE_LSPILOT_TOML,
    SOURCE_PYPROJECT,
    LoadedSettings,
    Settings,
    SettingsProblem,
)


def check_settings(section: Section, loaded: LoadedSettings, root: Path) -> None:
    """Every value with the source that set it; every problem with where to fix it."""
    values = flatten(loaded.settings)
    width = max(len(k) for k in values)
    sources = {key: loaded.sources.get(key, SOURCE_DEFAULT) for key in values}
    # What was set explicitly first: that is what the user wants to see confirmed.
    order = sorted(values, key=lambda k: (sources[k] == SOURCE_DEFAULT, k))
    explicit = sum(1 for s in sources.values() if s != SOURCE_DEFAULT)
    for key in order:
        where = describe_source(key, sources[key], root)
        section.lines.append(f"{key:<{width}}  {values[key]}  ({where})")
    for state in loaded.trust:
        if state.trusted:
            section.add(
                OK, f"{state.path} is trusted: its provider, endpoint and privacy settings apply"
            )
        elif not state.ignored:
            section.lines.append(f"{state.path} is not trusted (it sets nothing restricted)")
    for problem in loaded.problems:
        if problem.untrusted:
            # Not broken, but the user should know what the workspace asked for.
            section.add(WARN, problem.message, f"review it, then run `lspilot trust {root}`")
            continue
        section.add(FAIL, problem.message, settings_fix(problem, root))
    if not [p for p in loaded.problems if not p.untrusted]:
        section.add(OK, f"settings are valid ({explicit} set, the rest are defaults)")


def flatten(settings: Settings) -> dict[str, str]:
    """Dotted camelCase key → the value as shown (the API key only as set / not set)."""
    data = settings.model_dump(by_alias=True, mode="json")
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(f"{prefix}{name}.", inner)
        else:
            flat[prefix.rstrip(".")] = "null" if value is None else _shown(value)

    walk("", data)
    flat["apiKey"] = "(set, not shown)" if settings.api_key else "(not set)"
    return dict(sorted(flat.items()))


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def env_variable(key: str) -> str | None:
    """The environment variable that set `key` (dotted camelCase), if one is set now."""
    candidates: list[str] = []
    if key == "baseUrl":
        candidates += ["LSPILOT_BASE_URL", "OPENAI_BASE_URL"]
    elif key == "apiKey":
        candidates += list(KEY_VARIABLES)
    snake = "__".join(re.sub(r"(?<!^)([A-Z])", r"_\1", part).upper() for part in key.split("."))
    candidates.append(f"LSPILOT_{snake}")
    upper = {k.upper(): v for k, v in os.environ.items()}
    return next((c for c in candidates if upper.get(c)), None)


def describe_source(key: str, source: str, root: Path) -> str:
    """Where a value came from, precisely enough to go and change it."""
    if source == SOURCE_ENVIRONMENT:
        variable = env_variable(key)
        return f"environment ({variable})" if variable else source
    if source == SOURCE_PYPROJECT:
        return f"{root / 'pyproject.toml'} [tool.lspilot]"
    if source == SOURCE_LSPILOT_TOML:
        return str(root / ".lspilot.toml")
    return source


def settings_fix(problem: SettingsProblem, root: Path) -> str:
    """Where to change a bad setting."""
    if problem.source == SOURCE_PYPROJECT:
        return f"edit [tool.lspilot] in {root / 'pyproject.toml'}"
    if problem.source == SOURCE_LSPILOT_TOML:
        return f"edit {root / '.lspilot.toml'}"
    if problem.source == SOURCE_ENVIRONMENT:
        variable = env_variable(problem.key) if problem.key else None
        return f"fix or unset {variable}" if variable else "fix or unset that variable"
    return "fix it in the editor's lspilot settings"
