"""The settings model: one pydantic model, fully defaulted, camelCase on the wire.

Sources, later wins: defaults, ``[tool.lspilot]`` in the workspace's ``pyproject.toml`` or
``.lspilot.toml``, environment (``LSPILOT_*``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``),
``initializationOptions``, ``workspace/configuration``. ``load_settings`` reads and merges
them key by key, turning every bad value, unknown key or unreadable file into a
``SettingsProblem`` instead of an exception; ``settings_json_schema`` describes the model for
editors. The API key is read from the environment only, never from a workspace file or the
wire.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic.alias_generators import to_camel

from lspilot.privacy import redact

# These two must equal their namesakes in lspilot.assistant.tasks (a unit test checks it).
# Importing them from there would import the whole assistant package, which imports this
# module back: a cycle that breaks `import lspilot.settings` when it comes first.
DocstringStyle = Literal["google", "numpy", "sphinx"]
Severity = Literal["error", "warning", "information", "hint"]


class _Section(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", validate_assignment=True
    )


class TaskModels(_Section):
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


class LimitSettings(_Section):
    max_concurrent: int = Field(
        default=4, ge=1, le=64, description="Model requests in flight at once."
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


class CacheSettings(_Section):
    enabled: bool = Field(default=True, description="Cache results on disk.")
    dir: str | None = Field(default=None, description="Cache folder; default: the user cache dir.")
    size_limit_mb: int = Field(default=256, ge=1, le=100_000, description="Cache size cap in MiB.")


class HoverSettings(_Section):
    enabled: bool = Field(default=True, description="Explain the symbol under the cursor on hover.")
    timeout_ms: int = Field(
        default=4000,
        ge=0,
        le=120_000,
        description="Wait this long for an explanation, then finish it in the background.",
    )


class CodeActionSettings(_Section):
    enabled: bool = Field(default=True, description="Offer lspilot code actions.")
    docstring_style: DocstringStyle = Field(default="google", description="Python docstring style.")


DiagnosticTrigger = Literal["open", "save", "idle"]


def _default_triggers() -> list[DiagnosticTrigger]:
    return ["open", "save", "idle"]


class DiagnosticSettings(_Section):
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


class PrivacySettings(_Section):
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        description="Glob patterns of files that get no model features.",
    )
    redact_secrets: bool = Field(
        default=True, description="Replace secrets by placeholders before sending."
    )


Provider = Literal["auto", "openai", "ollama", "offline"]


class Settings(_Section):
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
        default=30_000, ge=100, le=600_000, description="Timeout of one model request."
    )
    temperature: float = Field(default=0.2, ge=0.0, le=2.0, description="Sampling temperature.")
    max_output_tokens: int = Field(
        default=1024, ge=16, le=32_000, description="Most tokens per answer."
    )
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
        default="info", description="Server log level."
    )
    # Read from the environment only (OPENAI_API_KEY / LSPILOT_API_KEY); never from files
    # or the wire, never serialised.
    api_key: SecretStr | None = Field(default=None, exclude=True, description="(environment only)")

    def model_for(self, task: str) -> str:
        """The model to use for `task`, honouring per-task overrides."""
        return getattr(self.models, task, None) or self.model


# ---- loading ----------------------------------------------------------------------------

SOURCE_DEFAULT = "default"
SOURCE_PYPROJECT = "pyproject.toml"
SOURCE_LSPILOT_TOML = ".lspilot.toml"
SOURCE_ENVIRONMENT = "environment"
SOURCE_INIT_OPTIONS = "initializationOptions"
SOURCE_CLIENT = "workspace/configuration"

#: Prefix of the environment variables read by `load_settings`.
ENV_PREFIX = "LSPILOT_"


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


@dataclass
class LoadedSettings:
    """What `load_settings` found: the settings, what was wrong, and who set each key."""

    settings: Settings
    problems: list[SettingsProblem] = field(default_factory=list)
    #: Dotted camelCase key of every leaf setting → the source that set it.
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Leaf:
    """A setting that holds a value (not a section), with what validating it needs."""

    key: str  # dotted camelCase, e.g. "hover.timeoutMs"
    path: tuple[str, ...]  # field names from Settings down, e.g. ("hover", "timeout_ms")
    owner: type[BaseModel]
    name: str
    is_list: bool
    nullable: bool
    numeric: bool
    secret: bool


def _section_model(annotation: Any) -> type[_Section] | None:
    if isinstance(annotation, type) and issubclass(annotation, _Section):
        return annotation
    return None


def _type_args(annotation: Any) -> tuple[Any, ...]:
    origin = get_origin(annotation)
    if origin is Union or origin is UnionType:
        return get_args(annotation)
    return (annotation,)


def _walk(
    model: type[_Section], prefix: str, path: tuple[str, ...], leaves: dict[str, _Leaf]
) -> None:
    for name, info in model.model_fields.items():
        alias = info.alias or name
        key = f"{prefix}{alias}"
        sub = _section_model(info.annotation)
        if sub is not None:
            _walk(sub, f"{key}.", (*path, name), leaves)
            continue
        args = _type_args(info.annotation)
        leaves[key] = _Leaf(
            key=key,
            path=(*path, name),
            owner=model,
            name=name,
            is_list=any(get_origin(a) is list for a in args),
            nullable=type(None) in args,
            numeric=any(a in (int, float) for a in args),
            secret=model is Settings and name == "api_key",
        )


_LEAVES: dict[str, _Leaf] = {}
_walk(Settings, "", (), _LEAVES)
#: Dotted camelCase key → the environment variable that sets it.
_ENV_NAMES = {key: ENV_PREFIX + "__".join(leaf.path).upper() for key, leaf in _LEAVES.items()}
_SECTION_KEYS = sorted({leaf.key.rsplit(".", 1)[0] for leaf in _LEAVES.values() if "." in leaf.key})


def _field_name(model: type[BaseModel], key: str, *, ignore_case: bool = False) -> str | None:
    """The field of `model` that `key` names, in snake_case or camelCase."""
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if key in (name, alias):
            return name
        if ignore_case and key.lower() in (name.lower(), alias.lower()):
            return name
    return None


def _norm(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def _suggestion(key: str) -> str | None:
    """The known key closest to the unknown `key`, for a "did you mean" hint."""
    known = [*_LEAVES, *_SECTION_KEYS]
    by_norm = {_norm(k): k for k in known}
    # The right name in the wrong section (``timeoutMs`` at the top level) is a common slip.
    last = _norm(key.rsplit(".", 1)[-1])
    same_name = [k for k in _LEAVES if _norm(k.rsplit(".", 1)[-1]) == last]
    if len(same_name) == 1:
        return same_name[0]
    close = difflib.get_close_matches(_norm(key), list(by_norm), n=1, cutoff=0.7)
    return by_norm[close[0]] if close else None


def _show(value: Any) -> str:
    """A short, secret-free rendering of a user's value for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # circular structures from a misbehaving client
        text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return redact(text)


def _reason(exc: ValidationError) -> str:
    error = exc.errors()[0]
    msg = str(error.get("msg", "invalid value"))
    msg = msg[:1].lower() + msg[1:]
    # Locations deeper than the field itself point into a list: say which item.
    extra = [str(part) for part in error.get("loc", ())[1:]]
    return f"item {'.'.join(extra)}: {msg}" if extra else msg


@dataclass
class _Loader:
    """Accumulates validated leaf values from the sources, in order."""

    values: dict[str, Any]
    sources: dict[str, str]
    problems: list[SettingsProblem] = field(default_factory=list)

    def problem(self, key: str, source: str, message: str) -> None:
        self.problems.append(SettingsProblem(key=key, source=source, message=message))

    def apply_mapping(
        self,
        data: Mapping[Any, Any],
        source: str,
        where: str,
        *,
        model: type[_Section] = Settings,
        prefix: str = "",
        allow_secret: bool = False,
        ignore_case: bool = False,
        env_var: str | None = None,
    ) -> None:
        """Validate and apply every key of `data` (a section of settings) from `source`.

        `where` says where the values came from in messages ("in /ws/.lspilot.toml").
        """
        for raw_key, value in data.items():
            if not isinstance(raw_key, str):
                self.problem("", source, f"a setting {where} has a non-text name; it was ignored.")
                continue
            # Flat dotted keys ({"hover.timeoutMs": 1}) are accepted as nested ones.
            head, dot, rest = raw_key.partition(".")
            if dot:
                value = {rest: value}
            name = _field_name(model, head, ignore_case=ignore_case)
            if name is None:
                self.unknown(f"{prefix}{head}", source, where, env_var)
                continue
            info = model.model_fields[name]
            key = f"{prefix}{info.alias or name}"
            sub = _section_model(info.annotation)
            if sub is not None:
                if isinstance(value, Mapping):
                    self.apply_mapping(
                        value,
                        source,
                        where,
                        model=sub,
                        prefix=f"{key}.",
                        allow_secret=allow_secret,
                        ignore_case=ignore_case,
                        env_var=env_var,
                    )
                elif value is not None:
                    self.problem(
                        key,
                        source,
                        f"`{key}` {where} should be a table of settings, not {_show(value)};"
                        " it was ignored.",
                    )
                continue
            self.apply_leaf(_LEAVES[key], value, source, where, allow_secret=allow_secret)

    def unknown(self, key: str, source: str, where: str, env_var: str | None) -> None:
        suggestion = _suggestion(key)
        if env_var is not None:
            # The environment is shared with every other program: only a near miss of one of
            # our names is worth a message, anything else may belong to someone else.
            if suggestion is None or suggestion not in _ENV_NAMES:
                return
            message = (
                f"unknown setting {env_var} in the environment (ignored)"
                f" — did you mean {_ENV_NAMES[suggestion]}?"
            )
        elif suggestion is not None:
            message = f"unknown setting `{key}` {where} (ignored) — did you mean `{suggestion}`?"
        else:
            message = f"unknown setting `{key}` {where} (ignored)."
        self.problem(key, source, message)

    def apply_leaf(
        self, leaf: _Leaf, value: Any, source: str, where: str, *, allow_secret: bool = False
    ) -> None:
        """Validate one value on its own, so a bad one costs only its own key."""
        if leaf.secret and not allow_secret:
            self.problem(
                leaf.key,
                source,
                f"apiKey is read from the environment only (OPENAI_API_KEY or LSPILOT_API_KEY),"
                f" so the one {where} was ignored; remove it from there.",
            )
            return
        # null (and "" for optional settings) means "not set": editors send null for every
        # setting the user left alone, which must not wipe what a workspace file set.
        if value is None or (leaf.nullable and value == ""):
            return
        if leaf.is_list and isinstance(value, str):
            value = _env_list(value)  # "open, save" is a fair way to write a list anywhere
        try:
            if leaf.numeric and isinstance(value, bool):
                # pydantic would read true as 1; a boolean for a number is a mistake.
                raise ValueError("a number is expected, not true/false")
            validated = getattr(leaf.owner.model_validate({leaf.name: value}), leaf.name)
        except (ValidationError, ValueError) as exc:
            reason = _reason(exc) if isinstance(exc, ValidationError) else str(exc)
            current = self.sources[leaf.key]
            shown_current = "(set)" if leaf.secret else _show(self.values[leaf.key])
            using = (
                f"the default {shown_current}"
                if current == SOURCE_DEFAULT
                else f"{shown_current} from {current}"
            )
            shown = "(hidden)" if leaf.secret else _show(value)
            self.problem(
                leaf.key,
                source,
                f"`{leaf.key}` {where} is {shown}, which is not valid ({reason}); using {using}.",
            )
            return
        self.values[leaf.key] = validated
        self.sources[leaf.key] = source

    def apply_toml(self, path: Path, source: str, *, table: tuple[str, ...] = ()) -> None:
        """Apply the settings in a TOML file (in `table` of it, e.g. ``tool.lspilot``)."""
        if not path.is_file():
            return
        try:
            with path.open("rb") as fh:
                data: Any = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            text = str(exc)
            match = re.search(r"\s*\(at line (\d+), column \d+\)$", text)
            if match:
                text = f"line {match.group(1)}: {text[: match.start()]}"
            self.problem(
                "", source, f"{path} is not valid TOML ({text}); its lspilot settings were ignored."
            )
            return
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.problem(
                "", source, f"{path} could not be read ({reason}); its settings were ignored."
            )
            return
        for part in table:
            data = data.get(part) if isinstance(data, Mapping) else None
        if data is None:
            return
        name = f"[{'.'.join(table)}]" if table else "the top level"
        if not isinstance(data, Mapping):
            self.problem(
                "", source, f"{name} in {path} should be a table of settings; it was ignored."
            )
            return
        self.apply_mapping(data, source, f"in {path}")

    def apply_environment(self, environ: Mapping[str, str]) -> None:
        """Apply ``LSPILOT_*``, ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``."""
        source = SOURCE_ENVIRONMENT
        upper = {str(k).upper(): (str(k), v) for k, v in environ.items()}
        # Order matters: the LSPILOT_ spelling wins over the OpenAI one.
        for alias, key in (
            ("OPENAI_BASE_URL", "baseUrl"),
            ("OPENAI_API_KEY", "apiKey"),
            ("LSPILOT_BASE_URL", "baseUrl"),
            ("LSPILOT_API_KEY", "apiKey"),
        ):
            if alias in upper and upper[alias][1] != "":
                self.apply_leaf(
                    _LEAVES[key], upper[alias][1], source, f"from {alias}", allow_secret=True
                )
        for name_upper, (name, value) in sorted(upper.items()):
            if not name_upper.startswith(ENV_PREFIX) or name_upper in (
                "LSPILOT_BASE_URL",
                "LSPILOT_API_KEY",
            ):
                continue
            if value == "":  # VAR= in a shell means "unset" to most tools
                continue
            parts = name_upper[len(ENV_PREFIX) :].lower().split("__")
            nested = self._env_value(parts, value, name)
            if nested is None:
                continue
            self.apply_mapping(
                nested,
                source,
                f"from {name}",
                allow_secret=True,
                ignore_case=True,
                env_var=name,
            )

    def _env_value(self, parts: list[str], value: str, name: str) -> dict[str, Any] | None:
        """Turn one variable into a nested mapping, parsing lists and JSON where expected."""
        model: type[_Section] = Settings
        key = ""
        parsed: Any = value
        for i, part in enumerate(parts):
            field_name = _field_name(model, part, ignore_case=True)
            if field_name is None:
                break  # apply_mapping reports the unknown name
            info = model.model_fields[field_name]
            key = f"{key}{info.alias or field_name}"
            sub = _section_model(info.annotation)
            if sub is None:
                if i == len(parts) - 1 and _LEAVES[key].is_list:
                    parsed = _env_list(value)
                break
            if i == len(parts) - 1:
                # A whole section in one variable: only as a JSON object.
                try:
                    parsed = json.loads(value)
                except ValueError:
                    self.problem(
                        key,
                        SOURCE_ENVIRONMENT,
                        f"{name} sets the section `{key}`, so it should be a JSON object;"
                        " it was ignored.",
                    )
                    return None
            model = sub
            key += "."
        nested: Any = parsed
        for part in reversed(parts):
            nested = {part: nested}
        return dict(nested)

    def build(self) -> Settings:
        nested: dict[str, Any] = {}
        for key, value in self.values.items():
            target = nested
            path = _LEAVES[key].path
            for part in path[:-1]:
                target = target.setdefault(part, {})
            target[path[-1]] = value
        return Settings.model_validate(nested)


def _env_list(value: str) -> Any:
    """A list from the environment: JSON (``["a", "b"]``) or comma-separated (``a, b``)."""
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return [item.strip() for item in text.split(",") if item.strip()]


def _unwrap(options: Any, source: str, loader: _Loader) -> Mapping[Any, Any] | None:
    """The settings inside `options`: the mapping itself or its ``lspilot`` entry."""
    # Lua (Neovim) encodes an empty table as a JSON array: `[]` means "no settings".
    if options is None or options == []:
        return None
    if not isinstance(options, Mapping):
        loader.problem(
            "",
            source,
            f"{source} should be an object of lspilot settings, not {type(options).__name__};"
            " it was ignored.",
        )
        return None
    inner = options.get("lspilot")
    if isinstance(inner, Mapping):
        return inner
    if inner == [] and len(options) == 1:
        return None
    return options


def load_settings(
    root: Path | None,
    *,
    init_options: Mapping[str, Any] | None = None,
    client_config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSettings:
    """Read every settings source and merge them, later sources winning, key by key.

    Sources in order: defaults; ``[tool.lspilot]`` in ``<root>/pyproject.toml``;
    ``<root>/.lspilot.toml``; the environment (`environ`, default ``os.environ``);
    `init_options`; `client_config`. Keys may be camelCase or snake_case, nested or dotted;
    the last two may wrap the settings in ``{"lspilot": {...}}``. A bad value, an unknown key,
    an ``apiKey`` outside the environment or an unreadable file becomes a `SettingsProblem`
    and is ignored: the key keeps the value of the sources before it. Never raises on bad
    input and has no side effects besides reading the two files.
    """
    defaults = Settings.model_validate({})
    values: dict[str, Any] = {}
    for key, leaf in _LEAVES.items():
        value: Any = defaults
        for part in leaf.path:
            value = getattr(value, part)
        values[key] = value
    loader = _Loader(values=values, sources=dict.fromkeys(_LEAVES, SOURCE_DEFAULT))

    if root is not None:
        root = Path(root)
        loader.apply_toml(root / "pyproject.toml", SOURCE_PYPROJECT, table=("tool", "lspilot"))
        loader.apply_toml(root / ".lspilot.toml", SOURCE_LSPILOT_TOML)
    loader.apply_environment(os.environ if environ is None else environ)
    for options, source in (
        (init_options, SOURCE_INIT_OPTIONS),
        (client_config, SOURCE_CLIENT),
    ):
        data = _unwrap(options, source, loader)
        if data is not None:
            loader.apply_mapping(data, source, f"in {source}")

    try:
        settings = loader.build()
    except ValidationError:
        # Every value was validated on its own; this only guards a future cross-field rule.
        loader.problem(
            "", SOURCE_DEFAULT, "the settings do not fit together; all defaults are used."
        )
        settings = defaults
        loader.sources = dict.fromkeys(_LEAVES, SOURCE_DEFAULT)
    return LoadedSettings(settings=settings, problems=loader.problems, sources=loader.sources)


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
