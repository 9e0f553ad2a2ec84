"""`lspilot doctor`: the real command in a subprocess, against the fake model server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.fakes.model_server import FakeModelServer, Reply

LSPILOT = [sys.executable, "-m", "lspilot"]
KEY = "test-key-not-a-secret"


def doctor(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `lspilot doctor ARGS`."""
    return subprocess.run(
        [*LSPILOT, "doctor", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def on_path(env: dict[str, str]) -> dict[str, str]:
    """`env` with this installation's `lspilot` on PATH, as a finished setup has it."""
    return {**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"}


def section(output: str, title: str) -> list[str]:
    """The lines of one section of the report (up to the next blank line)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start + 1 : end]


def problems(output: str) -> list[str]:
    """The FAIL lines of the sections (the closing summary repeats them)."""
    body = output.split("\nProblems (")[0]
    return [line.strip() for line in body.splitlines() if line.strip().startswith("FAIL")]


def assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    """No traceback, no key, every problem with its fix on the same line."""
    assert "Traceback" not in result.stdout + result.stderr
    assert KEY not in result.stdout + result.stderr
    for line in problems(result.stdout):
        assert " — fix: " in line, line
    if problems(result.stdout):  # the summary lists each problem again, one line each
        summary = result.stdout.split("\nProblems (")[1].splitlines()[1:]
        assert set(problems(result.stdout)) <= {line.strip() for line in summary}


def test_healthy_endpoint(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    # model_env sets hover.timeoutMs (a hang guard for hover tests): left at its default here,
    # so the report shows a default as one.
    env = {k: v for k, v in on_path(model_env).items() if k != "LSPILOT_HOVER__TIMEOUT_MS"}
    result = doctor(env, cwd=workspace)
    assert result.returncode == 0, result.stdout
    assert_clean(result)
    settings = section(result.stdout, "Settings")
    assert any(
        line.split() == ["provider", "openai", "(environment", "(LSPILOT_PROVIDER))"]
        for line in settings
    )
    assert any(line.split()[:3] == ["hover.timeoutMs", "4000", "(default)"] for line in settings)
    assert "  ok    set in OPENAI_API_KEY (not shown)" in result.stdout
    endpoint = section(result.stdout, f"Endpoint {model_server.url}")
    assert endpoint[0].startswith("  ok    model list: 1 model in ")
    assert endpoint[1].startswith("  ok    one-token completion with test-model in ")
    assert endpoint[1].endswith(" ms")
    assert result.stdout.rstrip().endswith("lspilot works: the openai engine with test-model.")
    # The probe really asked: the model list, then one token.
    assert any(r.path == "/v1/models" for r in model_server.requests)
    chat = model_server.chat_requests()[0]  # then the feature probes (streaming, JSON)
    assert chat.body is not None and chat.body["max_tokens"] == 1
    assert chat.headers["authorization"] == f"Bearer {KEY}"


def test_refused_key(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    model_server.script(Reply(status=401))
    result = doctor(model_env, cwd=workspace)
    assert result.returncode == 1
    assert_clean(result)
    assert problems(result.stdout)[0] == (
        f"FAIL  {model_server.url} refused the API key (401) — fix: set OPENAI_API_KEY"
        " (or LSPILOT_API_KEY) to a valid key for this endpoint"
    )
    assert "the openai engine cannot work as configured" in result.stdout


def test_unreachable_endpoint(workspace: Path, model_env: dict[str, str]) -> None:
    env = {**model_env, "LSPILOT_BASE_URL": "http://127.0.0.1:9/v1"}  # nothing listens there
    result = doctor(env, cwd=workspace)
    assert result.returncode == 1
    assert_clean(result)
    found = problems(result.stdout)
    assert found[0] == (
        "FAIL  cannot connect to http://127.0.0.1:9/v1 — fix: start the server there, or set"
        " baseUrl (LSPILOT_BASE_URL) to where it runs"
    )
    # Said once, not once per step.
    assert len([p for p in found if "cannot connect" in p]) == 1


def test_wrong_model_name(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    model_server.strict_models = True
    env = {**model_env, "LSPILOT_MODEL": "gpt-typo"}
    result = doctor(env, cwd=workspace)
    assert result.returncode == 1
    assert_clean(result)
    endpoint_problems = [p for p in problems(result.stdout) if "gpt-typo" in p]
    assert endpoint_problems[0] == (
        f"FAIL  model `gpt-typo` is not served by {model_server.url} (it lists: test-model)"
        " — fix: set model (LSPILOT_MODEL) to one of: test-model"
    )


def test_no_configuration_is_offline_and_fine(workspace: Path, offline_env: dict[str, str]) -> None:
    env = {k: v for k, v in on_path(offline_env).items() if k != "LSPILOT_PROVIDER"}  # auto
    result = doctor(env, cwd=workspace)
    assert result.returncode == 0, result.stdout
    assert_clean(result)
    engine = section(result.stdout, "Engine")
    assert engine[0].startswith("  ok    offline engine: no model configured")
    assert "  --    not needed: the offline engine sends nothing anywhere" in result.stdout
    assert "Endpoint" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("lspilot works, offline")


def test_broken_settings_file(workspace: Path, offline_env: dict[str, str]) -> None:
    (workspace / ".lspilot.toml").write_text('provider = "offline"\nmodel = \n', encoding="utf-8")
    (workspace / "pyproject.toml").write_text(
        '[tool.lspilot.hover]\ntimeoutMs = "soon"\n', encoding="utf-8"
    )
    result = doctor(offline_env, "--root", str(workspace))
    assert result.returncode == 1
    assert_clean(result)
    found = problems(result.stdout)
    toml = next(p for p in found if ".lspilot.toml" in p)
    assert "is not valid TOML (line 2" in toml
    assert toml.endswith(f"— fix: edit {workspace / '.lspilot.toml'}")
    timeout = next(p for p in found if "hover.timeoutMs" in p)
    assert timeout.endswith(f"— fix: edit [tool.lspilot] in {workspace / 'pyproject.toml'}")
    assert result.stdout.rstrip().splitlines()[-1] == (
        "2 settings problems to fix: those values were ignored (the offline engine works with"
        " the rest)."
    )


def test_cache_and_privacy_checks(
    workspace: Path, offline_env: dict[str, str], tmp_path: Path
) -> None:
    (workspace / ".lspilotignore").write_text("# private\ndrafts/\n", encoding="utf-8")
    result = doctor(offline_env, "--file", ".env", "--file", "app.py", cwd=workspace)
    cache = section(result.stdout, "Cache")
    assert cache == [
        f"  ok    {tmp_path / 'cache'}: writable, empty (created on first use)",
        "  --    team cache not used: cache.sharedUrl is not set",
    ]
    privacy = section(result.stdout, "Privacy")
    assert f"  .lspilotignore: {workspace / '.lspilotignore'} (1 patterns)" in privacy
    assert any(".env: no model features: .env matches the privacy.exclude" in p for p in privacy)
    assert "  --    app.py: gets model features (no rule excludes it)" in privacy


def test_json_report(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    result = doctor(model_env, "--json", cwd=workspace)
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["engine"] == "openai" and report["model"] == "test-model"
    titles = [s["title"] for s in report["sections"]]
    assert titles == [
        "Settings",
        "Engine",
        "API key",
        f"Endpoint {model_server.url}",
        "Cache",
        "Privacy",
        "Editor clients",
    ]
    assert KEY not in result.stdout


def test_no_probe_sends_nothing(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    result = doctor(on_path(model_env), "--no-probe", cwd=workspace)
    assert result.returncode == 0
    assert model_server.requests == []
    assert "not contacted (--no-probe)" in result.stdout


def test_editor_clients_are_found(workspace: Path, offline_env: dict[str, str]) -> None:
    home = Path(offline_env["HOME"])
    plugin = home / ".local/share/nvim/site/pack/lspilot/start/lspilot"
    (plugin / "lua/lspilot").mkdir(parents=True)
    (plugin / "lua/lspilot/init.lua").write_text("return {}\n", encoding="utf-8")
    (home / ".vscode/extensions/lspilot.lspilot-0.1.0").mkdir(parents=True)
    bin_dir = Path(sys.executable).parent
    result = doctor(on_path(offline_env), cwd=workspace)
    clients = section(result.stdout, "Editor clients")
    from lspilot import __version__

    assert clients[0] == f"  ok    `lspilot` on PATH: {bin_dir / 'lspilot'} ({__version__})"
    assert f"  ok    Neovim plugin: {plugin}" in clients[1]
    assert (
        clients[2]
        == f"  ok    VS Code extension: {home / '.vscode/extensions/lspilot.lspilot-0.1.0'}"
    )


@pytest.mark.parametrize("command", ["doctor", "cache"])
def test_help_has_examples(command: str) -> None:
    result = subprocess.run(
        [*LSPILOT, command, "--help"], capture_output=True, text=True, check=True
    )
    assert "examples:" in result.stdout


def test_lspilot_missing_from_path_is_a_warning(
    workspace: Path, offline_env: dict[str, str]
) -> None:
    env = {**offline_env, "PATH": str(workspace)}  # nothing there
    result = doctor(env, cwd=workspace)
    assert result.returncode == 0  # the engine works; editors just cannot find the command
    clients = section(result.stdout, "Editor clients")
    assert clients[0] == (
        "  warn  `lspilot` is not on PATH, so editors cannot start it by name — fix: add"
        f" {Path(sys.executable).parent} to PATH, or set the editor's server command to"
        f" `{sys.executable} -m lspilot`"
    )
