"""`lspilot cache stats|clear|path`: the result cache the server, `check` and `demo` share."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from lspilot.cli.common import add_root_argument, epilog, human_size, load, workspace_root

if TYPE_CHECKING:
    from lspilot.assistant.cache import ResultCache

EPILOG = epilog(
    """
    examples:
      lspilot cache stats            entries, size and folder of the cache
      lspilot cache stats --json     the same, for scripts
      lspilot cache path             just the folder (du -sh "$(lspilot cache path)")
      lspilot cache clear            forget every cached answer (this machine)
      lspilot cache clear --shared   forget the team cache's answers (its namespace only)

    The folder comes from the `cache.dir` setting (LSPILOT_CACHE__DIR, [tool.lspilot] in
    pyproject.toml, .lspilot.toml), else the user cache folder; --root picks the workspace.
    The team cache is `cache.sharedUrl` (a Redis) with `cache.sharedNamespace`; `stats` shows
    its state and size, and the hits each level served (memory, disk, team) since the last
    clear.
    """
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lspilot cache`."""
    parser.epilog = EPILOG
    parser.add_argument(
        "action",
        choices=("stats", "clear", "path"),
        help="stats: entries and size; clear: remove every entry; path: print the folder",
    )
    parser.add_argument("--json", action="store_true", help="`stats` as JSON")
    parser.add_argument(
        "--shared",
        action="store_true",
        help="`clear`: the team cache's namespace (cache.sharedNamespace) instead of this machine",
    )
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Carry out one cache action."""
    from lspilot.assistant.cache import ResultCache

    loaded = load(workspace_root(args))
    for problem in loaded.problems:
        if problem.key.startswith("cache."):
            sys.stderr.write(f"lspilot cache: warning: {problem.message}\n")
    settings = loaded.settings
    cache = ResultCache(settings.cache)
    if args.action == "path":
        print(cache.directory)
        return 0
    if not settings.cache.enabled:
        print(f"the cache is off (cache.enabled = false); its folder would be {cache.directory}")
        return 0
    try:
        if args.action == "clear" and args.shared:
            return asyncio.run(_clear_shared(cache))
        if args.action == "clear":
            return _clear(cache)
        return _stats(cache, as_json=args.json)
    finally:
        cache.close()


async def read_stats(cache: ResultCache) -> dict[str, Any]:
    """Entries and size on disk, without creating a cache folder that does not exist."""
    shared = await _shared_stats(cache)
    if not (cache.directory / "results").is_dir():
        return {**cache.stats(), "exists": False, "shared": shared}
    await cache.open_disk()  # opening the disk cache counts its entries
    stats = {**cache.stats(), "exists": True, "shared": shared}
    stats["levels"] = cache.saved_hits()
    return stats


async def _shared_stats(cache: ResultCache) -> dict[str, Any]:
    """The team cache's state, and its entries and size for the namespace when reachable."""
    shared = cache.shared
    if shared.configured:
        try:
            shared.entries, shared.size_bytes = await shared.size()
        except Exception as error:  # down, refused, timed out: say so, do not fail the stats
            shared.reason = shared.reason or f"{type(error).__name__}: {error}"
        finally:
            await shared.aclose()
    return {**shared.stats(), "entries": shared.entries, "size_bytes": shared.size_bytes}


def _stats(cache: ResultCache, *, as_json: bool) -> int:
    stats = asyncio.run(read_stats(cache))
    stats["size_limit_bytes"] = cache.settings.size_limit_mb * 1024 * 1024
    if as_json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"folder:  {stats['directory']}")
    _print_shared(stats["shared"])
    if not stats["exists"]:
        print("entries: 0 (nothing cached yet)")
        return 0
    print(f"entries: {stats['entries']}")
    print(
        f"size:    {human_size(stats['size_bytes'])}"
        f" (limit {cache.settings.size_limit_mb} MiB, setting cache.sizeLimitMb)"
    )
    levels = stats["levels"]
    print(
        f"hits:    memory {levels['memory']}, disk {levels['disk']}, team {levels['shared']}"
        " (every session since the last clear)"
    )
    if stats["mode"] != "disk":
        # The cache degraded to memory: the folder is unusable and the server says so too.
        print(f"warning: the cache folder is unusable ({stats['mode']}); see `lspilot doctor`")
        return 1
    return 0


def _clear(cache: ResultCache) -> int:
    if not (cache.directory / "results").is_dir():
        print(f"nothing to clear: no cache at {cache.directory}")
        return 0
    removed = cache.clear()
    if cache.mode != "disk":
        sys.stderr.write(f"lspilot cache: error: cannot open the cache at {cache.directory}\n")
        return 1
    print(f"removed {removed} cached answer{'s' if removed != 1 else ''} from {cache.directory}")
    return 0


def _print_shared(shared: dict[str, Any]) -> None:
    if shared["state"] == "off":
        print(f"team:    off ({shared['reason']})")
    elif shared["state"] != "up":
        print(f"team:    {shared['url']} unreachable ({shared['reason']}); see `lspilot doctor`")
    else:
        print(
            f"team:    {shared['url']} namespace {shared['namespace']}:"
            f" {shared['entries']} entries, {human_size(shared['size_bytes'])},"
            f" kept {shared['ttl_days']} days"
        )


async def _clear_shared(cache: ResultCache) -> int:
    shared = cache.shared
    if not shared.configured:
        sys.stderr.write(f"lspilot cache: error: no team cache: {shared.reason}\n")
        return 1
    try:
        removed = await shared.clear()
    except Exception as error:
        sys.stderr.write(
            f"lspilot cache: error: the team cache is unreachable"
            f" ({shared.reason or type(error).__name__}: {error})\n"
        )
        return 1
    finally:
        await shared.aclose()
    plural = "s" if removed != 1 else ""
    print(f"removed {removed} shared answer{plural} from namespace {shared.namespace}")
    return 0
