"""`lspilot` as editors launch it: --stdio (VS Code appends it), --tcp, --version, --log-file."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import SERVER_CMD, lsp_session

LSPILOT = [sys.executable, "-m", "lspilot"]


def test_version() -> None:
    from lspilot import __version__

    out = subprocess.run([*LSPILOT, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"lspilot {__version__}"


async def test_stdio_flag_and_log_file(offline_env: dict[str, str], workspace: Path) -> None:
    log_file = workspace.parent / "server.log"
    cmd = [*SERVER_CMD, "--stdio", "--log-file", str(log_file)]
    async with lsp_session(
        "visual-studio-code", env=offline_env, workspace=workspace, cmd=cmd
    ) as client:
        await client.wait_for_status(lambda s: s.get("engine") == "offline")
    assert "engine offline" in log_file.read_text(encoding="utf-8")


def _frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read_message(reader: asyncio.StreamReader) -> dict:
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(await reader.readexactly(length))


async def test_tcp_serves_lsp(offline_env: dict[str, str], workspace: Path) -> None:
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        *LSPILOT,
        "--tcp",
        f"127.0.0.1:{port}",
        env=offline_env,
        cwd=workspace,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while True:  # wait until the server listens (bounded)
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                assert loop.time() < deadline, "the TCP server never listened"
                await asyncio.sleep(0.1)
        writer.write(
            _frame(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "processId": None,
                        "rootUri": workspace.as_uri(),
                        "capabilities": {},
                    },
                }
            )
        )
        await writer.drain()
        answer = await asyncio.wait_for(_read_message(reader), 30)
        assert answer["id"] == 1
        assert answer["result"]["serverInfo"]["name"] == "lspilot"
        assert answer["result"]["capabilities"]["hoverProvider"]
        writer.close()
    finally:
        proc.kill()
        await proc.wait()


def test_bad_tcp_address_is_one_clear_line(offline_env: dict[str, str]) -> None:
    out = subprocess.run(
        [*LSPILOT, "--tcp", "nonsense"], capture_output=True, text=True, env=offline_env
    )
    assert out.returncode != 0
    assert "--tcp wants HOST:PORT" in out.stderr
    assert "Traceback" not in out.stderr
