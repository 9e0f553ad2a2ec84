"""Fixtures shared by every test: the fake model server and an isolated environment.

Import test doubles as ``from tests.fakes.model_server import FakeModelServer, Reply``
(``fakes.model_server`` is the same module).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `pytest` run from the venv's script does not put the repository root on sys.path (only
# `python -m pytest` does), and tests/ is deliberately not a package. Adding the root here,
# before any test module is imported, makes `import tests.fakes...` work both ways.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import tests.fakes  # noqa: E402
import tests.fakes.model_server  # noqa: E402
from tests.fakes.model_server import FakeModelServer  # noqa: E402

# tests/ itself is on sys.path too (pytest's rootdir insertion; ruff's `src`), so the same
# file is also reachable as `fakes.model_server`. Alias it so both spellings give one module
# (one Reply class, one FakeModelServer class) instead of two copies.
sys.modules.setdefault("fakes", tests.fakes)
sys.modules.setdefault("fakes.model_server", tests.fakes.model_server)

# Variables that would point a launched server at a real endpoint or a real key, or
# configure it from the developer's shell. They never leak into a test.
_SCRUBBED_EXACT = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"}
_SCRUBBED_PREFIXES = ("LSPILOT_", "OPENAI_")


@pytest.fixture
def model_server() -> Iterator[FakeModelServer]:
    """A started :class:`FakeModelServer`, stopped after the test."""
    server = FakeModelServer().start()
    try:
        yield server
    finally:
        server.stop()


def isolated_environment(root: Path) -> dict[str, str]:
    """Environment variables for launching the server in isolation under `root`.

    HOME and the XDG dirs live under ``root`` (so no user config or cache is read or
    written), the cache dir is ``root/"cache"``, and every ``OPENAI_*`` / ``LSPILOT_*``
    variable inherited from the shell is removed. ``LSPILOT_OLLAMA_URL`` points at a closed
    loopback port so ``provider=auto`` can never find a developer's real Ollama; tests that
    want Ollama set it themselves.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _SCRUBBED_EXACT and not key.startswith(_SCRUBBED_PREFIXES)
    }
    home = root / "home"
    for sub in ("", ".cache", ".config"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "LSPILOT_CACHE__DIR": str(root / "cache"),
            # Port 9 (discard) on loopback: connection refused at once, no timeout to wait.
            "LSPILOT_OLLAMA_URL": "http://127.0.0.1:9",
            # The child must not buffer stderr logs, or a crash loses its last words.
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("PATH", os.defpath)
    return env


@pytest.fixture
def isolated_env(tmp_path: Path) -> dict[str, str]:
    """:func:`isolated_environment` under this test's ``tmp_path``."""
    return isolated_environment(tmp_path)


@pytest.fixture(scope="module")
def shared_model_server() -> Iterator[FakeModelServer]:
    """One :class:`FakeModelServer` for a whole test module (the shared e2e sessions')."""
    server = FakeModelServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for a whole test module (its shared environment and workspace live there)."""
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="module")
def shared_isolated_env(shared_root: Path) -> dict[str, str]:
    """:func:`isolated_environment` for a whole test module."""
    return isolated_environment(shared_root)
