"""`lspilot cache stats|clear|path`: the real command on the cache `lspilot check` fills."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import run_lspilot
from tests.fakes.model_server import FakeModelServer

CODE = '''def double(x: int) -> int:
    """Twice `x`."""
    return x * 2


def half(x: int) -> float:
    """Half of `x`."""
    return x / 2
'''


lspilot = run_lspilot


def test_stats_path_and_clear(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.responder = lambda body: '{"issues": []}'
    cache_dir = tmp_path / "cache"
    (workspace / "calc.py").write_text(CODE, encoding="utf-8")

    path = lspilot(model_env, workspace, "cache", "path")
    assert path.stdout.strip() == str(cache_dir)
    empty = lspilot(model_env, workspace, "cache", "stats")
    assert empty.returncode == 0
    assert "entries: 0 (nothing cached yet)" in empty.stdout
    assert not cache_dir.exists()  # looking does not create it

    assert lspilot(model_env, workspace, "check", "calc.py").returncode == 0
    requests = len(model_server.chat_requests())
    assert requests == 2  # one per function

    stats = json.loads(lspilot(model_env, workspace, "cache", "stats", "--json").stdout)
    assert stats["entries"] == 2 and stats["exists"] is True and stats["mode"] == "disk"
    assert stats["directory"] == str(cache_dir) and stats["size_bytes"] > 0
    text = lspilot(model_env, workspace, "cache", "stats").stdout
    assert "entries: 2" in text and "(limit 256 MiB, setting cache.sizeLimitMb)" in text

    cleared = lspilot(model_env, workspace, "cache", "clear")
    assert cleared.stdout.strip() == f"removed 2 cached answers from {cache_dir}"
    stats = json.loads(lspilot(model_env, workspace, "cache", "stats", "--json").stdout)
    assert stats["entries"] == 0

    # Cleared means asked again.
    assert lspilot(model_env, workspace, "check", "calc.py").returncode == 0
    assert len(model_server.chat_requests()) == requests + 2


def test_cache_dir_from_a_workspace_file(workspace: Path, offline_env: dict[str, str]) -> None:
    (workspace / ".lspilot.toml").write_text('[cache]\ndir = "/tmp/elsewhere"\n', encoding="utf-8")
    env = {k: v for k, v in offline_env.items() if k != "LSPILOT_CACHE__DIR"}
    # A cloned repository does not choose where lspilot writes until the user trusts it.
    assert lspilot(env, workspace, "cache", "path").stdout.strip() != "/tmp/elsewhere"
    assert lspilot(env, workspace, "trust").returncode == 0
    assert lspilot(env, workspace, "cache", "path").stdout.strip() == "/tmp/elsewhere"
    other = workspace.parent
    result = lspilot(env, other, "cache", "path", "--root", str(workspace))
    assert result.stdout.strip() == "/tmp/elsewhere"


def test_bad_action_is_one_line(workspace: Path, offline_env: dict[str, str]) -> None:
    result = lspilot(offline_env, workspace, "cache", "purge")
    assert result.returncode == 2
    assert "invalid choice: 'purge'" in result.stderr
    assert "Traceback" not in result.stderr
