"""The settings model: one pydantic model, fully defaulted, camelCase on the wire.

`settings_json_schema` describes it for editors (the VS Code extension generates its
contributed settings from it). Loading and merging the sources is `lspilot.settings.loader`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

from lspilot.model import DocstringStyle, Severity


class SettingsSection(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", validate_assignment=True
    )


class TaskModels(SettingsSection):
    """Per-task model overrides (a cheap model for review, a stronger one for generate)."""

    explain: str | None = Field(
        default=None, description="Model for hover/explain; default `model`."
    )
    document: str | None = Field(default=None, description="Model for docstrings; default `model`.")
    generate: str | None = Field(
        default=None, description="Model for code generation; default `model`."
    )
    review: str | None = Field(
        default=None, description="Model for review diagnostics; default `model`."
    )


class LimitSettings(SettingsSection):
    max_concurrent: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Model requests in flight at once (default 1 for a local endpoint).",
    )
    requests_per_minute: int = Field(
        default=60, ge=1, le=10_000, description="Model requests per minute."
    )
    daily_token_budget: int = Field(
        default=0, ge=0, description="Tokens (in + out) per day; 0 means no budget."
    )
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries of a failed request.")
    breaker_threshold: int = Field(
        default=5, ge=1, le=100, description="Consecutive failures that pause model requests."
    )
    breaker_cooldown_s: float = Field(
        default=30.0, ge=0.1, le=3600, description="Seconds before requests resume after a pause."
    )
    max_input_chars: int = Field(
        default=24_000, ge=1_000, description="Most characters of code sent in one request."
    )
    max_tokens_per_request: int = Field(
        default=0,
        ge=0,
        description="Most tokens (in + out) one request may use; 0 means no cap.",
    )


class TaskContextTokens(SettingsSection):
    """Per-task context budgets (unset: `context.maxTokens`)."""

    explain: int | None = Field(
        default=None, ge=0, le=100_000, description="Context tokens for hover/explain."
    )
    document: int | None = Field(
        default=None, ge=0, le=100_000, description="Context tokens for docstrings."
    )
    generate: int | None = Field(
        default=None, ge=0, le=100_000, description="Context tokens for code generation."
    )
    review: int | None = Field(
        default=150,
        ge=0,
        le=100_000,
        description="Context tokens per reviewed chunk (what it calls, defined elsewhere).",
    )


class ContextSettings(SettingsSection):
    enabled: bool = Field(
        default=True,
        description="Send the code a task uses (imports, called functions' signatures) with it.",
    )
    max_tokens: int = Field(
        default=1500, ge=0, le=100_000, description="Most tokens of context per task."
    )
    tasks: TaskContextTokens = Field(
        default_factory=TaskContextTokens,
        description="Per-task context budgets over `maxTokens` (review: small by default).",
    )
    index_max_files: int = Field(
        default=5000, ge=0, le=200_000, description="Most workspace files the symbol index reads."
    )

    def max_tokens_for(self, task: str) -> int:
        """The context budget of `task` (explain, document, generate, review)."""
        own = getattr(self.tasks, str(task), None)
        return self.max_tokens if own is None else own


def _default_prices() -> dict[str, tuple[float, float]]:
    return {}


class UsageSettings(SettingsSection):
    enabled: bool = Field(
        default=True, description="Record every model request (no code) under the cache folder."
    )
    prices: dict[str, tuple[float, float]] = Field(
        default_factory=_default_prices,
        description=(
            "USD per million tokens (input, output) by model name, over the built-in table;"
            ' e.g. {"my-model": [0.5, 1.5]}.'
        ),
    )


class CacheSettings(SettingsSection):
    enabled: bool = Field(default=True, description="Cache results on disk.")
    dir: str | None = Field(default=None, description="Cache folder; default: the user cache dir.")
    size_limit_mb: int = Field(default=256, ge=1, le=100_000, description="Cache size cap in MiB.")
    memory_limit_mb: int = Field(
        default=32, ge=0, le=4096, description="In-process cache size cap in MiB; 0 turns it off."
    )
    shared_url: str | None = Field(
        default=None,
        description=(
            "Team cache: a shared Redis/Valkey (redis://, rediss:// for TLS, unix://);"
            " user-level settings only. User and password from LSPILOT_REDIS_USERNAME and"
            " LSPILOT_REDIS_PASSWORD."
        ),
    )
    shared_namespace: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Team cache key prefix: one per team (letters, digits, . _ -).",
    )
    shared_across_urls: bool = Field(
        default=False,
        description=(
            "Team cache: share answers of the same model whatever URL each member reaches it"
            " through (a gateway, a proxy); off: the endpoint is part of every cache key."
        ),
    )
    shared_ttl_days: int = Field(
        default=14, ge=1, le=365, description="Days a team cache entry is kept."
    )
    shared_timeout_ms: int = Field(
        default=50, ge=5, le=5000, description="Longest wait for a team cache read."
    )


class HoverSettings(SettingsSection):
    enabled: bool = Field(default=True, description="Explain the symbol under the cursor on hover.")
    timeout_ms: int = Field(
        default=4000,
        ge=0,
        le=120_000,
        description="Wait this long for an explanation, then finish it in the background.",
    )
    max_output_tokens: int | None = Field(
        default=None,
        ge=16,
        le=32_000,
        description=(
            "Most tokens per hover explanation; unset: 256 for a local endpoint (a CPU writes"
            " a few tokens a second), else `maxOutputTokens`."
        ),
    )


class CodeActionSettings(SettingsSection):
    enabled: bool = Field(default=True, description="Offer lspilot code actions.")
    docstring_style: DocstringStyle = Field(default="google", description="Python docstring style.")
    c_doc_style: Literal["block", "line"] = Field(
        default="block", description="C/C++ doc comments: /** ... */ (block) or /// lines (line)."
    )


DiagnosticTrigger = Literal["open", "save", "idle"]


def _default_triggers() -> list[DiagnosticTrigger]:
    return ["open", "save", "idle"]


class DiagnosticSettings(SettingsSection):
    enabled: bool = Field(default=True, description="Publish review diagnostics.")
    triggers: list[DiagnosticTrigger] = Field(
        default_factory=_default_triggers,
        description="When to review: on open, on save, after typing stops.",
    )
    idle_ms: int = Field(
        default=1500, ge=100, le=60_000, description="Idle time after typing before a review."
    )
    severity_floor: Severity = Field(
        default="information", description="Hide issues below this severity."
    )
    max_issues_per_chunk: int = Field(
        default=5, ge=1, le=100, description="Most issues per reviewed chunk."
    )
    max_file_lines: int = Field(
        default=5000, ge=1, description="Larger files are reviewed only on save, chunk by chunk."
    )
    structured_output: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="Ask for JSON-schema output (auto: fall back when the endpoint refuses).",
    )
    missing_docstrings: bool = Field(
        default=False, description="Offline review: flag public definitions without a docstring."
    )


DEFAULT_EXCLUDE = [
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    "**/secrets/**",
    "**/.ssh/**",
]


class PrivacySettings(SettingsSection):
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        description="Glob patterns of files that get no model features.",
    )
    redact_secrets: bool = Field(
        default=True, description="Replace secrets by placeholders before sending."
    )


Provider = Literal["auto", "openai", "ollama", "offline"]


class Settings(SettingsSection):
    """Every setting of lspilot, with its default."""

    provider: Provider = Field(
        default="auto",
        description=(
            "Engine: auto (OpenAI-compatible if a key or base URL is set, else a local Ollama,"
            " else offline), openai, ollama, offline."
        ),
    )
    base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."
    )
    model: str = Field(default="gpt-4o-mini", description="Default model name.")
    models: TaskModels = Field(default_factory=TaskModels, description="Per-task model overrides.")
    ollama_url: str = Field(
        default="http://127.0.0.1:11434", description="Where `auto` looks for Ollama."
    )
    ollama_model: str = Field(default="qwen2.5-coder:7b", description="Model used with Ollama.")
    request_timeout_ms: int = Field(
        default=30_000,
        ge=100,
        le=600_000,
        description="Timeout to connect and for the response to begin.",
    )
    temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    max_output_tokens: int = Field(
        default=1024, ge=16, le=32_000, description="Most tokens per answer."
    )
    limits: LimitSettings = Field(default_factory=LimitSettings, description="Request limits.")
    cache: CacheSettings = Field(default_factory=CacheSettings, description="Result cache.")
    context: ContextSettings = Field(
        default_factory=ContextSettings, description="Workspace context sent with a task."
    )
    usage: UsageSettings = Field(
        default_factory=UsageSettings, description="The local record of model requests."
    )
    hover: HoverSettings = Field(default_factory=HoverSettings, description="Hover explanations.")
    code_actions: CodeActionSettings = Field(
        default_factory=CodeActionSettings, description="Code actions."
    )
    diagnostics: DiagnosticSettings = Field(
        default_factory=DiagnosticSettings, description="Review diagnostics."
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings, description="Exclusions and redaction."
    )
    log_level: Literal["error", "warning", "info", "debug"] = Field(
        default="info", description="Server log level."
    )
    first_token_timeout_ms: int = Field(
        default=120_000,
        ge=100,
        le=1_800_000,
        description="Wait this long for the first token (a CPU reads a long prompt slowly).",
    )
    stall_timeout_ms: int = Field(
        default=60_000,
        ge=100,
        le=1_800_000,
        description="Give up on an answer when no token arrives for this long.",
    )
    total_timeout_ms: int = Field(
        default=600_000,
        ge=100,
        le=3_600_000,
        description="Longest time for one answer (enough for maxOutputTokens at 3 tokens/s).",
    )
    # Read from the environment only (OPENAI_API_KEY / LSPILOT_API_KEY); never from files
    # or the wire, never serialised.
    api_key: SecretStr | None = Field(default=None, exclude=True, description="(environment only)")

    def model_for(self, task: str) -> str:
        """The model to use for `task`, honouring per-task overrides."""
        return getattr(self.models, task, None) or self.model


def settings_json_schema() -> dict[str, Any]:
    """The JSON schema of `Settings` with camelCase names, defaults and descriptions.

    Self-contained (no ``$ref``), without the environment-only ``apiKey`` and without the
    generated titles; every property, sections included, carries its ``default``. The VS Code
    extension generates its contributed settings from it.
    """
    schema = Settings.model_json_schema(by_alias=True, mode="validation")
    defs = schema.pop("$defs", {})
    schema["properties"].pop("apiKey", None)
    defaults = Settings.model_validate({}).model_dump(by_alias=True, mode="json")

    def resolve(node: Any, default: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                ref = node.pop("$ref").rsplit("/", 1)[-1]
                node = {**defs[ref], **node}
            node.pop("title", None)
            if "properties" in node:
                sub_defaults = default if isinstance(default, dict) else {}
                node["properties"] = {
                    name: resolve(prop, sub_defaults.get(name))
                    for name, prop in node["properties"].items()
                }
                node["default"] = default
            elif default is not None or "default" in node:
                node["default"] = default
            return node
        return node

    result: dict[str, Any] = resolve(schema, defaults)
    result["title"] = "lspilot settings"
    return result
