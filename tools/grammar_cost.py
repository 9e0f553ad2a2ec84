"""What each tree-sitter grammar costs: its installed size and the time to load it.

    .venv/bin/python tools/grammar_cost.py [--runs 9]

Size is `du -sk` of the package and its dist-info in this interpreter's site-packages. Import
times are measured in fresh interpreters (imports are cached within one), medians of `--runs`
processes: `tree_sitter` alone; `importlib.resources`, which every grammar module imports and
so only the first grammar loaded pays; then, with both already imported, each grammar module's
import, and the `Language` construction lspilot does on first use of the language (a timeit
loop in one process, median of 5 repeats). The machine's other load shows in the ranges.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

# Module -> the language functions lspilot calls (tree-sitter-typescript has two grammars).
GRAMMARS = {
    "tree_sitter_python": ("language",),
    "tree_sitter_javascript": ("language",),
    "tree_sitter_typescript": ("language_typescript", "language_tsx"),
    "tree_sitter_go": ("language",),
    "tree_sitter_rust": ("language",),
    "tree_sitter_java": ("language",),
    "tree_sitter_c": ("language",),
    "tree_sitter_cpp": ("language",),
}

_CORE = "import time; t = time.perf_counter(); import tree_sitter; print(time.perf_counter() - t)"
_RESOURCES = (
    "import time, tree_sitter; t = time.perf_counter(); import importlib.resources; "
    "print(time.perf_counter() - t)"
)
_GRAMMAR = (
    "import time, tree_sitter, importlib.resources; t = time.perf_counter(); "
    "import {module}; print(time.perf_counter() - t)"
)
_LANGUAGE = (
    "import statistics, timeit, tree_sitter, {module} as m; "
    "print(statistics.median(timeit.repeat(lambda: [tree_sitter.Language(getattr(m, f)()) "
    "for f in {functions!r}], number=1000, repeat=5)))"
)  # seconds per 1000 constructions: milliseconds per construction


def installed_kb(module: str) -> tuple[int, str]:
    """Kilobytes on disk of `module`'s package and dist-info, and the installed version."""
    site = Path(sysconfig.get_paths()["purelib"])
    paths = [site / module, *site.glob(f"{module}-*.dist-info")]
    out = subprocess.run(["du", "-sk", *map(str, paths)], capture_output=True, text=True)
    kb = sum(int(line.split()[0]) for line in out.stdout.splitlines())
    version = paths[-1].name.removeprefix(f"{module}-").removesuffix(".dist-info")
    return kb, version


def load_ms(code: str, runs: int) -> tuple[float, float, float]:
    """Median, min and max milliseconds `code` prints over `runs` fresh interpreters."""
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout) * 1000
        for _ in range(runs)
    ]  # fmt: skip
    return statistics.median(times), min(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    core_kb, core_version = installed_kb("tree_sitter")
    core = load_ms(_CORE, runs)
    resources = load_ms(_RESOURCES, runs)
    out(f"tree-sitter {core_version}: {core_kb} KB, import {_ms(core)}")
    out(f"importlib.resources (first grammar only): import {_ms(resources)}")
    out("")
    out("| wheel | version | installed (KB) | import (ms) | Language() (µs) |")
    out("|---|---|---:|---:|---:|")
    total_kb = core_kb
    for module, functions in GRAMMARS.items():
        kb, version = installed_kb(module)
        total_kb += kb
        imported = load_ms(_GRAMMAR.format(module=module), runs)
        construct = float(
            subprocess.run([sys.executable, "-c", _LANGUAGE.format(module=module,
                           functions=functions)], capture_output=True, text=True,
                           check=True).stdout
        )  # fmt: skip
        wheel = module.replace("_", "-")
        out(f"| {wheel} | {version} | {kb} | {_ms(imported)} | {construct * 1000:.1f} |")
    out(f"| all, with tree-sitter | | {total_kb} | | |")


def out(line: str) -> None:
    """One line of the report (a tool, not the server: stdout is its output)."""
    sys.stdout.write(line + "\n")


def _ms(times: tuple[float, float, float]) -> str:
    return f"{times[0]:.1f} [{times[1]:.1f}-{times[2]:.1f}]"


if __name__ == "__main__":
    main()
