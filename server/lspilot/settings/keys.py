"""The catalogue of setting keys: every leaf of the model with what validating it needs.

Built once from the model; the loader uses it to find a key as a user wrote it (camelCase,
snake_case, any case in the environment), to suggest the key meant, and to word problems.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from lspilot.redaction import redact
from lspilot.settings.model import Settings, SettingsSection

#: Prefix of the environment variables read by `load_settings`.
ENV_PREFIX = "LSPILOT_"


@dataclass(frozen=True)
class Leaf:
    """A setting that holds a value (not a section), with what validating it needs."""

    key: str  # dotted camelCase, e.g. "hover.timeoutMs"
    path: tuple[str, ...]  # field names from Settings down, e.g. ("hover", "timeout_ms")
    owner: type[BaseModel]
    name: str
    is_list: bool
    is_dict: bool
    nullable: bool
    numeric: bool
    secret: bool


def section_model(annotation: Any) -> type[SettingsSection] | None:
    if isinstance(annotation, type) and issubclass(annotation, SettingsSection):
        return annotation
    return None


def type_args(annotation: Any) -> tuple[Any, ...]:
    origin = get_origin(annotation)
    if origin is Union or origin is UnionType:
        return get_args(annotation)
    return (annotation,)


def walk_leaves(
    model: type[SettingsSection], prefix: str, path: tuple[str, ...], leaves: dict[str, Leaf]
) -> None:
    for name, info in model.model_fields.items():
        alias = info.alias or name
        key = f"{prefix}{alias}"
        sub = section_model(info.annotation)
        if sub is not None:
            walk_leaves(sub, f"{key}.", (*path, name), leaves)
            continue
        args = type_args(info.annotation)
        leaves[key] = Leaf(
            key=key,
            path=(*path, name),
            owner=model,
            name=name,
            is_list=any(get_origin(a) is list for a in args),
            is_dict=any(get_origin(a) is dict for a in args),
            nullable=type(None) in args,
            numeric=any(a in (int, float) for a in args),
            secret=model is Settings and name == "api_key",
        )


LEAVES: dict[str, Leaf] = {}
walk_leaves(Settings, "", (), LEAVES)
#: Dotted camelCase key → the environment variable that sets it.
ENV_NAMES = {key: ENV_PREFIX + "__".join(leaf.path).upper() for key, leaf in LEAVES.items()}
SECTION_KEYS = sorted({leaf.key.rsplit(".", 1)[0] for leaf in LEAVES.values() if "." in leaf.key})


def field_name(model: type[BaseModel], key: str, *, ignore_case: bool = False) -> str | None:
    """The field of `model` that `key` names, in snake_case or camelCase."""
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if key in (name, alias):
            return name
        if ignore_case and key.lower() in (name.lower(), alias.lower()):
            return name
    return None


def normalized_key(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


def suggested_key(key: str) -> str | None:
    """The known key closest to the unknown `key`, for a "did you mean" hint."""
    known = [*LEAVES, *SECTION_KEYS]
    by_norm = {normalized_key(k): k for k in known}
    # The right name in the wrong section (``timeoutMs`` at the top level) is a common slip.
    last = normalized_key(key.rsplit(".", 1)[-1])
    same_name = [k for k in LEAVES if normalized_key(k.rsplit(".", 1)[-1]) == last]
    if len(same_name) == 1:
        return same_name[0]
    close = difflib.get_close_matches(normalized_key(key), list(by_norm), n=1, cutoff=0.7)
    return by_norm[close[0]] if close else None


def shown_value(value: Any) -> str:
    """A short, secret-free rendering of a user's value for a message."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # circular structures from a misbehaving client
        text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return redact(text)


def validation_reason(exc: ValidationError) -> str:
    error = exc.errors()[0]
    msg = str(error.get("msg", "invalid value"))
    msg = msg[:1].lower() + msg[1:]
    # Locations deeper than the field itself point into a list: say which item.
    extra = [str(part) for part in error.get("loc", ())[1:]]
    return f"item {'.'.join(extra)}: {msg}" if extra else msg
