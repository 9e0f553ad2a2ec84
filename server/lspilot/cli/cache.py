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
      lspilot cache clear            forget every cached answer

    The folder comes from the `cache.dir` setting (LSPILOT_CACHE__DIR, [tool.lspilot] in
    pyproject.toml, .lspilot.toml), else the user cache folder; --root picks the workspace.
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
    add_root_argument(parser)


def run(args: argparse.Namespace) -> int:
    """Carry out one cache action."""
    from lspilot.assistant.cache import ResultCache

    settings = load(workspace_root(args)).settings
    cache = ResultCache(settings.cache)
    if args.action == "path":
        print(cache.directory)
        return 0
    if not settings.cache.enabled:
        print(f"the cache is off (cache.enabled = false); its folder would be {cache.directory}")
        return 0
    try:
        if args.action == "clear":
            return _clear(cache)
        return _stats(cache, as_json=args.json)
    finally:
        cache.close()


async def read_stats(cache: ResultCache) -> dict[str, Any]:
    """Entries and size on disk, without creating a cache folder that does not exist."""
    if not (cache.directory / "results").is_dir():
        return {**cache.stats(), "exists": False}
    # Any lookup opens the disk cache, which counts its entries; the key matches nothing.
    await cache.get("lspilot-cache-stats")
    return {**cache.stats(), "exists": True}


def _stats(cache: ResultCache, *, as_json: bool) -> int:
    stats = asyncio.run(read_stats(cache))
    stats["size_limit_bytes"] = cache.settings.size_limit_mb * 1024 * 1024
    if as_json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"folder:  {stats['directory']}")
    if not stats["exists"]:
        print("entries: 0 (nothing cached yet)")
        return 0
    print(f"entries: {stats['entries']}")
    print(
        f"size:    {human_size(stats['size_bytes'])}"
        f" (limit {cache.settings.size_limit_mb} MiB, setting cache.sizeLimitMb)"
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
