"""Generate `contributes.configuration` of the VS Code extension from the server's settings.

It also writes `capabilities.untrustedWorkspaces` (limited: the restricted settings come from
user settings only in an untrusted workspace), from the server's `RESTRICTED_KEYS`.

The server's settings model (``lspilot.settings``) is the single source of truth: every server
setting becomes a flat ``lspilot.<section>.<key>`` entry with its type, default, bounds, enum and
description. A few client-only settings (how to start the server, tracing) are added here.

    python clients/vscode/scripts/generate_configuration.py          # rewrite package.json
    python clients/vscode/scripts/generate_configuration.py --check  # exit 1 when it drifted

``tests/unit/test_vscode_settings_drift.py`` runs the check in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

PACKAGE_JSON = Path(__file__).resolve().parents[1] / "package.json"

# Secrets never live in settings.json: the API key is set with "lspilot: Set API key"
# (SecretStorage) and reaches the server through its environment.
SKIPPED = {"apiKey"}

# Settings a workspace must not set: "application" scope makes VS Code read them from the
# user's settings only (the team cache's Redis URL: a cloned repository must not pick it).
SCOPES = {"lspilot.cache.sharedUrl": "application"}

# Schema keys copied as they are onto a VS Code setting.
_COPIED = ("type", "enum", "minimum", "maximum", "items", "minLength", "maxLength", "pattern")

CLIENT_SETTINGS: dict[str, dict[str, Any]] = {
    "lspilot.server.command": {
        "type": "string",
        "default": "lspilot",
        "markdownDescription": "Command that starts the language server, looked up on `PATH` "
        "(install it with `pipx install lspilot`). Ignored when `#lspilot.server.python#` is set.",
        "scope": "machine-overridable",
    },
    "lspilot.server.args": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["serve"],
        "markdownDescription": "Arguments after the server command.",
        "scope": "machine-overridable",
    },
    "lspilot.server.python": {
        "type": ["string", "null"],
        "default": None,
        "markdownDescription": "A Python interpreter that has lspilot installed; the server runs "
        "as `<python> -m lspilot serve`.",
        "scope": "machine-overridable",
    },
    "lspilot.trace.server": {
        "type": "string",
        "enum": ["off", "messages", "verbose"],
        "default": "off",
        "markdownDescription": "Log the LSP messages between VS Code and the server "
        "(`lspilot: Show log`).",
        "scope": "window",
    },
}

# Client settings that take effect only after a server restart.
RESTART_PREFIXES = ("lspilot.server",)


def _settings_model() -> type[BaseModel]:
    from lspilot.settings import Settings

    return Settings


def _schema() -> dict[str, Any]:
    import lspilot.settings as settings_module

    make = getattr(settings_module, "settings_json_schema", None)
    if callable(make):
        schema: dict[str, Any] = make()
        return schema
    return _settings_model().model_json_schema(by_alias=True)


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Defaults by alias, from the model's fields (default factories called), no sources."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        alias = field.alias or name
        value = field.get_default(call_default_factory=True)
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json", by_alias=True)
        out[alias] = value
    return out


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        target = dict(defs[ref.rsplit("/", 1)[-1]])
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return merged
    if "allOf" in node and len(node["allOf"]) == 1:
        merged = {
            **_resolve(node["allOf"][0], defs),
            **{k: v for k, v in node.items() if k != "allOf"},
        }
        return merged
    return node


def _leaf(node: dict[str, Any], default: Any, defs: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    any_of = node.get("anyOf")
    if any_of:
        options = [_resolve(o, defs) for o in any_of]
        types: list[str] = []
        for option in options:
            kind = option.get("type")
            if isinstance(kind, list):
                types.extend(kind)
            elif kind:
                types.append(kind)
            for key in _COPIED:
                if key != "type" and key in option:
                    entry[key] = option[key]
        entry["type"] = types[0] if len(types) == 1 else types
    for key in _COPIED:
        if key in node:
            entry[key] = node[key]
    if "items" in entry:
        entry["items"] = _resolve(entry["items"], defs)
        entry["items"].pop("title", None)
    entry["default"] = default
    description = node.get("description") or node.get("title") or ""
    entry["markdownDescription"] = description
    return entry


def _walk(
    node: dict[str, Any],
    defaults: dict[str, Any],
    model: type[BaseModel] | None,
    prefix: str,
    defs: dict[str, Any],
    out: dict[str, dict[str, Any]],
) -> None:
    for key, raw in node.get("properties", {}).items():
        if key in SKIPPED:
            continue
        prop = _resolve(raw, defs)
        sub_model = _submodel(model, key)
        if "properties" in prop and sub_model is not None:
            _walk(prop, _defaults(sub_model), sub_model, f"{prefix}{key}.", defs, out)
        else:
            out[f"{prefix}{key}"] = _leaf(prop, defaults.get(key), defs)


def _submodel(model: type[BaseModel] | None, alias: str) -> type[BaseModel] | None:
    if model is None:
        return None
    for name, field in model.model_fields.items():
        if (field.alias or name) == alias:
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                return annotation
    return None


def server_properties() -> dict[str, dict[str, Any]]:
    """Every server setting as a flat VS Code setting, in the model's order."""
    schema = _schema()
    model = _settings_model()
    out: dict[str, dict[str, Any]] = {}
    _walk(schema, _defaults(model), model, "lspilot.", schema.get("$defs", {}), out)
    return out


def configuration() -> dict[str, Any]:
    """The whole `contributes.configuration` object."""
    properties = {**CLIENT_SETTINGS, **server_properties()}
    for key, scope in SCOPES.items():
        properties[key]["scope"] = scope
    for order, entry in enumerate(properties.values()):
        entry["order"] = order
    return {"title": "lspilot", "properties": properties}


def restricted_configurations(properties: dict[str, Any]) -> list[str]:
    """Settings VS Code takes only from user settings in an untrusted workspace.

    How the server is started (a workspace must not run a program of its choice), and the
    server's restricted keys (``lspilot.settings.RESTRICTED_KEYS``: where code and the key go).
    """
    from lspilot.settings import is_restricted

    return [
        name
        for name in properties
        if name.startswith(RESTART_PREFIXES) or is_restricted(name.removeprefix("lspilot."))
    ]


def render(package: dict[str, Any]) -> str:
    """package.json text with the generated configuration and workspace-trust capability."""
    package = dict(package)
    contributes = dict(package.get("contributes", {}))
    contributes["configuration"] = configuration()
    package["contributes"] = contributes
    package["capabilities"] = {
        "untrustedWorkspaces": {
            "supported": "limited",
            "description": "In an untrusted workspace, the settings that start the server or "
            "choose where code and the API key go are read from user settings only.",
            "restrictedConfigurations": restricted_configurations(
                contributes["configuration"]["properties"]
            ),
        }
    }
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when package.json drifted")
    parser.add_argument("--package-json", type=Path, default=PACKAGE_JSON)
    args = parser.parse_args(argv)
    current = args.package_json.read_text(encoding="utf-8")
    wanted = render(json.loads(current))
    if args.check:
        if current != wanted:
            sys.stderr.write(
                f"{args.package_json}: contributes.configuration drifted from the settings model;"
                " run python clients/vscode/scripts/generate_configuration.py\n"
            )
            return 1
        return 0
    if current != wanted:
        args.package_json.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
