"""lspilot's VS Code extension in a real VS Code: code-server with the built .vsix installed,
driven through Debian's Chromium by playwright-core (``vscode_driver.mjs``).

The driver opens a Python file with emoji/CJK lines and checks, on the UI, that the server
started (status bar item shows the engine), a review diagnostic reaches the Problems panel, a
hover tooltip shows the explanation, and *Document shout* picked from the lightbulb inserts the
docstring (the file is saved and read back here). Screenshots: tests/editors/artifacts/.
Then *lspilot: Set team cache password* (SecretStorage) restarts the server with
``LSPILOT_REDIS_PASSWORD`` in its environment, and no file of VS Code's holds it.
:func:`code_server` is shared with test_vscode_languages.py (TypeScript and Go).
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
REDIS_PASSWORD = "fake-team-cache-password-7f3c"


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


@dataclass
class CodeServer:
    """A running code-server with the .vsix installed (see :func:`code_server`)."""

    port: int
    env: dict[str, str]
    user_data: Path
    artifacts: Path

    def url(self, folder: Path) -> str:
        """The workbench of a window on `folder` (each window has its own extension host)."""
        return f"http://127.0.0.1:{self.port}/?folder={folder}"

    def drive(self, windows: list[dict[str, Any]], result_file: Path) -> dict[str, Any]:
        """Run vscode_driver.mjs over `windows`; fail on any failed step; return its result."""
        spec = {
            "chromium": str(CHROMIUM),
            "artifacts": str(self.artifacts),
            "result": str(result_file),
            "timeout_ms": WAIT_MS,
            "windows": windows,
        }
        driver = subprocess.run(
            [str(NODE), str(HERE / "vscode_driver.mjs")],
            cwd=HERE,
            env={**self.env, "LSPILOT_TEST_SPEC": json.dumps(spec)},
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT_S,
            start_new_session=True,
        )
        assert result_file.exists(), driver.stdout + driver.stderr
        result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        (self.artifacts / "result.json").write_text(
            json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        failed = [s for s in result["steps"] if not s["ok"]]
        assert not failed, json.dumps(result, indent=2) + driver.stdout + driver.stderr
        assert driver.returncode == 0, driver.stdout + driver.stderr
        return result

    def files_holding(self, text: str) -> list[Path]:
        """Files under the user data dir (settings, logs, state) whose bytes contain `text`."""
        needle = text.encode()
        return [p for p in self.user_data.rglob("*") if p.is_file() and needle in p.read_bytes()]

    def logs(self, pattern: str) -> list[Path]:
        """VS Code's log files (under the user data dir) whose name matches `pattern`."""
        return sorted(self.user_data.glob(f"logs/**/{pattern}"))


@contextlib.contextmanager
def code_server(
    editor_env: dict[str, str], run_marker: str, artifacts: Path
) -> Iterator[CodeServer]:
    """code-server on a free port with the built .vsix installed, the test's settings, and
    dirs of its own; killed (with whatever it started) on exit, its logs kept as artifacts."""
    _require_tools()
    home = Path(editor_env["HOME"])
    # Chromium and VS Code put Unix sockets under these: keep the paths short (108 bytes max).
    short = Path(tempfile.mkdtemp(prefix="lspvsc-"))
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
    try:
        install = subprocess.run(
            [str(CODE_SERVER), *dirs, "--install-extension", str(VSIX), "--force"],
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            start_new_session=True,
        )
        assert install.returncode == 0, install.stdout + install.stderr
        installed = [p.name for p in extensions.iterdir()]
        assert any(n.startswith("lspilot.lspilot-") for n in installed), install.stdout

        port = _free_port()
        with (artifacts / "code-server.log").open("wb") as log_file:
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
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                _wait_http(f"http://127.0.0.1:{port}/healthz", server, READY_TIMEOUT_S)
                yield CodeServer(port, env, user_data, artifacts)
            finally:
                with contextlib.suppress(OSError):
                    os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=30)
                kill_marked(run_marker)
                for log in user_data.glob("logs/**/*.log"):
                    if "lspilot" in log.name or "exthost" in log.name:
                        flat = "-".join(log.relative_to(user_data / "logs").parts[1:])
                        shutil.copy(log, artifacts / f"output-{flat}")
    finally:
        shutil.rmtree(short, ignore_errors=True)


def test_vscode_extension_in_code_server(
    tmp_path: Path,
    editor_env: dict[str, str],
    model: FakeModelServer,
    run_marker: str,
    artifacts: Path,
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    (workspace / "pyproject.toml").write_text('[project]\nname = "greetings"\n', encoding="utf-8")
    source = workspace / "greetings.py"
    source.write_text(SAMPLE, encoding="utf-8")
    lines = SAMPLE.splitlines()
    hover_line = next(i for i, s in enumerate(lines) if s.startswith("banner = "))
    action_line = lines.index("def shout(text):")
    window = {
        "id": "python",
        "file_name": source.name,
        "language_mode": "Python",
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
            "also": ["Explain shout"],
            "expect": DOCSTRING.splitlines()[0],
        },
        # The team cache password from SecretStorage reaches the server's environment.
        "secret": {
            "command": "lspilot: Set team cache password",
            "title": "lspilot: team cache password",
            "value": REDIS_PASSWORD,
            "env": "LSPILOT_REDIS_PASSWORD",
            "saved": "team cache password saved",
        },
    }
    with code_server(editor_env, run_marker, artifacts) as vscode:
        window["url"] = vscode.url(workspace)
        result = vscode.drive([window], tmp_path / "result.json")["windows"]["python"]
        holding_password = vscode.files_holding(REDIS_PASSWORD)

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

    # Set team cache password: a password box; the restarted server has it in its environment;
    # no settings file or log of VS Code holds it.
    assert result["secret_input_type"] == "password"
    assert any(s["has_secret"] for s in result["servers"]), result["servers"]
    assert holding_password == []
