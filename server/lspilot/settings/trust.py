"""Workspace trust: which workspace files may choose where code and the API key go.

A cloned repository's ``.lspilot.toml`` or ``[tool.lspilot]`` must not point the user's key at
its own server or switch redaction off. The keys in `RESTRICTED_KEYS` are therefore honoured
from a workspace file only when the user trusted that file with ``lspilot trust``, which
records a fingerprint of the file's lspilot settings in the user's config folder (like direnv
and mise do); a changed file needs trusting again. Every other key works from any source.

The store is ``<config dir>/trusted.json``; the config dir is ``$LSPILOT_CONFIG_DIR``, else
``$XDG_CONFIG_HOME/lspilot``, else platformdirs' user config dir.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Setting keys (dotted camelCase; a trailing ``.`` means a whole section) that choose where
#: code and the key go, or weaken privacy. The VS Code extension's restricted configurations
#: are generated from this list.
RESTRICTED_KEYS: tuple[str, ...] = (
    "provider",
    "baseUrl",
    "ollamaUrl",
    "cache.dir",
    # The team cache's namespace decides whose answers this workspace reads and fills; its URL
    # is never taken from a workspace file at all (`lspilot.settings.user_only`).
    "cache.sharedNamespace",
    "privacy.",
)

#: The variable that moves the config folder (tests, portable installs).
CONFIG_DIR_VARIABLE = "LSPILOT_CONFIG_DIR"
TRUST_FILE = "trusted.json"


def is_restricted(key: str) -> bool:
    """Whether the dotted camelCase `key` needs a trusted source when set by a workspace."""
    return any(
        key.startswith(rule) if rule.endswith(".") else key == rule for rule in RESTRICTED_KEYS
    )


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The user's lspilot config folder (where the trust store lives)."""
    env = os.environ if environ is None else environ
    if env.get(CONFIG_DIR_VARIABLE):
        return Path(env[CONFIG_DIR_VARIABLE]).expanduser()
    if env.get("XDG_CONFIG_HOME"):
        return Path(env["XDG_CONFIG_HOME"]).expanduser() / "lspilot"
    from platformdirs import user_config_dir

    return Path(user_config_dir("lspilot"))


def fingerprint(settings: Any) -> str:
    """sha256 of a workspace file's lspilot settings (canonical JSON).

    Only the settings count, not the rest of the file: editing the dependencies in
    pyproject.toml keeps the trust, editing ``[tool.lspilot]`` loses it.
    """
    text = json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TrustState:
    """Whether one workspace file is trusted, and what its untrusted part lost."""

    path: Path
    trusted: bool
    #: The trust record exists but the file changed since.
    changed: bool = False
    #: Restricted keys the file sets that were ignored because it is not trusted.
    ignored: tuple[str, ...] = ()


class TrustStore:
    """The trusted workspace files: absolute path → fingerprint, in one JSON file."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or config_dir()) / TRUST_FILE

    def entries(self) -> dict[str, str]:
        """Every trusted file with its fingerprint; {} when the store is missing or broken."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        trusted = data.get("trusted") if isinstance(data, dict) else None
        if not isinstance(trusted, dict):
            return {}
        return {str(k): str(v) for k, v in trusted.items()}

    def state(self, file: Path, settings: Any) -> TrustState:
        """Whether `file`, whose lspilot settings are `settings`, is trusted as it is now."""
        recorded = self.entries().get(str(_absolute(file)))
        trusted = recorded is not None and recorded == fingerprint(settings)
        return TrustState(path=file, trusted=trusted, changed=recorded is not None and not trusted)

    def trust(self, file: Path, settings: Any) -> None:
        """Record `file` as trusted with its current settings."""
        entries = self.entries()
        entries[str(_absolute(file))] = fingerprint(settings)
        self._write(entries)

    def revoke(self, file: Path) -> bool:
        """Forget `file`; whether it was trusted."""
        entries = self.entries()
        found = entries.pop(str(_absolute(file)), None) is not None
        if found:
            self._write(entries)
        return found

    def _write(self, entries: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"version": 1, "trusted": dict(sorted(entries.items()))}, indent=2) + "\n",
            encoding="utf-8",
        )
        tmp.replace(self.path)  # atomic: a reader never sees half a store


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def untrusted_message(states: list[TrustState], root: Path) -> str:
    """The one sentence about every restricted key ignored from untrusted workspace files."""
    parts = []
    for state in states:
        keys = ", ".join(f"`{k}`" for k in state.ignored)
        why = " (changed since it was trusted)" if state.changed else ""
        parts.append(f"{keys} in {state.path}{why}")
    return (
        f"ignored {'; '.join(parts)}: these settings choose where your code and API key go,"
        " and this workspace is not trusted. If you wrote them, run"
        f" `lspilot trust {root}` to honour them (or set them in your editor or environment)."
    )
