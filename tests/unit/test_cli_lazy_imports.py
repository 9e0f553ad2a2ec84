"""`lspilot serve` starts without importing the tools around it (demo, doctor, check, cache)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = (
    "import sys; from lspilot.cli import build_parser; build_parser(sys.argv[1:]);"
    "print(' '.join(sorted(m for m in sys.modules if m.startswith('lspilot.cli.'))))"
)


def _imported(*argv: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], check=True, capture_output=True, text=True
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("argv", [[], ["serve"], ["--log-file", "demo"], ["--tcp", "x:1"]])
def test_serving_imports_no_other_subcommand(argv: list[str]) -> None:
    imported = _imported(*argv)
    for tool in ("demo", "doctor", "check", "cache"):
        assert f"lspilot.cli.{tool}" not in imported, imported


def test_the_named_subcommand_gets_its_options() -> None:
    assert "lspilot.cli.doctor" in _imported("doctor")
