"""Settings: the model (`model`), the catalogue of its keys (`keys`), and loading (`loader`)."""

from lspilot.settings.keys import ENV_PREFIX
from lspilot.settings.loader import (
    SOURCE_CLIENT,
    SOURCE_DEFAULT,
    SOURCE_ENVIRONMENT,
    SOURCE_INIT_OPTIONS,
    SOURCE_LSPILOT_TOML,
    SOURCE_PYPROJECT,
    LoadedSettings,
    SettingsProblem,
    load_settings,
)
from lspilot.settings.model import (
    CacheSettings,
    CodeActionSettings,
    DiagnosticSettings,
    DocstringStyle,
    HoverSettings,
    LimitSettings,
    PrivacySettings,
    Settings,
    Severity,
    TaskModels,
    settings_json_schema,
)
from lspilot.settings.trust import RESTRICTED_KEYS, TrustState, TrustStore, is_restricted

__all__ = [
    "ENV_PREFIX",
    "RESTRICTED_KEYS",
    "SOURCE_CLIENT",
    "SOURCE_DEFAULT",
    "SOURCE_ENVIRONMENT",
    "SOURCE_INIT_OPTIONS",
    "SOURCE_LSPILOT_TOML",
    "SOURCE_PYPROJECT",
    "CacheSettings",
    "CodeActionSettings",
    "DiagnosticSettings",
    "DocstringStyle",
    "HoverSettings",
    "LimitSettings",
    "LoadedSettings",
    "PrivacySettings",
    "Settings",
    "SettingsProblem",
    "Severity",
    "TaskModels",
    "TrustState",
    "TrustStore",
    "is_restricted",
    "load_settings",
    "settings_json_schema",
]
