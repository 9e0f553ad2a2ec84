"""The settings model: one pydantic model, fully defaulted, camelCase on the wire.

Sources, later wins: defaults, ``[tool.lspilot]`` in the workspace's ``pyproject.toml`` or
``.lspilot.toml``, environment (``LSPILOT_*``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``),
``initializationOptions``, ``workspace/configuration``. Loading lives in ``load_settings``.
The API key is read from the environment only, never from a workspace file or the wire.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

from lspilot.assistant.tasks import DocstringStyle, Severity


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", validate_assignment=True
    )


class TaskModels(_Section):
    """Per-task model overrides (a cheap model for review, a stronger one for generate)."""

    explain: str | None = Field(None, description="Model for hover/explain; default `model`.")
    document: str | None = Field(None, description="Model for docstrings; default `model`.")
    generate: str | None = Field(None, description="Model for code generation; default `model`.")
    review: str | None = Field(None, description="Model for review diagnostics; default `model`.")


class LimitSettings(_Section):
    max_concurrent: int = Field(4, ge=1, le=64, description="Model requests in flight at once.")
    requests_per_minute: int = Field(60, ge=1, le=10_000, description="Model requests per minute.")
    daily_token_budget: int = Field(
        0, ge=0, description="Tokens (in + out) per day; 0 means no budget."
    )
    max_retries: int = Field(3, ge=0, le=10, description="Retries of a failed request.")
    breaker_threshold: int = Field(
        5, ge=1, le=100, description="Consecutive failures that pause model requests."
    )
    breaker_cooldown_s: float = Field(
        30.0, ge=0.1, le=3600, description="Seconds before requests resume after a pause."
    )
    max_input_chars: int = Field(
        24_000, ge=1_000, description="Most characters of code sent in one request."
    )


class CacheSettings(_Section):
    enabled: bool = Field(True, description="Cache results on disk.")
    dir: str | None = Field(None, description="Cache folder; default: the user cache dir.")
    size_limit_mb: int = Field(256, ge=1, le=100_000, description="Cache size cap in MiB.")


class HoverSettings(_Section):
    enabled: bool = Field(True, description="Explain the symbol under the cursor on hover.")
    timeout_ms: int = Field(
        4000, ge=0, le=120_000, description="Wait this long for an explanation, then finish it in the background."
    )


class CodeActionSettings(_Section):
    enabled: bool = Field(True, description="Offer lspilot code actions.")
    docstring_style: DocstringStyle = Field("google", description="Python docstring style.")


DiagnosticTrigger = Literal["open", "save", "idle"]


class DiagnosticSettings(_Section):
    enabled: bool = Field(True, description="Publish review diagnostics.")
    triggers: list[DiagnosticTrigger] = Field(
        default_factory=lambda: ["open", "save", "idle"],
        description="When to review: on open, on save, after typing stops.",
    )
    idle_ms: int = Field(1500, ge=100, le=60_000, description="Idle time after typing before a review.")
    severity_floor: Severity = Field("information", description="Hide issues below this severity.")
    max_issues_per_chunk: int = Field(5, ge=1, le=100, description="Most issues per reviewed chunk.")
    max_file_lines: int = Field(
        5000, ge=1, description="Larger files are reviewed only on save, chunk by chunk."
    )
    structured_output: Literal["auto", "on", "off"] = Field(
        "auto", description="Ask for JSON-schema output (auto: fall back when the endpoint refuses)."
    )
    missing_docstrings: bool = Field(
        False, description="Offline review: flag public definitions without a docstring."
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


class PrivacySettings(_Section):
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        description="Glob patterns of files that get no model features.",
    )
    redact_secrets: bool = Field(True, description="Replace secrets by placeholders before sending.")


Provider = Literal["auto", "openai", "ollama", "offline"]


class Settings(_Section):
    """Every setting of lspilot, with its default."""

    provider: Provider = Field(
        "auto",
        description="Engine: auto (OpenAI-compatible if a key or base URL is set, else a local Ollama, else offline), openai, ollama, offline.",
    )
    base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."
    )
    model: str = Field("gpt-4o-mini", description="Default model name.")
    models: TaskModels = Field(default_factory=TaskModels, description="Per-task model overrides.")
    ollama_url: str = Field("http://127.0.0.1:11434", description="Where `auto` looks for Ollama.")
    ollama_model: str = Field("qwen2.5-coder:7b", description="Model used with Ollama.")
    request_timeout_ms: int = Field(
        30_000, ge=100, le=600_000, description="Timeout of one model request."
    )
    temperature: float = Field(0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    max_output_tokens: int = Field(1024, ge=16, le=32_000, description="Most tokens per answer.")
    limits: LimitSettings = Field(default_factory=LimitSettings, description="Request limits.")
    cache: CacheSettings = Field(default_factory=CacheSettings, description="Result cache.")
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
        "info", description="Server log level."
    )
    # Read from the environment only (OPENAI_API_KEY / LSPILOT_API_KEY); never from files
    # or the wire, never serialised.
    api_key: SecretStr | None = Field(None, exclude=True, description="(environment only)")

    def model_for(self, task: str) -> str:
        """The model to use for `task`, honouring per-task overrides."""
        return getattr(self.models, task, None) or self.model
