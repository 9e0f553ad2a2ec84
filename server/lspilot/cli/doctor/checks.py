"""The checks of `lspilot doctor`: engine, API key, cache and privacy.

Settings, the endpoint probe and the editor clients are in `settings`, `probe` and `clients`
beside this module; the report they all write to is `report`.

Each check adds one-line findings to a section: what is the case, and for a problem the
command or setting that fixes it. A `FAIL` means the configured engine cannot work (or a
setting was ignored); it makes the command exit 1. No finding ever contains a secret.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lspilot.cli.doctor.report import (
    FAIL,
    INFO,
    KEY_VARIABLES,
    OK,
    SETTINGS,
    WARN,
    Report,
    Section,
)
from lspilot.settings import LoadedSettings, Settings

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine


async def diagnose(loaded: LoadedSettings, root: Path, *, files: list[Path], probe: bool) -> Report:
    """Run every check for the workspace at `root`."""
    from lspilot.assistant.selection import select_engine
    from lspilot.cli.doctor.clients import check_clients
    from lspilot.cli.doctor.probe import check_endpoint
    from lspilot.cli.doctor.settings import check_settings

    settings = loaded.settings
    report = Report(root)
    check_settings(report.section(SETTINGS), loaded, root)
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


# ---- engine and key ---------------------------------------------------------------------


def check_engine(section: Section, settings: Settings, engine: Engine, reason: str) -> None:
    """Which engine answers, why, and with which models."""
    from lspilot.assistant.tasks import Task
    from lspilot.privacy import endpoint_warning

    if engine.id == "offline":
        section.add(OK, f"offline engine: {reason.removesuffix(': offline engine')}")
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
    from lspilot.cli.cache import read_stats
    from lspilot.cli.common import human_size

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
        levels = stats["levels"]
        section.add(
            INFO,
            f"hits since the last clear: memory {levels['memory']}, disk {levels['disk']},"
            f" team {levels['shared']}",
        )
    check_team_cache(section, stats)


def check_team_cache(section: Section, stats: dict[str, Any]) -> None:
    """The team cache (L3): off and why, unreachable and why, or its namespace's size."""
    from lspilot.cli.common import human_size

    shared = stats["shared"]
    if shared["state"] == "off":
        section.add(INFO, f"team cache not used: {shared['reason']}")
    elif shared["state"] != "up":
        section.add(
            WARN,
            f"team cache {shared['url']} is unreachable ({shared['reason']}): lspilot works on"
            " memory and disk and reconnects in the background",
            "start the Redis, check cache.sharedUrl, LSPILOT_REDIS_USERNAME and"
            " LSPILOT_REDIS_PASSWORD",
        )
    else:
        section.add(
            OK,
            f"team cache {shared['url']} namespace {shared['namespace']}: {shared['entries']}"
            f" entries, {human_size(shared['size_bytes'])}, kept {shared['ttl_days']} days",
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
