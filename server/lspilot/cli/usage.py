"""`lspilot usage [--since 7d] [--json]`: what the model requests of every lspilot process cost.

Reads the usage log the server, `lspilot check` and `demo` write under the cache folder
(`lspilot.assistant.usage`): totals per task and per model, the cache hit rate, and the cost
from the price table (`usage.prices` overrides the built-in one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from typing import Any

from lspilot.cli.common import add_root_argument, epilog, load, workspace_root

EPILOG = epilog(
    """
    examples:
      lspilot usage                  the last 7 days
      lspilot usage --since 1d       today and yesterday
      lspilot usage --since all      everything recorded
      lspilot usage --json           the same, for scripts

    Costs are estimates from a table of per-model prices (USD per million tokens); set your
    own with the `usage.prices` setting. Token counts come from the server ("reported"),
    else from the model's tokenizer ("tokenizer": llama.cpp's /tokenize, an OpenAI model's
    encoding), else from lspilot's estimate ("estimated").
    """
)

_SINCE = re.compile(r"^(\d+)([hdw])$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lspilot usage`."""
    parser.epilog = EPILOG
    parser.add_argument(
        "--since", default="7d", help="how far back: 12h, 7d, 4w or all (default: 7d)"
    )
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    add_root_argument(parser)


def since_of(text: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """The start of the period `text` names (None for "all"); ValueError when unreadable."""
    if text == "all":
        return None
    match = _SINCE.match(text.strip())
    if match is None:
        raise ValueError(f"--since {text!r}: use a number and h, d or w (12h, 7d, 4w) or all")
    amount, unit = int(match.group(1)), match.group(2)
    hours = {"h": 1, "d": 24, "w": 24 * 7}[unit] * amount
    return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=hours)


def run(args: argparse.Namespace) -> int:
    """Print the usage report."""
    from lspilot.assistant.cache import ResultCache
    from lspilot.assistant.usage import read_entries, summarize

    loaded = load(workspace_root(args))
    for problem in loaded.problems:  # a price table that did not apply changes every cost
        sys.stderr.write(f"lspilot usage: warning: {problem.message}\n")
    settings = loaded.settings
    since = since_of(args.since)
    directory = ResultCache(settings.cache).directory / "usage"
    summary = summarize(read_entries(directory, since), settings.usage.prices)
    summary["since"] = since.isoformat() if since else None
    summary["log"] = str(directory)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(_text(summary, args.since))
    return 0


def _cost(totals: dict[str, Any]) -> str:
    cost = f"${totals['cost_usd']:.4f}"
    return f"{cost} (+{totals['unpriced']} unpriced)" if totals["unpriced"] else cost


def _sources(totals: dict[str, Any]) -> str:
    """Who counted the tokens: " (3 reported by the server, 1 counted by the tokenizer)"."""
    parts = [
        f"{totals.get(key, 0)} {words}"
        for key, words in (
            ("reported", "reported by the server"),
            ("tokenizer", "counted by the model's tokenizer"),
            ("estimated", "estimated"),
        )
        if totals.get(key)
    ]
    return f" ({', '.join(parts)})" if parts else ""


def _row(name: str, totals: dict[str, Any]) -> str:
    return (
        f"  {name:<24} {totals['requests']:>7} {totals['cached']:>7} "
        f"{totals['prompt_tokens']:>10} {totals['completion_tokens']:>10}  {_cost(totals)}"
    )


def _text(summary: dict[str, Any], since: str) -> str:
    period = "everything recorded" if since == "all" else f"the last {since}"
    if not summary["requests"]:
        return f"no model requests in {period} (log: {summary['log']})"
    header = f"  {'':<24} {'requests':>7} {'cached':>7} {'tokens in':>10} {'tokens out':>10}  cost"
    lines = [
        f"usage over {period} (log: {summary['log']})",
        f"requests: {summary['requests']}, answered from the cache: {summary['cached']} "
        f"(hit rate {summary['cache_hit_rate']:.0%}), failed: {summary['failed']}",
        f"tokens: {summary['prompt_tokens']} in, {summary['completion_tokens']} out"
        + _sources(summary),
        f"cost: {_cost(summary)}",
        "",
        "per task:",
        header,
        *(_row(name, t) for name, t in summary["by_task"].items()),
        "",
        "per model:",
        header,
        *(_row(name, t) for name, t in summary["by_model"].items()),
    ]
    return "\n".join(lines)
