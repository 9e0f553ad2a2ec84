"""The VS Code extension contributes exactly the server's settings (no drift, no secrets)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from lspilot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_JSON = ROOT / "clients" / "vscode" / "package.json"
GENERATOR = ROOT / "clients" / "vscode" / "scripts" / "generate_configuration.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lspilot_vscode_generator", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _contributed() -> dict[str, Any]:
    package = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    properties: dict[str, Any] = package["contributes"]["configuration"]["properties"]
    return properties


def _model_leaves(model: type[BaseModel], prefix: str = "lspilot.") -> dict[str, Any]:
    """Every leaf setting of the model by its dotted camelCase key, with its default."""
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if alias == "apiKey":
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out.update(_model_leaves(annotation, f"{prefix}{alias}."))
        else:
            default = field.get_default(call_default_factory=True)
            out[f"{prefix}{alias}"] = default
    return out


def test_package_json_matches_the_generator() -> None:
    """Fails when the settings model changed and package.json was not regenerated."""
    generator = _generator()
    assert generator.main(["--check"]) == 0, (
        "run: .venv/bin/python clients/vscode/scripts/generate_configuration.py"
    )


def test_every_server_setting_is_contributed_with_its_default() -> None:
    contributed = _contributed()
    leaves = _model_leaves(Settings)
    missing = sorted(set(leaves) - set(contributed))
    assert not missing, f"settings not contributed to VS Code: {missing}"
    for key, default in leaves.items():
        assert contributed[key]["default"] == default, key
        assert contributed[key]["markdownDescription"], f"{key} has no description"
        assert "type" in contributed[key], key


def test_no_contributed_setting_is_unknown_to_the_server() -> None:
    leaves = _model_leaves(Settings)
    client_only = {k for k in _contributed() if k.startswith(("lspilot.server.", "lspilot.trace."))}
    unknown = sorted(set(_contributed()) - set(leaves) - client_only)
    assert not unknown, f"contributed settings the server does not have: {unknown}"


def test_the_defaults_validate_against_the_model() -> None:
    """The nested object VS Code sends (defaults only) is accepted by the server's model."""
    nested: dict[str, Any] = {}
    for key, entry in _contributed().items():
        if key.startswith(("lspilot.server.", "lspilot.trace.")):
            continue
        parts = key.split(".")[1:]
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = entry["default"]
    assert Settings.model_validate(nested) == Settings()


def test_no_secret_is_a_setting() -> None:
    leaves = {k.lower().rsplit(".", 1)[-1] for k in _contributed()}
    assert not leaves & {"apikey", "key", "token", "password", "secret"}, leaves


def test_untrusted_workspaces_restrict_where_code_goes() -> None:
    """In an untrusted workspace VS Code must not take the server command, the endpoint or
    privacy settings from the workspace: the restricted list covers every restricted key."""
    from lspilot.settings import is_restricted

    package = json.loads(PACKAGE_JSON.read_text(encoding="utf-8"))
    trust = package["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    restricted = set(trust["restrictedConfigurations"])
    server_keys = {k.removeprefix("lspilot.") for k in _model_leaves(Settings)}
    wanted = {f"lspilot.{k}" for k in server_keys if is_restricted(k)}
    assert {"lspilot.baseUrl", "lspilot.provider", "lspilot.privacy.redactSecrets"} <= wanted
    assert wanted | {"lspilot.server.command", "lspilot.server.python"} <= restricted
    assert "lspilot.model" not in restricted
