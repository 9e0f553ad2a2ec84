"""What loading the settings gives: the settings, the problems found, who set each key.

The names of the sources are here too, so that the loader, the trust rules and the doctor
share them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lspilot.settings.model import Settings
    from lspilot.settings.trust import TrustState

SOURCE_DEFAULT = "default"
SOURCE_PYPROJECT = "pyproject.toml"
SOURCE_LSPILOT_TOML = ".lspilot.toml"
SOURCE_ENVIRONMENT = "environment"
SOURCE_INIT_OPTIONS = "initializationOptions"
SOURCE_CLIENT = "workspace/configuration"


@dataclass(frozen=True)
class SettingsProblem:
    """One thing wrong with the settings, ready to show to the user.

    `key` is the dotted camelCase key (``hover.timeoutMs``), the key as written for an
    unknown setting, or ``""`` when a whole source could not be read. `source` is one of the
    ``SOURCE_*`` names. `message` is one sentence and never contains a secret.
    """

    key: str
    source: str
    message: str
    #: Restricted keys ignored because their workspace file is not trusted (not an error).
    untrusted: bool = False


@dataclass
class LoadedSettings:
    """What `load_settings` found: the settings, what was wrong, and who set each key."""

    settings: Settings
    problems: list[SettingsProblem] = field(default_factory=list)
    #: Dotted camelCase key of every leaf setting → the source that set it.
    sources: dict[str, str] = field(default_factory=dict)
    #: Trust of each workspace file that has lspilot settings (what `lspilot doctor` shows).
    trust: list[TrustState] = field(default_factory=list)
