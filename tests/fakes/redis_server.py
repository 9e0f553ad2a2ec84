"""A real `redis-server` (Debian's package) for the team cache tests and the benchmark.

Not a fake: the binary itself, on 127.0.0.1 at a free port, with a throwaway directory, no
persistence. `start()` waits until it answers PING (hard timeout), `stop()` always ends it
(terminate, then kill), and `restart()` brings it back on the same port, empty.

    server = RedisServer(tmp_path / "redis").start()
    ...
    server.stop()

`redis_server_binary()` finds the binary; `make test-apt` installs it where it is missing.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

#: Hang guards (not timing assertions): a loaded CI machine may take a while to start it.
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def redis_server_binary() -> str | None:
    """The path of `redis-server`, or None when it is not installed."""
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).exists()), None
    )


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(port: int, timeout: float = 1.0) -> bool:
    """True when a Redis answers PING on 127.0.0.1:`port` (raw RESP: no client library)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One redis-server process on 127.0.0.1 with its own directory."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise FileNotFoundError("redis-server is not installed (run `make test-apt`)")
        self.binary = binary
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis://127.0.0.1:<port>/0"""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait until it answers PING; raises RuntimeError when it does not."""
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{tail}")
            time.sleep(0.05)  # polling a process that is starting, not a test's timing
        return self

    def stop(self) -> None:
        """End the process (terminate, then kill); safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(STOP_TIMEOUT_S)

    def restart(self) -> RedisServer:
        """Stop, then start again on the same port."""
        self.stop()
        return self.start()

    def client(self):  # type: ignore[no-untyped-def]
        """A synchronous redis-py client, for tests to look at or poison the store."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
