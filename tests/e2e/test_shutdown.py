"""Shutdown and exit: work under way is cancelled quietly, `shutdown` is always answered, and
after `exit` the process ends at once without writing to the closed output."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from pathlib import Path

import pytest
from tests.e2e.conftest import (
    MODEL_TIMEOUT,
    SERVER_CMD,
    SHUTDOWN_TIMEOUT,
    STARTUP_TIMEOUT,
    WAIT_TIMEOUT,
)
from tests.e2e.raw_lsp import open_text as open_raw
from tests.e2e.raw_lsp import raw_session
from tests.fakes.model_server import FakeModelServer, Reply

SAMPLE = (
    "def add(a, b):\n    return a + b\n\n\n"
    "def mul(a, b):\n    return a * b\n\n\n"
    "def neg(a):\n    return -a\n"
)
CLOSED_FILE = "I/O operation on closed file"


def position(line: int, character: int) -> dict[str, int]:
    return {"line": line, "character": character}


async def test_shutdown_during_reviews_is_quiet_and_exits(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: Reply(stall=True)
    async with raw_session(model_env, workspace) as client:
        uri = (workspace / "a.py").as_uri()
        open_raw(client, uri, SAMPLE)
        assert await model_server.await_requests(1, timeout=MODEL_TIMEOUT)
        answer = await client.call("shutdown")
        assert answer.get("result", "missing") is None, answer
        client.notify("exit")
        assert await client.ended() == 0
        # The stalled requests were cancelled, which is not the endpoint failing.
        assert client.sent("window/showMessage") == [], client.sent("window/showMessage")
        assert await model_server.await_disconnect(timeout=MODEL_TIMEOUT)
    assert CLOSED_FILE not in client.log
    assert "unreachable" not in client.log


async def test_shutdown_while_the_client_owes_a_reply(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    capabilities = {
        "window": {"showDocument": {"support": True}},
        "textDocument": {
            "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": []}}}
        },
    }
    options = {"diagnostics": {"enabled": False}}
    async with raw_session(
        model_env, workspace, capabilities=capabilities, init_options=options
    ) as client:
        client.answer = lambda request: None  # answers nothing the server asks
        uri = (workspace / "a.py").as_uri()
        open_raw(client, uri, SAMPLE)
        listing = await client.call(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": position(1, 11), "end": position(1, 11)},
                "context": {"diagnostics": []},
            },
        )
        explain = next(a for a in listing["result"] if a["title"].startswith("Explain"))
        ran = await client.call("workspace/executeCommand", explain["command"])
        assert "result" in ran, ran  # answered at once; the work goes on
        await client.wait_for(lambda: client.sent("window/showDocument"), "showDocument")
        answer = await client.call("shutdown")
        assert "error" not in answer and answer.get("result", "missing") is None, answer
        client.notify("exit")
        assert await client.ended() == 0
    assert "dictionary changed size" not in client.log
    assert CLOSED_FILE not in client.log


async def test_exit_without_shutdown_ends_with_code_1(
    offline_env: dict[str, str], workspace: Path
) -> None:
    async with raw_session(offline_env, workspace) as client:
        open_raw(client, (workspace / "a.py").as_uri(), SAMPLE)
        assert await client.exit(shutdown=False) == 1
    assert CLOSED_FILE not in client.log


async def test_verbose_stays_at_debug_after_initialize(
    offline_env: dict[str, str], workspace: Path
) -> None:
    log_file = workspace.parent / "server.log"
    cmd = [*SERVER_CMD, "-v", "--log-file", str(log_file)]
    async with raw_session(
        offline_env, workspace, cmd=cmd, init_options={"logLevel": "warning"}
    ) as client:
        uri = (workspace / "a.py").as_uri()
        open_raw(client, uri, SAMPLE)
        await client.call(
            "textDocument/hover", {"textDocument": {"uri": uri}, "position": position(0, 5)}
        )
        assert await client.exit() == 0
    assert "DEBUG lspilot.transport: received textDocument/hover" in log_file.read_text(
        encoding="utf-8"
    )


def _tgkill(pid: int, tid: int, signum: int) -> None:
    """Send `signum` to thread `tid` of process `pid` (Linux), as the kernel may do itself."""
    number = {"x86_64": 234, "aarch64": 131}.get(os.uname().machine)
    if number is None:
        pytest.skip(f"tgkill's syscall number is not known for {os.uname().machine}")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill")


async def _a_worker_thread(pid: int) -> int:
    """The id of a thread of `pid` other than its main thread, once there is one."""
    while True:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid]
        if tids:
            return tids[0]
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("delivered_to", ["process", "worker thread"])
async def test_started_in_a_terminal_it_says_what_it_is_and_ctrl_c_ends_it(
    offline_env: dict[str, str], workspace: Path, delivered_to: str
) -> None:
    """Ctrl-C ends it whichever thread the kernel hands SIGINT to (a worker thread's signal
    must still wake the idle event loop)."""
    controller, terminal = os.openpty()
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            # On a hang the test sends SIGABRT: faulthandler then writes every thread's stack.
            "-X",
            "faulthandler",
            "-m",
            "lspilot",
            env=offline_env,
            cwd=workspace,
            stdin=terminal,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        said = bytearray()
        introduced = asyncio.Event()

        async def read_stderr() -> None:
            # Read all along: a reader left full stops reading the pipe, and `wait()` waits
            # for the pipe's end as well as the process's.
            assert process.stderr is not None
            while line := await process.stderr.readline():
                said.extend(line)
                if b"lspilot demo" in said:
                    introduced.set()
            introduced.set()

        reading = asyncio.ensure_future(read_stderr())
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT):
                await introduced.wait()
                assert b"speaks LSP" in said, bytes(said)
                if delivered_to == "process":
                    process.send_signal(signal.SIGINT)
                else:
                    # The stdin reader thread starts once the loop runs: the loop then idles.
                    tid = await _a_worker_thread(process.pid)
                    _tgkill(process.pid, tid, signal.SIGINT)
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                    code = await process.wait()
            except TimeoutError:
                process.send_signal(signal.SIGABRT)
                async with asyncio.timeout(WAIT_TIMEOUT):
                    await reading
                pytest.fail(f"still running {SHUTDOWN_TIMEOUT} s after SIGINT:\n{said.decode()}")
            # Ended by the Ctrl-C: exit status 130, or (the Unix convention, which a shell
            # also shows as 130) death by SIGINT. Seen 2 times in ~60 starts on a loaded
            # machine, never reproduced since; either way the server ended at once.
            assert code in (130, -signal.SIGINT), said.decode()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            reading.cancel()
    finally:
        os.close(controller)
        os.close(terminal)
