"""The checks of `lspilot doctor`: settings, engine, API key, endpoint, cache, privacy, clients.

Each check adds one-line findings to a section: what is the case, and for a problem the
command or setting that fixes it. A `FAIL` means the configured engine cannot work (or a
setting was ignored); it makes the command exit 1. No finding ever contains a secret.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lspilot.settings import (
    SOURCE_DEFAULT,
    SOURCE_ENVIRONMENT,
    SOURCE_LSPILOT_TOML,
    SOURCE_PYPROJECT,
    LoadedSettings,
    Settings,
    SettingsProblem,
)

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"

#: Variables that hold the API key, in the order load_settings lets them win.
KEY_VARIABLES = ("LSPILOT_API_KEY", "OPENAI_API_KEY")


@dataclass
class Finding:
    """One line of the report: a level, what is the case, and how to fix it (problems)."""

    level: str
    text: str
    fix: str = ""


@dataclass
class Section:
    """A heading with plain lines (tables) and findings."""

    title: str
    lines: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: str, text: str, fix: str = "") -> Finding:
        """Record a finding."""
        finding = Finding(level, text, fix)
        self.findings.append(finding)
        return finding


@dataclass
class Report:
    """Every section, plus what the verdict needs."""

    root: Path
    engine: str = ""
    model: str = ""
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str) -> Section:
        """A new section, appended."""
        section = Section(title)
        self.sections.append(section)
        return section

    def _at(self, level: str) -> list[Finding]:
        return [f for s in self.sections for f in s.findings if f.level == level]

    def failures(self) -> list[Finding]:
        """Problems that make the command fail."""
        return self._at(FAIL)

    def warnings(self) -> list[Finding]:
        """Problems that do not stop the engine."""
        return self._at(WARN)

    def verdict(self) -> str:
        """The last line: does the configured engine work?"""
        fails, warns = len(self.failures()), len(self.warnings())
        if fails:
            return (
                f"{fails} problem{'s' if fails != 1 else ''} to fix: the {self.engine} engine"
                " cannot work as configured."
            )
        extra = f" ({warns} warning{'s' if warns != 1 else ''})" if warns else ""
        if self.engine == "offline":
            return f"lspilot works, offline: no model is configured{extra}."
        return f"lspilot works: the {self.engine} engine with {self.model}{extra}."

    def as_json(self) -> dict[str, Any]:
        """The report as JSON data."""
        return {
            "root": str(self.root),
            "engine": self.engine,
            "model": self.model,
            "ok": not self.failures(),
            "verdict": self.verdict(),
            "sections": [
                {
                    "title": s.title,
                    "lines": s.lines,
                    "findings": [f.__dict__ for f in s.findings],
                }
                for s in self.sections
            ],
        }


async def diagnose(loaded: LoadedSettings, root: Path, *, files: list[Path], probe: bool) -> Report:
    """Run every check for the workspace at `root`."""
    from lspilot.assistant.selection import select_engine
    from lspilot.doctor_clients import check_clients
    from lspilot.doctor_probe import check_endpoint

    settings = loaded.settings
    report = Report(root)
    check_settings(report.section("Settings"), loaded, root)
    engine, reason = await select_engine(settings)
    try:
        report.engine = engine.id
        report.model = engine.describe().get("model", "")
        check_engine(report.section("Engine"), settings, engine, reason)
        key_section = report.section("API key")
        check_api_key(key_section, engine)
        if engine.id != "offline":
            endpoint = report.section(f"Endpoint {engine.describe().get('endpoint', '')}")
            if probe:
                await check_endpoint(endpoint, settings, engine, api_key_for(engine))
            else:
                endpoint.add(INFO, "not contacted (--no-probe)")
    finally:
        await engine.aclose()
    await check_cache(report.section("Cache"), settings)
    check_privacy(report.section("Privacy"), settings, root, files, engine.id)
    check_clients(report.section("Editor clients"))
    return report


# ---- settings ---------------------------------------------------------------------------


def check_settings(section: Section, loaded: LoadedSettings, root: Path) -> None:
    """Every value with the source that set it; every problem with where to fix it."""
    values = flatten(loaded.settings)
    width = max(len(k) for k in values)
    explicit = 0
    for key, value in values.items():
        source = loaded.sources.get(key, SOURCE_DEFAULT)
        explicit += source != SOURCE_DEFAULT
        section.lines.append(f"{key:<{width}}  {value:<24}  {describe_source(key, source, root)}")
    for problem in loaded.problems:
        section.add(FAIL, problem.message, settings_fix(problem, root))
    if not loaded.problems:
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
    import re

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


# ---- engine and key ---------------------------------------------------------------------


def check_engine(section: Section, settings: Settings, engine: Engine, reason: str) -> None:
    """Which engine answers, why, and with which models."""
    from lspilot.assistant.tasks import Task
    from lspilot.privacy import endpoint_warning

    if engine.id == "offline":
        section.add(OK, f"offline engine: {reason}")
        if settings.provider == "auto":
            section.add(
                INFO,
                "hovers, docstrings and review come from the syntax tree; generating code"
                " needs a model",
                "export OPENAI_API_KEY=..., or set baseUrl (LSPILOT_BASE_URL) to a local"
                " OpenAI-compatible server, or start Ollama",
            )
        return
    endpoint = engine.describe().get("endpoint", "")
    section.add(OK, f"{engine.id} engine at {endpoint}: {reason}")
    models = {task.value: engine.model_for(task) for task in Task}
    if len(set(models.values())) == 1:
        section.lines.append(f"model: {next(iter(models.values()))} (every task)")
    else:
        section.lines.append(
            "models: " + ", ".join(f"{task} {model}" for task, model in models.items())
        )
    warning = endpoint_warning(endpoint)
    if warning:
        section.add(WARN, warning, "use an https:// baseUrl")


def api_key_for(engine: Engine) -> str | None:
    """The key the engine sends (read here, never printed)."""
    if engine.id == "ollama":
        return "ollama"
    for name in KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def check_api_key(section: Section, engine: Engine) -> None:
    """Whether a key is set, and from which variable; never the key itself."""
    if engine.id == "offline":
        section.add(INFO, "not needed: the offline engine sends nothing anywhere")
        return
    if engine.id == "ollama":
        section.add(INFO, "not needed for Ollama")
        return
    variable = next((n for n in KEY_VARIABLES if os.environ.get(n)), None)
    if variable:
        section.add(OK, f"set in {variable} (not shown)")
        return
    endpoint = engine.describe().get("endpoint", "")
    if "api.openai.com" in endpoint:
        section.add(
            FAIL,
            f"no API key is set, and {endpoint} needs one",
            "export OPENAI_API_KEY=<your key> (or use the editor's 'lspilot: Set API key')",
        )
    else:
        section.add(INFO, "no API key set: fine for local servers that need none")


# ---- cache and privacy ------------------------------------------------------------------


async def check_cache(section: Section, settings: Settings) -> None:
    """Folder, writable, entries and size; a broken cache is a warning (memory fallback)."""
    from lspilot.assistant.cache import ResultCache
    from lspilot.cli_common import human_size
    from lspilot.cli_cache import read_stats

    cache = ResultCache(settings.cache)
    folder = cache.directory
    if not settings.cache.enabled:
        section.add(
            WARN,
            f"the cache is off: every hover and review asks the model again ({folder})",
            "set cache.enabled = true",
        )
        return
    problem = writable_problem(folder)
    if problem:
        section.add(
            WARN,
            f"{problem}: answers are kept in memory only and lost at exit",
            f"chmod u+rwx {folder}, or set cache.dir (LSPILOT_CACHE__DIR) to a writable folder",
        )
        return
    try:
        stats = await read_stats(cache)
    finally:
        await cache.aclose()
    if not stats["exists"]:
        section.add(OK, f"{folder}: writable, empty (created on first use)")
    elif stats["mode"] != "disk":
        section.add(
            WARN,
            f"the cache at {folder} cannot be opened: answers are kept in memory only",
            f"remove {folder} (`lspilot cache clear` or rm -r) or set cache.dir",
        )
    else:
        section.add(
            OK,
            f"{folder}: writable, {stats['entries']} entries,"
            f" {human_size(stats['size_bytes'])} of {settings.cache.size_limit_mb} MiB",
        )


def writable_problem(folder: Path) -> str | None:
    """Why lspilot cannot write in `folder` (or create it), or None."""
    target = folder
    while not target.exists():
        if target.parent == target:
            return f"no existing folder above {folder}"
        target = target.parent
    if not target.is_dir():
        return f"{target} is a file, not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".lspilot-doctor-"):
            pass
    except OSError as error:
        return f"cannot write in {target} ({error.strerror or error})"
    return None


def check_privacy(
    section: Section, settings: Settings, root: Path, files: list[Path], engine_id: str
) -> None:
    """Exclusion rules, redaction, and the verdict on files the user asked about."""
    from lspilot.privacy import IGNORE_FILE, Privacy

    patterns = settings.privacy.exclude
    section.lines.append(f"privacy.exclude: {', '.join(patterns) or '(none)'}")
    ignore = root / IGNORE_FILE
    if ignore.is_file():
        lines = ignore.read_text(encoding="utf-8", errors="replace").splitlines()
        count = sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))
        section.lines.append(f"{IGNORE_FILE}: {ignore} ({count} patterns)")
    else:
        section.lines.append(f"{IGNORE_FILE}: none in {root}")
    section.add(OK, f"{len(patterns)} exclusion patterns; excluded files get no model features")
    if not settings.privacy.redact_secrets and engine_id != "offline":
        section.add(
            WARN,
            "secret redaction is off: secrets in your code are sent to the model",
            "set privacy.redactSecrets = true",
        )
    privacy = Privacy(settings.privacy, root)
    for path in files:
        absolute = path if path.is_absolute() else Path.cwd() / path
        reason = privacy.excluded(absolute)
        if reason:
            section.add(INFO, f"{path}: no model features: {reason}")
        else:
            section.add(INFO, f"{path}: gets model features (no rule excludes it)")
