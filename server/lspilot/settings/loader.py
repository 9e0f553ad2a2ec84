"""Loading the settings: every source, merged key by key.

Sources, later wins: defaults, ``[tool.lspilot]`` in the workspace's ``pyproject.toml`` or
``.lspilot.toml``, environment (``LSPILOT_*``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``),
``initializationOptions``, ``workspace/configuration``. ``load_settings`` reads and merges
them key by key, turning every bad value, unknown key or unreadable file into a
``SettingsProblem`` instead of an exception; ``settings_json_schema`` describes the model for
editors. The API key is read from the environment only, never from a workspace file or the
wire. Keys that choose where code goes (`lspilot.settings.trust.RESTRICTED_KEYS`) count from a
workspace file only when the user trusted it (``lspilot trust``).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lspilot.settings.keys import (
    ENV_NAMES,
    ENV_PREFIX,
    LEAVES,
    Leaf,
    field_name,
    section_model,
    shown_value,
    suggested_key,
    validation_reason,
)
from lspilot.settings.model import Settings, SettingsSection
from lspilot.settings.results import (
    SOURCE_CLIENT,
    SOURCE_DEFAULT,
    SOURCE_ENVIRONMENT,
    SOURCE_INIT_OPTIONS,
    SOURCE_LSPILOT_TOML,
    SOURCE_PYPROJECT,
    LoadedSettings,
    SettingsProblem,
)
from lspilot.settings.trust import (
    CONFIG_DIR_VARIABLE,
    TrustState,
    TrustStore,
    config_dir,
    is_restricted,
    untrusted_message,
)
from lspilot.settings.user_only import enforce_user_only


@dataclass
class _Loader:
    """Accumulates validated leaf values from the sources, in order."""

    values: dict[str, Any]
    sources: dict[str, str]
    problems: list[SettingsProblem] = field(default_factory=list)
    #: Sources (untrusted workspace files) whose restricted keys are ignored.
    untrusted: set[str] = field(default_factory=set)
    #: Source → the restricted keys it set and that were ignored.
    ignored: dict[str, list[str]] = field(default_factory=dict)

    def problem(self, key: str, source: str, message: str) -> None:
        self.problems.append(SettingsProblem(key=key, source=source, message=message))

    def apply_mapping(
        self,
        data: Mapping[Any, Any],
        source: str,
        where: str,
        *,
        model: type[SettingsSection] = Settings,
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
            name = field_name(model, head, ignore_case=ignore_case)
            if name is None:
                self.unknown(f"{prefix}{head}", source, where, env_var)
                continue
            info = model.model_fields[name]
            key = f"{prefix}{info.alias or name}"
            sub = section_model(info.annotation)
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
                        f"`{key}` {where} should be a table of settings, not {shown_value(value)};"
                        " it was ignored.",
                    )
                continue
            self.apply_leaf(LEAVES[key], value, source, where, allow_secret=allow_secret)

    def unknown(self, key: str, source: str, where: str, env_var: str | None) -> None:
        suggestion = suggested_key(key)
        if env_var is not None:
            # The environment is shared with every other program: only a near miss of one of
            # our names is worth a message, anything else may belong to someone else.
            if suggestion is None or suggestion not in ENV_NAMES:
                return
            message = (
                f"unknown setting {env_var} in the environment (ignored)"
                f" — did you mean {ENV_NAMES[suggestion]}?"
            )
        elif suggestion is not None:
            message = f"unknown setting `{key}` {where} (ignored) — did you mean `{suggestion}`?"
        else:
            message = f"unknown setting `{key}` {where} (ignored)."
        self.problem(key, source, message)

    def apply_leaf(
        self, leaf: Leaf, value: Any, source: str, where: str, *, allow_secret: bool = False
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
        if source in self.untrusted and is_restricted(leaf.key):
            keys = self.ignored.setdefault(source, [])
            if leaf.key not in keys:
                keys.append(leaf.key)
            return
        if leaf.is_list and isinstance(value, str):
            value = _env_list(value)  # "open, save" is a fair way to write a list anywhere
        try:
            if leaf.numeric and isinstance(value, bool):
                # pydantic would read true as 1; a boolean for a number is a mistake.
                raise ValueError("a number is expected, not true/false")
            validated = getattr(leaf.owner.model_validate({leaf.name: value}), leaf.name)
        except (ValidationError, ValueError) as exc:
            reason = validation_reason(exc) if isinstance(exc, ValidationError) else str(exc)
            current = self.sources[leaf.key]
            shown_current = "(set)" if leaf.secret else shown_value(self.values[leaf.key])
            using = (
                f"the default {shown_current}"
                if current == SOURCE_DEFAULT
                else f"{shown_current} from {current}"
            )
            shown = "(hidden)" if leaf.secret else shown_value(value)
            self.problem(
                leaf.key,
                source,
                f"`{leaf.key}` {where} is {shown}, which is not valid ({reason}); using {using}.",
            )
            return
        self.values[leaf.key] = validated
        self.sources[leaf.key] = source

    def apply_toml(
        self,
        path: Path,
        source: str,
        *,
        table: tuple[str, ...] = (),
        store: TrustStore | None = None,
    ) -> TrustState | None:
        """Apply the settings in a TOML file (in `table` of it, e.g. ``tool.lspilot``).

        With a trust `store`, restricted keys count only if the store trusts the file; the
        file's trust state is returned when it has lspilot settings.
        """
        if not path.is_file():
            return None
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
            return None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.problem(
                "", source, f"{path} could not be read ({reason}); its settings were ignored."
            )
            return None
        for part in table:
            data = data.get(part) if isinstance(data, Mapping) else None
        if data is None:
            return None
        name = f"[{'.'.join(table)}]" if table else "the top level"
        if not isinstance(data, Mapping):
            self.problem(
                "", source, f"{name} in {path} should be a table of settings; it was ignored."
            )
            return None
        state = store.state(path, data) if store is not None else None
        if state is not None and not state.trusted:
            self.untrusted.add(source)
        self.apply_mapping(data, source, f"in {path}")
        if state is not None and self.ignored.get(source):
            state = replace(state, ignored=tuple(self.ignored[source]))
        return state

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
                    LEAVES[key], upper[alias][1], source, f"from {alias}", allow_secret=True
                )
        for name_upper, (name, value) in sorted(upper.items()):
            if not name_upper.startswith(ENV_PREFIX) or name_upper in (
                "LSPILOT_BASE_URL",
                "LSPILOT_API_KEY",
                CONFIG_DIR_VARIABLE,  # where the trust store is, not a setting
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
        model: type[SettingsSection] = Settings
        key = ""
        parsed: Any = value
        for i, part in enumerate(parts):
            found = field_name(model, part, ignore_case=True)
            if found is None:
                break  # apply_mapping reports the unknown name
            info = model.model_fields[found]
            key = f"{key}{info.alias or found}"
            sub = section_model(info.annotation)
            if sub is None:
                if i == len(parts) - 1 and LEAVES[key].is_list:
                    parsed = _env_list(value)
                elif i == len(parts) - 1 and LEAVES[key].is_dict:
                    parsed = _env_object(value)  # not JSON: validation words the problem
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
            if self.sources.get(key) == SOURCE_DEFAULT:
                # Left to the model's default, so that `model_fields_set` tells what was set
                # (a local endpoint's concurrency defaults to 1 unless the user chose one).
                continue
            target = nested
            path = LEAVES[key].path
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


def _env_object(value: str) -> Any:
    """A mapping from the environment: JSON (``{"my-model": [0.5, 1.5]}``), else the text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


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
    trust_store: TrustStore | None = None,
) -> LoadedSettings:
    """Read every settings source and merge them, later sources winning, key by key.

    Sources in order: defaults; ``[tool.lspilot]`` in ``<root>/pyproject.toml``;
    ``<root>/.lspilot.toml``; the environment (`environ`, default ``os.environ``);
    `init_options`; `client_config`. Keys may be camelCase or snake_case, nested or dotted;
    the last two may wrap the settings in ``{"lspilot": {...}}``. A bad value, an unknown key,
    an ``apiKey`` outside the environment or an unreadable file becomes a `SettingsProblem`
    and is ignored: the key keeps the value of the sources before it. Restricted keys
    (where code and the key go) from a workspace file that `trust_store` (default: the
    user's, found through `environ`) does not trust are ignored with one problem naming them.
    Never raises on bad input and has no side effects besides reading the files.
    """
    environ = os.environ if environ is None else environ
    defaults = Settings.model_validate({})
    values: dict[str, Any] = {}
    for key, leaf in LEAVES.items():
        value: Any = defaults
        for part in leaf.path:
            value = getattr(value, part)
        values[key] = value
    loader = _Loader(values=values, sources=dict.fromkeys(LEAVES, SOURCE_DEFAULT))

    trust: list[TrustState] = []
    if root is not None:
        root = Path(root)
        store = trust_store or TrustStore(config_dir(environ))
        pyproject = (root / "pyproject.toml", SOURCE_PYPROJECT, ("tool", "lspilot"))
        for path, source, table in (pyproject, (root / ".lspilot.toml", SOURCE_LSPILOT_TOML, ())):
            if state := loader.apply_toml(path, source, table=table, store=store):
                trust.append(state)
        if ignored := [state for state in trust if state.ignored]:
            # One message for every ignored key: the user is told once, with the way out.
            keys = ", ".join(key for state in ignored for key in state.ignored)
            message = untrusted_message(ignored, root)
            loader.problems.append(SettingsProblem(keys, source, message, untrusted=True))
    loader.apply_environment(environ)
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
        loader.sources = dict.fromkeys(LEAVES, SOURCE_DEFAULT)
    loaded = LoadedSettings(
        settings=settings, problems=loader.problems, sources=loader.sources, trust=trust
    )
    enforce_user_only(
        loaded, (SOURCE_PYPROJECT, SOURCE_LSPILOT_TOML), SettingsProblem, SOURCE_DEFAULT
    )
    return loaded
