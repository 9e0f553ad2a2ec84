"""lspilot's VS Code extension in a real VS Code: code-server with the built .vsix installed,
driven through Debian's Chromium by playwright-core (``vscode_driver.mjs``).

The driver opens a Python file with emoji/CJK lines and checks, on the UI, that the server
started (status bar item shows the engine), a review diagnostic reaches the Problems panel, a
hover tooltip shows the explanation, and *Document shout* picked from the lightbulb inserts the
docstring (the file is saved and read back here). Screenshots: tests/editors/artifacts/.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from tests.fakes.model_server import FakeModelServer

from .conftest import (
    DOCSTRING,
    EXPLANATION,
    HERE,
    REVIEW_MESSAGE,
    ROOT,
    SAMPLE,
    kill_marked,
)

pytestmark = pytest.mark.editors

CODE_SERVER = HERE / "node_modules" / ".bin" / "code-server"
VSIX = ROOT / "clients" / "vscode" / "out" / "lspilot.vsix"
NODE = ROOT / ".tools" / "bin" / "node"
CHROMIUM = Path("/usr/bin/chromium")
# Hang guards, never timing assertions.
WAIT_MS = 90_000
INSTALL_TIMEOUT_S = 180
READY_TIMEOUT_S = 90
DRIVER_TIMEOUT_S = 420


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _utf16_column(line: str, needle: str) -> int:
    """Monaco's 1-based column (UTF-16 code units) of `needle` in `line`."""
    return len(line[: line.index(needle)].encode("utf-16-le")) // 2 + 1


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until `url` answers (or the process died, or the hang guard fired)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling a socket for readiness, not waiting on a guess
    pytest.fail(f"code-server did not answer {url} within {timeout}s")


def _require_tools() -> None:
    missing = [str(p) for p in (CODE_SERVER, VSIX, NODE, CHROMIUM) if not p.exists()]
    if missing:
        pytest.fail(f"missing {missing}: run `make test-editors` (it installs and builds them)")


def test_vscode_extension_in_code_server(
    tmp_path: Path,
    editor_env: dict[str, str],
    model: FakeModelServer,
    run_marker: str,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    _require_tools()
    home = Path(editor_env["HOME"])
    # Chromium and VS Code put Unix sockets under these: keep the paths short (108 bytes max).
    short = Path(tempfile.mkdtemp(prefix="lspvsc-"))
    request.addfinalizer(lambda: shutil.rmtree(short, ignore_errors=True))
    user_data = short / "data"
    extensions = short / "ext"
    (user_data / "User").mkdir(parents=True)
    extensions.mkdir()
    (short / "tmp").mkdir()
    env = {
        **editor_env,
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_RUNTIME_DIR": str(short / "tmp"),
        "TMPDIR": str(short / "tmp"),
    }
    settings = json.dumps(
        {
            "files.autoSave": "off",
            "workbench.startupEditor": "none",
            "security.workspace.trust.enabled": False,
            "telemetry.telemetryLevel": "off",
            "extensions.autoCheckUpdates": False,
            "extensions.autoUpdate": False,
            "editor.lightbulb.enabled": "on",
            "editor.hover.delay": 300,
            "workbench.tips.enabled": False,
            "chat.disableAIFeatures": True,
            "lspilot.trace.server": "messages",
            # The extension host takes PATH from a login shell, not from this process.
            "lspilot.server.command": str(Path(sys.executable).parent / "lspilot"),
        },
        indent=2,
    )
    # code-server is VS Code's remote setup: machine-scoped settings (lspilot.server.*) are
    # read from Machine/settings.json, the rest from User/settings.json.
    for scope in ("User", "Machine"):
        (user_data / scope).mkdir(parents=True, exist_ok=True)
        (user_data / scope / "settings.json").write_text(settings, encoding="utf-8")
    dirs = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]

    install = subprocess.run(
        [str(CODE_SERVER), *dirs, "--install-extension", str(VSIX), "--force"],
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        start_new_session=True,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert any(p.name.startswith("lspilot.lspilot-") for p in extensions.iterdir()), install.stdout

    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text('[project]\nname = "greetings"\n', encoding="utf-8")
    source = workspace / "greetings.py"
    source.write_text(SAMPLE, encoding="utf-8")
    lines = SAMPLE.splitlines()
    hover_line = next(i for i, s in enumerate(lines) if s.startswith("banner = "))
    action_line = lines.index("def shout(text):")

    port = _free_port()
    log_file = (artifacts / "code-server.log").open("wb")
    server = subprocess.Popen(
        [
            str(CODE_SERVER),
            *dirs,
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--reconnection-grace-time",
            "5",
            str(workspace),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    spec = {
        "url": f"http://127.0.0.1:{port}/?folder={workspace}",
        "chromium": str(CHROMIUM),
        "artifacts": str(artifacts),
        "result": str(tmp_path / "result.json"),
        "timeout_ms": WAIT_MS,
        "file_name": source.name,
        "status_text": "lspilot: openai",
        "review_message": REVIEW_MESSAGE,
        "hover": {
            "line": hover_line + 1,
            "column": _utf16_column(lines[hover_line], "greet(") + 2,
            "expect": EXPLANATION,
        },
        "action": {
            "line": action_line + 1,
            "column": 5,
            "title": "Document shout",
            "expect": DOCSTRING.splitlines()[0],
        },
    }
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", server, READY_TIMEOUT_S)
        driver = subprocess.run(
            [str(NODE), str(HERE / "vscode_driver.mjs")],
            cwd=HERE,
            env={**env, "LSPILOT_TEST_SPEC": json.dumps(spec)},
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT_S,
            start_new_session=True,
        )
    finally:
        with contextlib.suppress(OSError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        log_file.close()
        kill_marked(run_marker)
        for log in user_data.glob("logs/**/*lspilot*.log"):
            shutil.copy(log, artifacts / f"output-{log.name}")

    result_path = Path(spec["result"])
    assert result_path.exists(), driver.stdout + driver.stderr
    result = json.loads(result_path.read_text(encoding="utf-8"))
    (artifacts / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    failed = [s for s in result["steps"] if not s["ok"]]
    assert not failed, json.dumps(result, indent=2) + driver.stdout + driver.stderr
    assert driver.returncode == 0, driver.stdout + driver.stderr

    assert "lspilot: openai" in result["status_text"]
    assert REVIEW_MESSAGE in result["problem"]
    assert EXPLANATION in result["hover"]
    assert "Document shout" in result["menu"]

    # The saved file: the docstring right under `def shout`, nothing else changed.
    after = source.read_text(encoding="utf-8")
    tree = ast.parse(after)
    shout = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "shout")
    assert ast.get_docstring(shout) == DOCSTRING
    after_lines = after.splitlines()
    doc_end = shout.body[0].end_lineno
    assert doc_end is not None
    assert after_lines[: action_line + 1] + after_lines[doc_end:] == lines
    assert model.chat_requests
