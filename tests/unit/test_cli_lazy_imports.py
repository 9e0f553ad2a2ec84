"""`lspilot serve` starts without importing the tools around it (demo, doctor, check, cache),
and answers `initialize` before importing what the features need later (pydantic, parsers...).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

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


# ---- the initialize path ------------------------------------------------------------------
#
# A real `lspilot serve -v` answers `initialize`; its debug line (lspilot.server._log_modules)
# says what was imported by then.

FLOOR_PROBE = (
    "import sys, pygls.lsp.server;"
    "print(' '.join({m.partition('.')[0] for m in sys.modules} - set(sys.stdlib_module_names)))"
)


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _initialize_log(env: dict[str, str], cwd: Path) -> str:
    """The debug log of a server that answered `initialize`, then shut down and exited."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lspilot", "serve", "-v"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    assert process.stdin is not None and process.stdout is not None
    params = {"processId": None, "rootUri": cwd.as_uri(), "capabilities": {}}
    process.stdin.write(
        _frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    )
    process.stdin.flush()
    while True:  # the reply; the server may send notifications first
        length = 0
        while (line := process.stdout.readline()).strip():
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert length, "the server closed its output before answering initialize"
        if json.loads(process.stdout.read(length)).get("id") == 1:
            break
    for message in (
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ):
        process.stdin.write(_frame(message))
    process.stdin.flush()
    _, err = process.communicate(timeout=60)
    return err.decode()


def _field(line: str, name: str) -> set[str]:
    return set(re.search(rf"{name}: ([^;]*)", line).group(1).split())  # type: ignore[union-attr]


def test_initialize_is_answered_before_the_deferred_modules_are_imported(
    isolated_env: dict[str, str], tmp_path: Path
) -> None:
    from lspilot.server import WARM_UP

    env = {**isolated_env, "LSPILOT_PROVIDER": "offline"}
    log = _initialize_log(env, tmp_path)
    line = next(line for line in log.splitlines() if "initialize:" in line)
    assert _field(line, "deferred among them") == {"none"}, line
    # No package beyond what pygls imports itself (pydantic, tree_sitter, ... come later).
    floor = subprocess.run(
        [sys.executable, "-c", FLOOR_PROBE], check=True, capture_output=True, text=True
    ).stdout.split()
    assert _field(line, "packages") <= {*floor, "lspilot"}, line
    deferred = tuple(name for name in WARM_UP if name.startswith("lspilot."))
    assert not {m for m in _field(line, "lspilot") if m.startswith(deferred)}, line
