"""Settings a workspace file may not set: they are read from user-level sources only.

A cloned repository's ``pyproject.toml`` or ``.lspilot.toml`` must not point the editor at a
server of its choosing: ``cache.sharedUrl`` (the team cache's Redis) would send every result
the user's model produces there. Such a key set by a workspace file is dropped (the default
stays) with a problem saying where to set it instead. The workspace-trust mechanism can take
this list over as its "never from a workspace file" keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lspilot.settings.keys import ENV_NAMES, LEAVES

if TYPE_CHECKING:
    from lspilot.settings.results import LoadedSettings

#: Keys read only from the environment, initializationOptions or the editor's user settings.
USER_ONLY_KEYS = ("cache.sharedUrl",)


def enforce_user_only(
    loaded: LoadedSettings,
    workspace_sources: tuple[str, ...],
    problem: Callable[[str, str, str], Any],
    default_source: str,
) -> None:
    """Drop every `USER_ONLY_KEYS` value whose source is one of `workspace_sources` (in place).

    `problem(key, source, message)` builds a `SettingsProblem` (passed in: the loader imports
    this module, not the other way round).
    """
    for key in USER_ONLY_KEYS:
        source = loaded.sources.get(key, default_source)
        if source not in workspace_sources:
            continue
        leaf = LEAVES[key]
        section = loaded.settings
        for part in leaf.path[:-1]:
            section = getattr(section, part)
        default = type(section).model_fields[leaf.name].get_default(call_default_factory=True)
        setattr(section, leaf.name, default)
        loaded.sources[key] = default_source
        loaded.problems.append(
            problem(
                key,
                source,
                f"`{key}` is read from user-level settings only ({ENV_NAMES[key]} or the"
                f" editor's user settings), so the one in {source} was ignored.",
            )
        )
