"""Every benchmark of lspilot beside a baseline measured in the same run, as ratios.

    make bench            (or: .venv/bin/python bench/run.py [--rounds N] [--only NAME ...])

1. startup      spawn -> `initialize` answered, lspilot vs a bare pygls server, interleaved;
2. never-waits  a cheap request every 25 ms during the first model request, a 2 MB open and
                a 200-keystroke burst: p95 and worst (baseline: the bare server, same script);
3. under-load   8 slow model requests in flight: listing, cache-hit hover, didChange p99;
4. tokens       a scripted editing session: requests and prompt tokens vs "the whole file
                after each debounced change" (ai-lsp's policy), every seeded issue reported;
5. cache        hover on 200 symbols cold then warm; disk per 1,000 entries (result cache,
                and the whole cache folder);
6. memory       RSS with 50 open documents of 2,000 lines, reviewed and cached.

Writes bench/results/latest.json and bench/results/latest.png (ratios) and prints the table.
This machine is shared and noisy: compare ratios between runs, not absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import cache_memory
import latency
import startup
import tokens
from common import HERE, Figure

RESULTS = HERE / "results"
DOC = HERE.parent / "docs" / "performance.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _benches(rounds: int) -> dict[str, Callable[[], Awaitable[list[Figure]]]]:
    return {
        "startup": lambda: startup.run(rounds),
        "never-waits": latency.never_waits,
        "under-load": latency.under_load,
        "tokens": tokens.run,
        "cache": cache_memory.cache,
        "memory": cache_memory.memory,
    }


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}"
    )


def table(figures: list[Figure]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| benchmark | figure | lspilot | baseline | ratio | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    for f in figures:
        base = "" if f.base is None else f"{f.base:,.1f} {f.unit}"
        ratio = "" if f.ratio is None else f"{f.ratio:.2f}x"
        lines.append(
            f"| {f.bench} | {f.metric} | {f.ours:,.1f} {f.unit} | {base} | {ratio} | {f.target} |"
        )
    return "\n".join(lines)


def chart(figures: list[Figure], path: Path, stamp: str) -> None:
    """A bar chart of every ratio (lspilot / baseline, log scale) with a line at 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [f for f in figures if f.ratio is not None and f.ratio > 0]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(shown) + 1.5))
    names = [f"{f.bench}: {f.metric}" for f in shown]
    ratios = [f.ratio or 0 for f in shown]
    colors = ["tab:green" if r <= 1.15 else "tab:orange" for r in ratios]
    ax.barh(names, ratios, color=colors)
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.invert_yaxis()
    for y, r in enumerate(ratios):
        ax.text(r, y, f" {r:.2f}x", va="center", fontsize=8)
    ax.set_xlabel("lspilot / baseline in the same run (log scale; lower is better)")
    ax.set_title(f"lspilot benchmarks, {stamp}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    """Run the benchmarks, write the results, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="start-up rounds (default 7)")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG")
    args = parser.parse_args()
    benches = _benches(args.rounds)
    chosen = args.only or list(benches)
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    for name in chosen:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        figures.extend(asyncio.run(benches[name]()))
        timings[name] = round(time.perf_counter() - start, 1)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "make bench" if not args.only else "bench/run.py " + " ".join(sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    result = {
        "date": stamp,
        "machine": machine(),
        "command": command,
        "seconds": timings,
        "figures": [f.as_json() for f in figures],
    }
    (RESULTS / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_chart:
        chart(figures, RESULTS / "latest.png", stamp)
    summary = f"{stamp} - {machine()} - `{command}`"
    print(summary)
    print(table(figures))
    if not args.only:
        update_doc(f"{summary}\n\n{table(figures)}\n")
    return 0


def update_doc(block: str) -> None:
    """Put the latest table between the markers of docs/performance.md."""
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{block}{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
